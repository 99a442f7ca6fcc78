import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import Testing

/// Every tiny checkpoint against Hugging Face's own outputs, on both backends. The fixtures are
/// rounded to 6 significant digits; 1e-5 absolute holds for these small models.
@Suite("Tiny Hugging Face checkpoints: Photon vs transformers, on .cpu and .gpu")
struct TinyModelTests {
  static let tolerance: Float = 1e-5

  @Test(arguments: ["tiny-bert", "tiny-distilbert", "tiny-roberta"])
  func baseModelHiddenStates(model: String) throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/\(model)"))
    let reference = try Reference("tiny-models/\(model)/reference.json")
    for backend in try Backends.all() {
      let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
      for (index, testCase) in reference.cases.enumerated() {
        let output = try encoder.forward(singleBatch(testCase))
        expectClose(
          try backend.floats(output.lastHiddenState), flatFloats(testCase["last_hidden_state"]),
          atol: Self.tolerance, "\(model) \(backend.kind) case \(index) last_hidden_state")
        if let pooled = testCase["pooler_output"] {
          let ours = try #require(output.pooled, "\(model) has a pooler")
          expectClose(
            try backend.floats(ours), flatFloats(pooled), atol: Self.tolerance, "\(model) \(backend.kind) pooler")
        }
      }
      if let batch = reference.paddedBatch {
        let input = try paddedBatch(batch)
        let output = try encoder.forward(input)
        let width = encoder.hiddenSize
        expectClose(
          unpaddedRows(try backend.floats(output.lastHiddenState), mask: input.attentionMask, width: width),
          unpaddedRows(flatFloats(batch["last_hidden_state"]), mask: input.attentionMask, width: width),
          atol: Self.tolerance, "\(model) \(backend.kind) padded batch")
      }
    }
  }

  @Test func sequenceClassifierLogits() throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert-classifier"))
    let config = try folder.config(as: BertConfig.self)
    let reference = try Reference("tiny-models/tiny-bert-classifier/reference.json")
    for backend in try Backends.all() {
      let model = try BertForSequenceClassification(
        weights: folder.openWeights().scope("", modelPrefix: "bert"), config: config, backend: backend)
      #expect(model.labels == ["negative", "neutral", "positive"])
      for testCase in reference.cases {
        expectClose(
          try backend.floats(model.logits(singleBatch(testCase))), flatFloats(testCase["logits"]),
          atol: Self.tolerance, "classifier \(backend.kind)")
      }
      if let batch = reference.paddedBatch {
        expectClose(
          try backend.floats(model.logits(paddedBatch(batch))), flatFloats(batch["logits"]), atol: Self.tolerance,
          "classifier \(backend.kind) padded batch")
      }
    }
  }

  @Test func tokenClassifierLogits() throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert-token-classifier"))
    let config = try folder.config(as: BertConfig.self)
    let reference = try Reference("tiny-models/tiny-bert-token-classifier/reference.json")
    for backend in try Backends.all() {
      let model = try BertForTokenClassification(
        weights: folder.openWeights().scope("", modelPrefix: "bert"), config: config, backend: backend)
      #expect(model.labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
      for testCase in reference.cases {
        expectClose(
          try backend.floats(model.logits(singleBatch(testCase))), flatFloats(testCase["logits"]),
          atol: Self.tolerance, "token classifier \(backend.kind)")
      }
    }
  }

  @Test func maskedLanguageModelLogits() throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert-mlm"))
    let config = try folder.config(as: BertConfig.self)
    let reference = try Reference("tiny-models/tiny-bert-mlm/reference.json")
    for backend in try Backends.all() {
      let model = try BertForMaskedLM(
        weights: folder.openWeights().scope("", modelPrefix: "bert"), config: config, backend: backend)
      for testCase in reference.cases {
        expectClose(
          try backend.floats(model.logits(singleBatch(testCase))), flatFloats(testCase["logits"]),
          atol: Self.tolerance, "masked LM \(backend.kind)")
      }
    }
  }

  @Test func inputsTheModelCannotTakeAreTypedErrors() throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert"))
    for backend in try Backends.all() {
      let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
      let long = try EncoderBatch(sequences: [[Int32](repeating: 5, count: 129)], padId: 0)
      let tooLong = try #require(throws: PhotonError.self) { try encoder.forward(long) }
      #expect(tooLong.code == .invalidInput && tooLong.message.contains("129") && tooLong.message.contains("128"))
      let outOfVocabulary = try EncoderBatch(sequences: [[101, 99_999]], padId: 0)
      let vocab = try #require(throws: PhotonError.self) { try encoder.forward(outOfVocabulary) }
      #expect(vocab.message.contains("99999") && vocab.message.contains("2965"))
    }
    let generator = try #require(throws: PhotonError.self) {
      try ModelRegistry.encoder(folder: ModelFolder(url: Fixtures.url("tiny-models/tiny-gpt2")), backend: Backends.cpu)
    }
    #expect(generator.code == .unsupported)
  }
}
