import Foundation
import PhotonTestSupport
import Testing

/// `photon quantize` as a user runs it, and the folder it writes used by the other commands.
@Suite("photon quantize")
struct QuantizeCLITests {
  final class Scratch {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("photon-quantize-cli-\(UUID().uuidString)")
    deinit { try? FileManager.default.removeItem(at: url) }
  }

  static let input = Data("A man is eating food.\nA cheetah chases its prey.\n".utf8)

  @Test(arguments: ["cpu", "gpu"], ["int8", "fp16"])
  func quantizedFolderEmbedsAsPrecisionDoes(backend: String, precision: String) throws {
    let scratch = Scratch()
    let out = scratch.url.appendingPathComponent("minilm-\(precision)").path
    let written = try CLITests.photon([
      "quantize", "--model", "Models/all-MiniLM-L6-v2", "--precision", precision, "--out", out,
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(written.stdout.utf8)) as? [String: Any])
    #expect(report["linear_weights"] as? Int == 37 && report["precision"] as? String == precision)

    let fromFolder = try CLITests.photon(["embed", "--backend", backend, "--model", out], input: Self.input)
    let atLoad = try CLITests.photon(["embed", "--backend", backend, "--precision", precision], input: Self.input)
    #expect(fromFolder.status == 0 && atLoad.status == 0, "\(fromFolder.stderr) \(atLoad.stderr)")
    #expect(CLITests.lines(fromFolder.stdout).count == 2)
    // Floats print in their shortest round-tripping form: equal text is equal bits.
    #expect(fromFolder.stdout == atLoad.stdout)
  }

  /// `bench` on a quantized folder runs at the folder's precision unless told otherwise, and
  /// reports it with the device bytes its weights hold.
  @Test func benchRunsAQuantizedFolderAtItsPrecision() throws {
    let scratch = Scratch()
    let out = scratch.url.appendingPathComponent("tiny-int8").path
    let tiny = Fixtures.url("tiny-models/tiny-bert").path
    let written = try CLITests.photon(["quantize", "--model", tiny, "--precision", "int8", "--out", out])
    #expect(written.status == 0, "\(written.stderr)")
    let bench = try CLITests.photon([
      "bench", "--model", out, "--backend", "gpu", "--batch", "1", "--seq", "8", "--iterations", "1", "--json",
    ])
    #expect(bench.status == 0, "\(bench.stderr)")
    let result = try #require(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any])
    #expect(result["precision"] as? String == "int8")
    #expect((result["weight_bytes"] as? Int ?? 0) > 0)
  }

  @Test func badInputsAreRefusedWithTheirNames() throws {
    let scratch = Scratch()
    let tiny = Fixtures.url("tiny-models/tiny-bert-classifier").path
    let out = scratch.url.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try Data("x".utf8).write(to: out.appendingPathComponent("keep.txt"))

    let unknown = try CLITests.photon(["quantize", "--model", tiny, "--precision", "int4", "--out", out.path])
    #expect(unknown.status != 0)
    #expect(
      unknown.stderr.contains("int4") && unknown.stderr.contains("int8") && unknown.stderr.contains("fp16"),
      "\(unknown.stderr)")

    let notEmpty = try CLITests.photon(["quantize", "--model", tiny, "--precision", "int8", "--out", out.path])
    #expect(notEmpty.status != 0)
    #expect(notEmpty.stderr.contains(out.path) && notEmpty.stderr.contains("--force"), "\(notEmpty.stderr)")

    let forced = try CLITests.photon(["quantize", "--model", tiny, "--precision", "int8", "--out", out.path, "--force"])
    #expect(forced.status == 0, "\(forced.stderr)")

    let text = Data("the quick brown fox\n".utf8)
    let classified = try CLITests.photon(
      ["classify", "--backend", "cpu", "--model", out.path, "--top-k", "0"], input: text)
    let atLoad = try CLITests.photon(
      ["classify", "--backend", "cpu", "--model", tiny, "--top-k", "0", "--precision", "int8"], input: text)
    #expect(classified.status == 0, "\(classified.stderr)")
    // JSON object keys come out in any order: compare (label, score) pairs.
    func scores(_ output: String) throws -> [String] {
      let rows = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
      return rows.map { "\($0["label"] ?? "") \($0["score"] ?? "")" }
    }
    #expect(try scores(classified.stdout) == scores(atLoad.stdout))
    #expect(try scores(classified.stdout).count == 3)

    let fp32 = try CLITests.photon(
      ["classify", "--backend", "cpu", "--model", out.path, "--precision", "fp32"], input: text)
    #expect(fp32.status != 0)
    #expect(fp32.stderr.contains("int8 only, not fp32"), "\(fp32.stderr)")
  }

  /// GPT-2 and T5 folders: `photon generate --model OUT` prints what `--precision` prints on the
  /// original (token ids and text, greedy), on both backends; `bench --generate` runs the GPT-2
  /// folder at its precision; another precision is refused.
  @Test(arguments: ["cpu", "gpu"], ["tiny-gpt2", "tiny-t5"])
  func quantizedGeneratorFolderGeneratesAsPrecisionDoes(backend: String, model: String) throws {
    let scratch = Scratch()
    let source = Fixtures.url("tiny-models/\(model)").path
    let input = Data("\"the quick brown fox\"\n\"Hello, world!\"\n".utf8)
    for precision in ["int8", "fp16"] {
      let out = scratch.url.appendingPathComponent("\(model)-\(precision)").path
      let written = try CLITests.photon(["quantize", "--model", source, "--precision", precision, "--out", out])
      #expect(written.status == 0, "\(written.stderr)")
      let common = ["generate", "--backend", backend, "--max-new-tokens", "8", "--jsonl"]
      let fromFolder = try CLITests.photon(common + ["--model", out], input: input)
      let atLoad = try CLITests.photon(common + ["--model", source, "--precision", precision], input: input)
      #expect(fromFolder.status == 0 && atLoad.status == 0, "\(fromFolder.stderr) \(atLoad.stderr)")
      #expect(CLITests.lines(fromFolder.stdout).count == 2)
      #expect(fromFolder.stdout == atLoad.stdout, "\(model) \(backend) \(precision)")
    }
    let out = scratch.url.appendingPathComponent("\(model)-int8").path
    let fp32 = try CLITests.photon(["generate", "--backend", backend, "--model", out, "--precision", "fp32", "Hi"])
    #expect(fp32.status != 0)
    #expect(fp32.stderr.contains("int8 only, not fp32"), "\(fp32.stderr)")
    if model == "tiny-gpt2" {
      let bench = try CLITests.photon([
        "bench", "--generate", "--model", out, "--backend", backend, "--prompt-len", "4", "--new-tokens", "2",
        "--iterations", "1", "--warmup", "0", "--json",
      ])
      #expect(bench.status == 0, "\(bench.stderr)")
      let result = try #require(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any])
      #expect(result["precision"] as? String == "int8")
    }
  }
}
