import Foundation
import Photon
import PhotonTestSupport
import Testing

/// `Text2TextGenerator` end to end on tiny-t5: text in, HF's greedy ids out, on both backends;
/// streaming, seeded sampling reproducible across backends; bad options as typed errors.
@Suite("Text2TextGenerator: T5 generation, streaming, sampling, bad input")
struct Text2TextGeneratorTests {
  static let tinyT5 = Fixtures.url("tiny-models/tiny-t5")

  static func cases() throws -> [[String: Any]] {
    let reference = try #require(
      try Fixtures.json("tiny-models/tiny-t5/reference.json") as? [String: Any])
    return try #require(reference["cases"] as? [[String: Any]])
  }

  @Test(arguments: BackendKind.allCases)
  func greedyMatchesTransformersGenerate(backend: BackendKind) async throws {
    let generator = try Text2TextGenerator(model: Self.tinyT5, backend: backend)
    for testCase in try Self.cases() {
      let text = try #require(testCase["text"] as? String)
      let input = try #require(testCase["input_ids"] as? [NSNumber]).map(\.int32Value)
      let expected = try #require(testCase["greedy_10"] as? [NSNumber]).map(\.int32Value)
      #expect(generator.inputIds(text) == input)
      var pieces: [String] = []
      let result = try generator.generateResult(
        prompt: text, options: GenerationOptions(maxNewTokens: 10), onText: { pieces.append($0) })
      #expect([generator.decoderStartTokenID] + result.tokenIds == expected, "\(backend) \(text)")
      #expect(result.finishReason == .length)
      #expect(pieces.joined() == result.text)
      #expect(result.text == generator.tokenizer.decode(result.tokenIds))
      var streamed = ""
      for try await piece in generator.stream(
        prompt: text, options: GenerationOptions(maxNewTokens: 10))
      {
        streamed += piece
      }
      #expect(streamed == result.text)
    }
  }

  /// generation_config.json has no max_new_tokens: HF's max_length 20 counts the start token,
  /// so 19 new tokens at most; eos stops earlier.
  @Test func defaultsComeFromGenerationConfig() throws {
    let generator = try Text2TextGenerator(model: Self.tinyT5, backend: .cpu)
    let result = try generator.generateResult(prompt: "the quick brown fox")
    #expect(result.tokenIds.count <= 19)
    #expect(result.finishReason == .eos || result.tokenIds.count == 19)
    if result.finishReason == .eos { #expect(result.tokenIds.last == 1) }
  }

  @Test func seededSamplingIsReproducibleAcrossBackends() throws {
    let options = GenerationOptions(maxNewTokens: 8, temperature: 1.5, topK: 40, seed: 7)
    let cpu = try Text2TextGenerator(model: Self.tinyT5, backend: .cpu)
      .generateResult(prompt: "Hello, world!", options: options)
    let gpu = try Text2TextGenerator(model: Self.tinyT5, backend: .gpu)
      .generateResult(prompt: "Hello, world!", options: options)
    #expect(cpu.tokenIds == gpu.tokenIds)
  }

  @Test func badOptionsAreTypedErrors() throws {
    let generator = try Text2TextGenerator(model: Self.tinyT5, backend: .cpu)
    for options in [
      GenerationOptions(temperature: -1), GenerationOptions(topK: -1),
      GenerationOptions(topP: 0), GenerationOptions(maxNewTokens: 0),
    ] {
      #expect(throws: PhotonError.self) { try generator.generate(prompt: "x", options: options) }
    }
    // A GPT-2 folder is not a text-to-text model.
    #expect(throws: PhotonError.self) {
      try Text2TextGenerator(model: Fixtures.url("tiny-models/tiny-gpt2"), backend: .cpu)
    }
  }
}
