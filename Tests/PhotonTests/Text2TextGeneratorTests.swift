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
    _ = try GenerationChecks.idsOnBothBackends(
      { try Text2TextGenerator(model: Self.tinyT5, backend: $0) }, prompt: "Hello, world!",
      options: GenerationOptions(maxNewTokens: 8, temperature: 1.5, topK: 40, seed: 7))
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

  /// `generation.json` (made by Tests/Fixtures/make_t5_generation.py with transformers 5.24).
  static func generationFixture() throws -> [String: Any] {
    try #require(try Fixtures.json("tiny-models/tiny-t5/generation.json") as? [String: Any])
  }

  static func ids(_ value: Any?) -> [Int32] {
    (value as? [NSNumber] ?? []).map(\.int32Value)
  }

  /// Greedy with `repetition_penalty`, against transformers' `generate(max_new_tokens=12,
  /// do_sample=False, repetition_penalty=p)`: the penalty covers the decoder ids, start token
  /// included (with 0.7 the "Attention…" case then picks the start/pad token 0 itself).
  @Test(arguments: BackendKind.allCases)
  func repetitionPenaltyMatchesTransformers(backend: BackendKind) throws {
    let generator = try Text2TextGenerator(model: Self.tinyT5, backend: backend)
    let cases = try #require(Self.generationFixture()["repetition_penalty"] as? [[String: Any]])
    #expect(cases.count == 6)
    for testCase in cases {
      let text = try #require(testCase["text"] as? String)
      let penalty = try #require(testCase["penalty"] as? NSNumber).floatValue
      let result = try generator.generateResult(
        prompt: text, options: .init(maxNewTokens: 12, repetitionPenalty: penalty))
      #expect(result.tokenIds == Self.ids(testCase["ids"]), "\(backend) penalty \(penalty) '\(text)'")
    }
    // Penalty 1 is no penalty: the same as plain greedy (which argmaxes on the device).
    let text = "the quick brown fox"
    let plain = try generator.generateResult(prompt: text, options: .init(maxNewTokens: 12))
    let one = try generator.generateResult(
      prompt: text, options: .init(maxNewTokens: 12, repetitionPenalty: 1))
    #expect(plain.tokenIds == one.tokenIds)
  }

  /// `stop_strings`, against transformers' `generate(..., stop_strings=[s], tokenizer=tok)`:
  /// generation ends with the token that completes the string; finish reason `.stop`.
  @Test(arguments: BackendKind.allCases)
  func stopStringsMatchTransformers(backend: BackendKind) throws {
    let generator = try Text2TextGenerator(model: Self.tinyT5, backend: backend)
    let cases = try #require(Self.generationFixture()["stop_strings"] as? [[String: Any]])
    #expect(cases.count == 3)
    for testCase in cases {
      let text = try #require(testCase["text"] as? String)
      let stop = try #require(testCase["stop"] as? String)
      let result = try generator.generateResult(
        prompt: text, options: .init(maxNewTokens: 12, stopStrings: ["never appears", stop]))
      #expect(result.tokenIds == Self.ids(testCase["ids"]), "\(backend) stop '\(stop)'")
      #expect(result.finishReason == .stop)
      #expect(result.text.contains(stop))
    }
    // At the very start of the output (transformers 5.24 with stop_strings=["Jp"]: [214, 18]); the
    // start token's "<pad>" is not part of the text, and does not match "pad" there either.
    let early = try generator.generateResult(
      prompt: "the quick brown fox", options: .init(maxNewTokens: 12, stopStrings: ["Jp", "pad"]))
    #expect(early.tokenIds == [214, 18] && early.finishReason == .stop, "\(backend) stop 'Jp'")
    let unstopped = try generator.generateResult(
      prompt: "the quick brown fox", options: .init(maxNewTokens: 6, stopStrings: ["never appears"]))
    #expect(unstopped.finishReason == .length && unstopped.tokenIds.count == 6)
  }

  /// A batch of inputs of different lengths (right-padded and masked): transformers' padded
  /// batch `generate(repetition_penalty=1.3)` row by row (HF pads a row after its eos with 0;
  /// Photon's row ends at eos), and each row equal to generating it alone, for greedy, a stop
  /// string, and seeded penalised sampling, on both backends.
  @Test(arguments: BackendKind.allCases)
  func batchRowsMatchTransformersAndGeneratingAlone(backend: BackendKind) throws {
    let generator = try Text2TextGenerator(model: Self.tinyT5, backend: backend)
    let fixture = try #require(Self.generationFixture()["batch"] as? [String: Any])
    let texts = try #require(fixture["texts"] as? [String])
    let expected = try #require(fixture["ids"] as? [Any]).map(Self.ids)
    let hf = try generator.generateResults(
      prompts: texts, options: .init(maxNewTokens: 10, repetitionPenalty: 1.3))
    for (result, ids) in zip(hf, expected) {
      let end = ids.firstIndex(of: 1).map { $0 + 1 } ?? ids.count
      #expect(result.tokenIds == Array(ids[..<end]), "\(backend) batch row")
    }
    try GenerationChecks.expectBatchRowsEqualAlone(
      generator, prompts: texts + ["", "Hello"], stop: "etk", backend: backend)
    // Rows finish independently: the first row meets "etk" after 6 tokens, the others run on.
    let stopped = try generator.generateResults(
      prompts: ["the quick brown fox", texts[1]], options: .init(maxNewTokens: 10, stopStrings: ["etk"]))
    #expect(stopped[0].finishReason == .stop && stopped[0].tokenIds.count == 6)
    #expect(stopped[1].finishReason == .length && stopped[1].tokenIds.count == 10)
    #expect(try generator.generate(prompts: []) == [])
  }

  @Test func penalisedSamplingIsReproducibleOnBothBackends() throws {
    _ = try GenerationChecks.idsOnBothBackends(
      { try Text2TextGenerator(model: Self.tinyT5, backend: $0) }, prompt: "Hello, world!",
      options: GenerationOptions(
        maxNewTokens: 12, temperature: 0.8, topK: 20, seed: 77, repetitionPenalty: 1.3))
  }

  @Test func badPenaltiesAndStopStringsAreTypedErrors() throws {
    try GenerationChecks.expectBadPenaltiesAndStopStringsRejected(
      try Text2TextGenerator(model: Self.tinyT5, backend: .cpu))
  }

  /// The precision reaches every linear weight through the generator: fp16 and int8 generators
  /// load, report their precision, and give the same greedy ids on both backends.
  @Test(arguments: [Precision.fp16, .int8])
  func precisionThroughTheGenerator(precision: Precision) throws {
    var results: [[Int32]] = []
    for backend in BackendKind.allCases {
      let generator = try Text2TextGenerator(
        model: Self.tinyT5, backend: backend, precision: precision)
      #expect(generator.model.precision == precision)
      results.append(
        try generator.generateResult(prompt: "the quick brown fox", options: .init(maxNewTokens: 10))
          .tokenIds)
    }
    #expect(results[0] == results[1], "\(precision): cpu vs gpu greedy ids")
  }
}
