import ArgumentParser
import CStandardIO
import Foundation

import Photon
import PhotonCore

/// Options every text command shares.
struct ModelOptions: ParsableArguments {
  @Option(help: "Model folder (default: $PHOTON_MODEL, else Models/all-MiniLM-L6-v2).")
  var model: String?

  @Option(help: "cpu (reference) or gpu (OpenCL; the device PHOTON_DEVICE names).")
  var backend: BackendKind?

  @Option(help: "Truncate inputs to this many tokens (default: the model folder's limit).")
  var maxLength: Int?

  @Option(
    name: .customLong("precision"),
    help: "Linear weights: fp32, fp16 (half) or int8 (q8_0, blocks of 32); default fp32, or what photon quantize wrote."
  )
  var requestedPrecision: Precision?

  /// `--precision`, fp32 when not given (for commands comparing against fp32).
  var precision: Precision { requestedPrecision ?? .fp32 }

  @Flag(help: "Read one JSON string per input line (texts may contain newlines and tabs).")
  var jsonl = false

  var modelURL: URL {
    URL(fileURLWithPath: model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] ?? "Models/all-MiniLM-L6-v2")
  }

  var backendKind: BackendKind { backend ?? .preferred }

  func validate() throws {
    if let maxLength, maxLength < 1 { throw ValidationError("--max-length must be at least 1, got \(maxLength)") }
  }

  /// The texts on standard input: one per line, or one JSON string per line with `--jsonl`.
  /// Invalid UTF-8 is replaced with U+FFFD, as Python's `errors="replace"` would; a line that is
  /// not a JSON string under `--jsonl` is an error naming the line.
  func readTexts() throws -> [String] {
    let data = try StandardStreams.readInput()
    var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
      .map { String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0[...], as: UTF8.self) }
    if lines.last == "" { lines.removeLast() }  // the final newline ends the last line
    guard jsonl else { return lines }
    return try lines.enumerated().map { index, line in
      guard let text = JSONScan.string(Array(line.utf8)) else {
        throw PhotonError(
          .invalidInput, "standard input line \(index + 1): expected a JSON string, got \(line.prefix(60))")
      }
      return text
    }
  }
}

extension BackendKind: ExpressibleByArgument {}
/// An unknown value is an error listing fp32, fp16 and int8 (ArgumentParser's CaseIterable check).
extension Precision: ExpressibleByArgument {}

/// Writes one JSON value per line, keys sorted so every run prints them in the same order.
func printJSONLine<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
  try StandardStreams.write(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
}

/// Standard input and output with every failure a typed error: a closed or unreadable standard
/// input, or an output that cannot be written (a full disk, a closed pipe), ends the command with a
/// message and a non-zero status instead of a trap or a silent exit 0.
enum StandardStreams {
  /// The C stream `print` writes to.
  private static var output: UnsafeMutablePointer<FILE> { photon_standard_output() }

  /// All of standard input.
  static func readInput() throws -> Data {
    var data = Data()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
      if count == 0 { return data }
      if count < 0 {
        if errno == EINTR { continue }
        throw PhotonError(.invalidInput, "cannot read standard input: \(String(cString: strerror(errno)))")
      }
      data.append(contentsOf: chunk[..<count])
    }
  }

  /// Writes `text` to standard output (buffered, as `print` is) and checks the stream.
  static func write(_ text: String, flush: Bool = false) throws {
    fputs(text, output)
    if flush { fflush(output) }
    try check()
  }

  /// Flushes standard output and checks that everything written reached it.
  static func finish() throws {
    fflush(output)
    try check()
  }

  private static func check() throws {
    guard ferror(output) != 0 else { return }
    throw PhotonError(.invalidArgument, "cannot write standard output: \(String(cString: strerror(errno)))")
  }
}
