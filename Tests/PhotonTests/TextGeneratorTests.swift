import Foundation
import Photon
import PhotonTestSupport
import Testing

/// `TextGenerator` end to end on tiny-gpt2: text in, HF's greedy ids out, on both backends;
/// seeded sampling reproducible across backends; bad options as typed errors.
@Suite("TextGenerator: GPT-2 generation, streaming, sampling, bad input")
struct TextGeneratorTests {
  static let tinyGPT2 = Fixtures.url("tiny-models/tiny-gpt2")

  static func cases() throws -> [[String: Any]] {
    let reference = try #require(
      try Fixtures.json("tiny-models/tiny-gpt2/reference.json") as? [String: Any])
    return try #require(reference["cases"] as? [[String: Any]])
  }

  @Test(arguments: BackendKind.allCases)
  func greedyMatchesTransformersGenerate(backend: BackendKind) throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: backend)
    for testCase in try Self.cases() {
      let text = try #require(testCase["text"] as? String)
      let prompt = try #require(testCase["input_ids"] as? [NSNumber]).map(\.int32Value)
      let expected = try #require(testCase["greedy_10"] as? [NSNumber]).map(\.int32Value)
      #expect(try generator.promptIds(text) == prompt)
      var pieces: [String] = []
      let result = try generator.generateResult(
        prompt: text, options: GenerationOptions(maxNewTokens: 10), onText: { pieces.append($0) })
      #expect(prompt + result.tokenIds == expected, "\(backend) \(text)")
      #expect(result.finishReason == .length)
      #expect(pieces.joined() == result.text)
      #expect(result.text == generator.tokenizer.decode(result.tokenIds))
    }
  }

  @Test func streamYieldsTheSameText() async throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: .cpu)
    let options = GenerationOptions(maxNewTokens: 8)
    var streamed = ""
    for try await piece in generator.stream(prompt: "the quick brown fox", options: options) {
      streamed += piece
    }
    #expect(streamed == (try await generator.generate(prompt: "the quick brown fox", options: options)))
    #expect(!streamed.isEmpty)
  }

  @Test func seededSamplingIsReproducibleOnBothBackends() throws {
    let options = GenerationOptions(
      maxNewTokens: 12, temperature: 1.0, topK: 40, topP: 0.95, seed: 1234)
    let cpu = try GenerationChecks.idsOnBothBackends(
      { try TextGenerator(model: Self.tinyGPT2, backend: $0) }, prompt: "Attention lets",
      options: options)
    let again = try TextGenerator(model: Self.tinyGPT2, backend: .cpu).generateResult(
      prompt: "Attention lets", options: options)
    #expect(again.tokenIds == cpu)
    // Sampling really samples: with top-k 1 it is greedy again, and another seed differs.
    let greedy = try TextGenerator(model: Self.tinyGPT2, backend: .cpu)
    let topOne = try greedy.generateResult(
      prompt: "Attention lets", options: .init(maxNewTokens: 12, topK: 1, seed: 9))
    #expect(
      topOne.tokenIds
        == (try greedy.generateResult(prompt: "Attention lets", options: .init(maxNewTokens: 12))
          .tokenIds))
    let other = try greedy.generateResult(
      prompt: "Attention lets", options: .init(maxNewTokens: 12, temperature: 1.0, seed: 99))
    #expect(other.tokenIds != cpu)
  }

  @Test func stopsAtEosAndAtTheContext() throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: .cpu)
    // Defaults from generation_config.json: max_length 20 in all, prompt included.
    let prompt = "the quick brown fox"
    let defaults = try generator.generateResult(prompt: prompt)
    #expect(defaults.tokenIds.count == 20 - (try generator.promptIds(prompt)).count)
    let long = String(repeating: "fox ", count: 200)
    let ids = try generator.promptIds(long)
    #expect(ids.count > 128)
    #expect {
      try generator.generate(prompt: long)
    } throws: { error in
      let e = error as? PhotonError
      return e?.code == .invalidInput && e!.message.contains("\(ids.count)")
        && e!.message.contains("128")
    }
    // Sampling at a high temperature: eos (id 0) stops it, else the 128-position context does
    // ("Hello" is one token, so 300 new tokens are clamped to 128).
    let sampled = try generator.generateResult(
      prompt: "Hello", options: .init(maxNewTokens: 300, temperature: 50, seed: 3))
    if sampled.finishReason == .eos {
      #expect(sampled.tokenIds.last == 0)
    } else {
      #expect(sampled.finishReason == .context && sampled.tokenIds.count == 128)
    }
    // The empty prompt starts from bos_token_id.
    #expect(try generator.promptIds("") == [0])
    _ = try generator.generate(prompt: "", options: .init(maxNewTokens: 2))
  }

  @Test func badOptionsAreTypedErrors() throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: .cpu)
    let bad: [GenerationOptions] = [
      .init(temperature: -0.5), .init(topP: 0), .init(topP: 1.5), .init(topK: -1),
      .init(maxNewTokens: 0),
      .init(temperature: .nan),
    ]
    for options in bad {
      #expect(throws: PhotonError.self) { try generator.generate(prompt: "fox", options: options) }
      do {
        try options.validate()
      } catch let error as PhotonError {
        #expect(error.code == .invalidArgument)
      }
    }
  }

  static let attention = "Attention lets every position look at every other position."

  /// Greedy with `repetition_penalty`, against ids from transformers 5.24
  /// `model.generate(ids, max_new_tokens=12, do_sample=False, repetition_penalty=p)`.
  @Test(arguments: BackendKind.allCases)
  func repetitionPenaltyMatchesTransformers(backend: BackendKind) throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: backend)
    let expected: [(String, Float, [Int32])] = [
      ("the quick brown fox", 1.5, [455, 261, 261, 261, 261, 261, 69, 69, 69, 69, 69, 69]),
      ("the quick brown fox", 0.7, [Int32](repeating: 455, count: 12)),
      (Self.attention, 1.5, [258] + [Int32](repeating: 37, count: 11)),
      (Self.attention, 0.7, [Int32](repeating: 14, count: 12)),
    ]
    for (prompt, penalty, ids) in expected {
      let result = try generator.generateResult(
        prompt: prompt, options: .init(maxNewTokens: 12, repetitionPenalty: penalty))
      #expect(result.tokenIds == ids, "\(backend) penalty \(penalty) '\(prompt)'")
    }
    // Penalty 1 is no penalty: the same as plain greedy (which argmaxes on the device).
    let plain = try generator.generateResult(prompt: Self.attention, options: .init(maxNewTokens: 12))
    let one = try generator.generateResult(
      prompt: Self.attention, options: .init(maxNewTokens: 12, repetitionPenalty: 1))
    #expect(plain.tokenIds == one.tokenIds)
  }

  /// `stop_strings`, against transformers 5.24 `generate(..., stop_strings=[s], tokenizer=tok)`:
  /// generation ends on the token that completes the string, which may begin in the prompt.
  @Test(arguments: BackendKind.allCases)
  func stopStringsMatchTransformers(backend: BackendKind) throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: backend)
    let expected: [(String, String, [Int32])] = [
      (Self.attention, "tensors", [258, 258, 258, 258, 258, 470]),
      (Self.attention, "rer", [258, 258]),
      ("the quick brown fox", "x f", [455]),
    ]
    for (prompt, stop, ids) in expected {
      let result = try generator.generateResult(
        prompt: prompt, options: .init(maxNewTokens: 12, stopStrings: ["never appears", stop]))
      #expect(result.tokenIds == ids, "\(backend) stop '\(stop)'")
      #expect(result.finishReason == .stop)
    }
    let unstopped = try generator.generateResult(
      prompt: Self.attention, options: .init(maxNewTokens: 6, stopStrings: ["never appears"]))
    #expect(unstopped.finishReason == .length && unstopped.tokenIds.count == 6)
  }

  @Test func penalisedSamplingIsReproducibleOnBothBackends() throws {
    let ids = try GenerationChecks.idsOnBothBackends(
      { try TextGenerator(model: Self.tinyGPT2, backend: $0) }, prompt: Self.attention,
      options: GenerationOptions(
        maxNewTokens: 12, temperature: 0.8, topK: 20, seed: 77, repetitionPenalty: 1.3))
    #expect(ids.count == 12)
  }

  @Test func badPenaltiesAndStopStringsAreTypedErrors() throws {
    try GenerationChecks.expectBadPenaltiesAndStopStringsRejected(
      try TextGenerator(model: Self.tinyGPT2, backend: .cpu))
  }

  /// A batch of prompts of different lengths (left-padded, per-row positions and masks): each
  /// row's ids equal generating that prompt alone, in input order, on both backends; a row that
  /// meets its stop string finishes while the others go on.
  @Test(arguments: BackendKind.allCases)
  func batchRowsEqualGeneratingAlone(backend: BackendKind) throws {
    let generator = try TextGenerator(model: Self.tinyGPT2, backend: backend)
    try GenerationChecks.expectBatchRowsEqualAlone(
      generator,
      prompts: ["the quick brown fox", Self.attention, "Hello, world! Café 🙂 3.14", "Hi", ""],
      stop: "rer", backend: backend)
    // Rows finish independently: the "rer" row stops after 2 tokens, the others run to 10.
    let stopped = try generator.generateResults(
      prompts: [Self.attention, "the quick brown fox"],
      options: .init(maxNewTokens: 10, stopStrings: ["rer"]))
    #expect(stopped[0].finishReason == .stop && stopped[0].tokenIds.count == 2)
    #expect(stopped[1].finishReason == .length && stopped[1].tokenIds.count == 10)
    #expect(try generator.generate(prompts: []) == [])
  }
}
