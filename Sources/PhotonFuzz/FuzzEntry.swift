// libFuzzer entry point for every Photon fuzz target (issue 13). Built only by scripts/fuzz.sh
// (PHOTON_FUZZ=1 swift build --product PhotonFuzz -Xswiftc -sanitize=fuzzer,address). One binary
// serves every target, chosen by PHOTON_FUZZ_TARGET, so CI links once instead of once per target.
//
// A target's contract: any bytes give a value or a thrown error, never a trap, a hang (libFuzzer's
// -timeout) or an allocation beyond -rss_limit_mb / -malloc_limit_mb.
import Foundation

/// The targets by name (the names scripts/fuzz.sh and Tests/Fuzz/Corpus/<name>/ use).
let fuzzTargets: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
  "safetensors": FuzzSafeTensors.run,
  "shard-index": FuzzShardIndex.run,
  "config": FuzzConfig.run,
  "tokenizer-json": FuzzTokenizerJSON.run,
  "encode-wordpiece": FuzzEncode.wordPiece,
  "encode-bpe": FuzzEncode.byteLevelBPE,
  "encode-unigram": FuzzEncode.unigram,
  "json-scan": FuzzJSONScan.scan,
  "jsonl-line": FuzzJSONScan.line,
]

nonisolated(unsafe) var selectedTarget: (@Sendable (UnsafeRawBufferPointer) -> Void)?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
  _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
  let name = ProcessInfo.processInfo.environment["PHOTON_FUZZ_TARGET"] ?? ""
  guard let target = fuzzTargets[name] else {
    let known = fuzzTargets.keys.sorted().joined(separator: ", ")
    FileHandle.standardError.write(Data("PHOTON_FUZZ_TARGET='\(name)': unknown; one of \(known)\n".utf8))
    exit(2)
  }
  selectedTarget = target
  return 0
}

/// The program's entry point. SwiftPM links an executable target with `main` aliased to
/// `<module>_main` (so tests can link executables), which keeps libFuzzer's own `main` out; this
/// module is compiled with -parse-as-library and hands over to libFuzzer's driver itself.
@_cdecl("PhotonFuzz_main")
public func photonFuzzMain(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
  var argc = argc
  var argv = argv
  return LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: count == 0 ? nil : UnsafeRawPointer(start), count: count)
  selectedTarget?(bytes)
  return 0
}

/// A scratch folder of this process's own (several fuzz jobs may run at once).
enum Scratch {
  static let folder: URL = {
    let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    let url = URL(fileURLWithPath: base).appendingPathComponent("photon-fuzz-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }()

  /// Writes `bytes` to `name` in the scratch folder and returns its URL.
  static func write(_ bytes: UnsafeRawBufferPointer, to name: String) -> URL {
    let url = folder.appendingPathComponent(name)
    try? Data(bytes).write(to: url)
    return url
  }
}

/// The fixture folder (Tests/Fixtures/tiny-models): PHOTON_FUZZ_FIXTURES or relative to the
/// working directory (scripts/fuzz.sh runs from the repository root).
enum Fixtures {
  static let folder = URL(
    fileURLWithPath: ProcessInfo.processInfo.environment["PHOTON_FUZZ_FIXTURES"] ?? "Tests/Fixtures/tiny-models")
}
