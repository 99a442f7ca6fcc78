import Foundation
import PhotonTestSupport
import Testing

/// The `photon` executable as a user runs it: standard input in, JSON lines out.
@Suite("photon command line")
struct CLITests {
  static let repository = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()

  /// Runs the `photon` built next to this test bundle.
  static func photon(_ arguments: [String], input: Data = Data()) throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    let process = Process()
    process.executableURL = try binary()
    process.arguments = arguments
    process.currentDirectoryURL = repository
    let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(input)
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
  }

  /// The executable, which sits beside the test bundle in the build products folder.
  static func binary() throws -> URL {
    let bundle = Bundle(for: Marker.self).bundleURL
    let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("photon") }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
      throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidates.map(\.path).joined(separator: ", ")])
    }
    return binary
  }

  final class Marker {}

  static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  @Test func embedWritesOneArrayPerLineInOrder() throws {
    let result = try Self.photon(
      ["embed", "--backend", "gpu"], input: Data("first text\nsecond, longer text here\n\n".utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let rows = try Self.lines(result.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Double] }
    #expect(rows.count == 3)
    #expect(rows.allSatisfy { $0?.count == 384 })
  }

  @Test func jsonlTextsMayHoldNewlinesAndBadLinesAreNamed() throws {
    let good = try Self.photon(["tokenize", "--jsonl"], input: Data("\"two\\nlines\"\n\"tab\\there\"\n".utf8))
    #expect(good.status == 0, "\(good.stderr)")
    #expect(Self.lines(good.stdout) == ["[101,2048,3210,102]", "[101,21628,2182,102]"])
    let bad = try Self.photon(["tokenize", "--jsonl"], input: Data("\"ok\"\nnot json\n".utf8))
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("line 2"))
  }

  @Test func tokenizeTruncatesAsEmbedDoes() throws {
    let long = String(repeating: "word ", count: 400)
    let result = try Self.photon(["tokenize"], input: Data((long + "\n").utf8))
    let ids = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Int])
    #expect(ids.count == 256 && ids.first == 101 && ids.last == 102)
    let short = try Self.photon(["tokenize", "--max-length", "5"], input: Data((long + "\n").utf8))
    #expect(short.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[101,2773,2773,2773,102]")
  }

  @Test func invalidUTF8IsReplacedNotFatal() throws {
    var input = Data("caf".utf8)
    input.append(contentsOf: [0xC3, 0x28, 0x0A])  // a broken two-byte sequence
    let result = try Self.photon(["tokenize"], input: input)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("[101,"))
  }

  @Test func classifyPrintsLabelsBestFirst() throws {
    let result = try Self.photon(
      [
        "classify", "--backend", "cpu", "--model", Fixtures.url("tiny-models/tiny-bert-classifier").path, "--top-k",
        "3",
      ],
      input: Data("the quick brown fox\n".utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let scores = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    #expect(scores.count == 3)
    let values = scores.compactMap { $0["score"] as? Double }
    #expect(values == values.sorted(by: >))
    #expect(abs(values.reduce(0, +) - 1) < 1e-5)
  }

  @Test func errorsAreNamedAndExitNonZero() throws {
    let missing = try Self.photon(["embed", "--model", "/nonexistent"], input: Data("x\n".utf8))
    #expect(missing.status != 0 && missing.stderr.contains("/nonexistent"))
    let backend = try Self.photon(["embed", "--backend", "tpu"], input: Data())
    #expect(backend.status != 0 && backend.stderr.contains("tpu"))
    let shape = try Self.photon(["bench", "--seq", "600", "--iterations", "1", "--warmup", "0", "--backend", "cpu"])
    #expect(shape.status != 0 && shape.stderr.contains("600") && shape.stderr.contains("512"))
    let zero = try Self.photon(["bench", "--batch", "0"])
    #expect(zero.status != 0)
  }

  @Test func devicesListsTheDeviceAsJSON() throws {
    let result = try Self.photon(["devices", "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let devices = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    #expect(!devices.isEmpty && devices[0]["name"] is String && devices[0]["computeUnits"] is Int)
  }

  @Test func benchJSONHasTheDocumentedFields() throws {
    let result = try Self.photon(
      [
        "bench", "--model", Fixtures.url("tiny-models/tiny-bert").path, "--backend", "gpu", "--batch", "2", "--seq",
        "16",
        "--iterations", "2", "--warmup", "1", "--json",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    for key in ["median_ms", "p90_ms", "tokens_per_s", "gflops", "counters", "peak_activation_bytes", "device"] {
      #expect(object[key] != nil, "missing \(key)")
    }
    let counters = try #require(object["counters"] as? [String: Int])
    #expect(counters["buffer_allocations"] == 0 && counters["uploads"] == 1 && counters["read_backs"] == 1)
  }
}
