import Foundation
import PhotonTestSupport
import Testing

/// `photon generate` on a T5 folder: dispatched on model_type to the text-to-text generator.
@Suite("photon generate with T5")
struct GenerateT5CLITests {
  @Test(arguments: ["cpu", "gpu"])
  func greedyJSONLinesMatchTransformers(backend: String) throws {
    let result = try CLITests.photon(
      [
        "generate", "--model", "Tests/Fixtures/tiny-models/tiny-t5", "--backend", backend,
        "--max-new-tokens", "10", "--jsonl",
      ], input: Data("\"the quick brown fox\"\n\"Hello, world! Café 🙂 3.14\"\n".utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let lines = CLITests.lines(result.stdout)
    #expect(lines.count == 2)
    // greedy_10 of tiny-t5's reference.json, without the start token.
    let expected: [[Int32]] = [
      [214, 18, 18, 200, 142, 49, 105, 142, 49, 105],
      [17, 191, 211, 211, 211, 211, 211, 211, 211, 211],
    ]
    for (line, ids) in zip(lines, expected) {
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      #expect((object["token_ids"] as? [NSNumber])?.map(\.int32Value) == ids)
      #expect(object["generated_text"] is String)
    }
    let streamed = try CLITests.photon(
      [
        "generate", "--model", "Tests/Fixtures/tiny-models/tiny-t5", "--backend", backend,
        "--max-new-tokens", "10", "the quick brown fox",
      ])
    #expect(streamed.status == 0)
    let first = try #require(
      try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    #expect(streamed.stdout == "\(first["generated_text"] as? String ?? "")\n")
  }

  /// --jsonl in batches (--batch-size 2 over three prompts of different lengths) with
  /// --repetition-penalty: transformers' ids (tiny-t5 generation.json, penalty 1.5), the same
  /// lines as one prompt per batch; --stop ends a generation on its string.
  @Test(arguments: ["cpu", "gpu"])
  func batchesPenaltyAndStop(backend: String) throws {
    let model = "Tests/Fixtures/tiny-models/tiny-t5"
    let input = Data(
      "\"the quick brown fox\"\n\"Attention lets every position look at every other position.\"\n\"Hello, world! Café 🙂 3.14\"\n"
        .utf8)
    var outputs: [String] = []
    for size in ["2", "1"] {
      let result = try CLITests.photon(
        [
          "generate", "--model", model, "--backend", backend, "--max-new-tokens", "12",
          "--repetition-penalty", "1.5", "--batch-size", size, "--jsonl",
        ], input: input)
      #expect(result.status == 0, "\(result.stderr)")
      outputs.append(result.stdout)
    }
    #expect(outputs[0] == outputs[1], "batches of 2 vs 1")
    let expected: [[Int32]] = [
      [214, 18, 200, 142, 49, 105, 56, 123, 129, 181, 203, 134],
      [65, 119, 80, 66, 21, 171, 30, 31, 55, 120, 194, 18],
      [17, 191, 211, 173, 214, 23, 144, 105, 65, 65, 65, 118],
    ]
    let lines = CLITests.lines(outputs[0])
    #expect(lines.count == 3)
    for (line, ids) in zip(lines, expected) {
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      #expect((object["token_ids"] as? [NSNumber])?.map(\.int32Value) == ids)
    }
    let stopped = try CLITests.photon(
      [
        "generate", "--model", model, "--backend", backend, "--max-new-tokens", "12",
        "--stop", "etk", "--jsonl",
      ], input: Data("\"the quick brown fox\"\n".utf8))
    #expect(stopped.status == 0, "\(stopped.stderr)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(CLITests.lines(stopped.stdout)[0].utf8))
        as? [String: Any])
    #expect(
      (object["token_ids"] as? [NSNumber])?.map(\.int32Value) == [214, 18, 18, 200, 142, 49])
    #expect((object["generated_text"] as? String)?.contains("etk") == true)
  }
}
