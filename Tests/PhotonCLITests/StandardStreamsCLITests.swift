import Foundation
import PhotonTestSupport
import Testing

/// Standard input and output that fail (issue 13, items 5–7 and 12): the command exits non-zero
/// with a message instead of trapping, and never exits 0 with its output lost.
@Suite("photon with broken standard streams")
struct StandardStreamsCLITests {
  static let tinyBert = "Tests/Fixtures/tiny-models/tiny-bert"

  /// Runs photon through `sh -c` so the test can close or redirect its streams; returns the exit
  /// status, whether it exited (not killed by a signal) and standard error.
  static func shell(_ script: String) throws -> (status: Int32, exited: Bool, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.currentDirectoryURL = CLITests.repository
    process.environment = ProcessInfo.processInfo.environment.merging(
      ["PHOTON": try CLITests.binary().path]) { $1 }
    let (stdout, stderr) = (Pipe(), Pipe())
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      process.terminationStatus, process.terminationReason == .exit, String(decoding: out, as: UTF8.self),
      String(decoding: err, as: UTF8.self)
    )
  }

  @Test(
    "closed or unreadable standard input is an error, not a trap",
    arguments: ["<&-", "< /"])
  func unreadableInput(redirect: String) throws {
    let result = try Self.shell("\"$PHOTON\" tokenize --model \(Self.tinyBert) \(redirect)")
    #expect(result.exited, "killed by a signal: \(result.stderr)")
    #expect(result.status != 0)
    #expect(result.stderr.contains("standard input"), "\(result.stderr)")
  }

  @Test(
    "a full output device fails the command",
    arguments: [
      "printf 'a b\\n%.0s' $(seq 1 3000) | \"$PHOTON\" tokenize --model \(tinyBert)",
      "printf 'a\\n' | \"$PHOTON\" embed --model \(tinyBert) --backend cpu",
      "\"$PHOTON\" generate --model Tests/Fixtures/tiny-models/tiny-gpt2 --backend cpu --max-new-tokens 4 hello",
      "printf '\"hi\"\\n' | \"$PHOTON\" generate --model Tests/Fixtures/tiny-models/tiny-gpt2 --backend cpu --max-new-tokens 4 --jsonl",
    ])
  func fullOutputDevice(command: String) throws {
    let result = try Self.shell("\(command) > /dev/full")
    #expect(result.exited, "killed by a signal: \(result.stderr)")
    #expect(result.status != 0, "exit 0 with its output lost")
    #expect(result.stderr.contains("cannot write standard output"), "\(result.stderr)")
  }

  @Test("--top below zero is a usage error")
  func negativeTop() throws {
    let result = try Self.shell("echo a | \"$PHOTON\" similarity --model \(Self.tinyBert) --backend cpu --top=-1")
    #expect(result.exited && result.status != 0)
    #expect(result.stderr.contains("--top"), "\(result.stderr)")
  }

  @Test("similarity --top N prints the first N of all pairs")
  func topPairsAreTheBestOfAll() throws {
    let input = (0..<12).map { "sentence number \($0) about \($0 % 3 == 0 ? "cats" : "stocks")" }
      .joined(separator: "\n")
    let base = "printf '\(input)\\n' | \"$PHOTON\" similarity --model \(Self.tinyBert) --backend cpu"
    let all = try Self.shell(base + " --top 0")
    let top = try Self.shell(base + " --top 5")
    #expect(all.status == 0 && top.status == 0, "\(all.stderr) \(top.stderr)")
    let allPairs = CLITests.lines(all.stdout).dropFirst()  // first line: timings
    let topPairs = CLITests.lines(top.stdout).dropFirst()
    #expect(allPairs.count == 66)
    #expect(Array(topPairs) == Array(allPairs.prefix(5)))
  }

  @Test("JSON output keeps one key order from run to run")
  func stableKeyOrder() throws {
    let command =
      "printf 'good\\nbad movie\\n' | \"$PHOTON\" classify --model Tests/Fixtures/tiny-models/tiny-bert-classifier --backend cpu --top-k 3"
    let runs = try (0..<4).map { _ in try Self.shell(command) }
    #expect(runs.allSatisfy { $0.status == 0 }, "\(runs.map(\.stderr))")
    #expect(Set(runs.map(\.stdout)).count == 1, "\(runs.map(\.stdout))")
  }

  @Test("--jsonl takes a lone surrogate escape as U+FFFD, as invalid UTF-8")
  func loneSurrogateLine() throws {
    let result = try Self.shell(
      #"printf '"\\ud800 x"\n' | "$PHOTON" tokenize --jsonl --model \#(Self.tinyBert)"#)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(CLITests.lines(result.stdout).count == 1)
  }
}
