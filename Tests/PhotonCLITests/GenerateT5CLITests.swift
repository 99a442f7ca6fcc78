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
}
