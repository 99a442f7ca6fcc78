import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import Testing

/// The architecture registry: which `model_type`s it knows, the heads each builds, the facts the
/// tools read from it, and the typed errors for what it lacks.
@Suite struct ModelRegistryTests {
  static func folder(_ model: String) throws -> ModelFolder {
    try ModelFolder(url: Fixtures.url("tiny-models/\(model)"))
  }

  @Test func everyModelTypeIsListedOnce() throws {
    let types = ModelRegistry.architectures.map(\.modelType)
    #expect(types == ["bert", "roberta", "xlm-roberta", "distilbert", "gpt2", "t5"])
    for type in types { #expect(try ModelRegistry.architecture(modelType: type).modelType == type) }
    #expect(ModelRegistry.supportedModelTypes == types.joined(separator: ", "))
  }

  @Test func headsOfEachArchitecture() throws {
    func heads(_ type: String) throws -> [ModelHead] { try ModelRegistry.architecture(modelType: type).heads }
    #expect(
      try heads("bert") == [.encoder, .sequenceClassification, .tokenClassification, .maskedLanguageModel])
    #expect(try heads("roberta") == [.encoder])
    #expect(try heads("xlm-roberta") == [.encoder])
    #expect(try heads("distilbert") == [.encoder])
    #expect(try heads("gpt2") == [.causalLanguageModel])
    #expect(try heads("t5") == [.encoder, .text2text])
  }

  @Test func unknownModelTypeIsUnsupportedAndListsTheKnownOnes() throws {
    let dir = try TemporaryDirectory()
    try dir.write("config.json", #"{"model_type": "llama", "hidden_size": 64}"#)
    try dir.write("model.safetensors", "")
    let folder = try ModelFolder(url: dir.url)
    #expect(folder.modelType == "llama")
    for build in [
      { _ = try ModelRegistry.encoder(folder: folder, backend: Backends.cpu) },
      { _ = try ModelRegistry.causalLanguageModel(folder: folder, backend: Backends.cpu) },
    ] {
      expectPhotonError(
        .unsupported,
        mentioning: [
          dir.url.appendingPathComponent("config.json").path, "'llama'",
          "bert, roberta, xlm-roberta, distilbert, gpt2, t5",
        ], build)
    }
  }

  @Test func missingModelTypeNamesTheKey() throws {
    let dir = try TemporaryDirectory()
    try dir.write("config.json", #"{"hidden_size": 64}"#)
    try dir.write("model.safetensors", "")
    expectPhotonError(.invalidFile, mentioning: ["config.json", "'model_type'"]) {
      _ = try ModelFolder(url: dir.url)
    }
  }

  @Test func headTheArchitectureLacksIsUnsupportedAndNamesTheHeadsItHas() throws {
    let gpt2 = try Self.folder("tiny-gpt2")
    expectPhotonError(.unsupported, mentioning: ["encoder", "'gpt2'", "GPT-2", "it has: text generation"]) {
      _ = try ModelRegistry.encoder(folder: gpt2, backend: Backends.cpu)
    }
    expectPhotonError(.unsupported, mentioning: ["sequence classification", "'gpt2'"]) {
      _ = try ModelRegistry.sequenceClassifier(folder: gpt2, backend: Backends.cpu)
    }
    let roberta = try Self.folder("tiny-roberta")
    expectPhotonError(.unsupported, mentioning: ["fill-mask", "'roberta'", "RoBERTa", "it has: encoder"]) {
      _ = try ModelRegistry.maskedLanguageModel(folder: roberta, backend: Backends.cpu)
    }
    let bert = try Self.folder("tiny-bert")
    expectPhotonError(.unsupported, mentioning: ["text-to-text generation", "'bert'"]) {
      _ = try ModelRegistry.text2textModel(folder: bert, backend: Backends.cpu)
    }
    // An architecture's typed initialiser refuses another model_type.
    expectPhotonError(.unsupported, mentioning: ["'bert'", "GPT-2"]) {
      _ = try GPT2LMHeadModel(folder: bert, backend: Backends.cpu)
    }
  }

  /// Each fixture folder builds the head it was saved with through the registry; the outputs
  /// have the head's shape (their values are checked against HF in the model tests).
  @Test func fixtureFoldersBuildTheirHeads() throws {
    let backend = Backends.cpu
    let batch = try EncoderBatch(sequences: [[2, 17, 30, 3], [2, 5, 3]], padId: 0)

    let classifier = try ModelRegistry.sequenceClassifier(folder: Self.folder("tiny-bert-classifier"), backend: backend)
    #expect(classifier.labels == ["negative", "neutral", "positive"])
    #expect(classifier.problemType == nil)
    #expect(try classifier.logits(batch).shape == [2, 3])

    let tagger = try ModelRegistry.tokenClassifier(folder: Self.folder("tiny-bert-token-classifier"), backend: backend)
    #expect(tagger.labels.count == 5)
    #expect(try tagger.logits(batch).shape == [2, 4, 5])

    let masked = try ModelRegistry.maskedLanguageModel(folder: Self.folder("tiny-bert-mlm"), backend: backend)
    #expect(try masked.logits(batch).shape == [2, 4, masked.vocabularySize])

    for model in ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-t5"] {
      let encoder = try ModelRegistry.encoder(folder: Self.folder(model), backend: backend)
      #expect(try encoder.forward(batch).lastHiddenState.shape == [2, 4, encoder.hiddenSize], "\(model)")
    }

    let generator = try ModelRegistry.causalLanguageModel(folder: Self.folder("tiny-gpt2"), backend: backend)
    #expect(generator.contextLength == 128)
    let cache = try generator.makeCache(batch: 1, capacity: 4, leftPadding: nil)
    #expect(try generator.nextTokenLogits(ids: [5, 77], cache: cache).shape == [1, 1, generator.vocabularySize])

    let t5 = try ModelRegistry.text2textModel(folder: Self.folder("tiny-t5"), backend: backend)
    let t5Cache = try t5.makeCache(encoded: t5.encode(batch), capacity: 2)
    let start = Int32(t5.decoderStartTokenID)
    #expect(try t5.nextTokenLogits(ids: [start, start], cache: t5Cache).shape == [2, 1, t5.vocabularySize])
  }

  @Test func problemTypeComesFromTheHead() throws {
    let source = Fixtures.url("tiny-models/tiny-bert-classifier")
    let dir = try TemporaryDirectory()
    for name in ["model.safetensors"] {
      try FileManager.default.copyItem(
        at: source.appendingPathComponent(name), to: dir.url.appendingPathComponent(name))
    }
    var config = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
        as? [String: Any])
    config["problem_type"] = "multi_label_classification"
    try JSONSerialization.data(withJSONObject: config).write(to: dir.url.appendingPathComponent("config.json"))
    let classifier = try ModelRegistry.sequenceClassifier(folder: ModelFolder(url: dir.url), backend: Backends.cpu)
    #expect(classifier.problemType == .multiLabelClassification)
  }

  @Test func maxPositionsFollowEachArchitecturesRule() throws {
    func positions(_ model: String) throws -> Int {
      let folder = try Self.folder(model)
      return try ModelRegistry.architecture(for: folder).maxPositions(of: folder)
    }
    #expect(try positions("tiny-bert") == 128)
    // RoBERTa numbers positions from pad_token_id + 1: 130 rows − (1 + 1).
    #expect(try positions("tiny-roberta") == 128)
    #expect(try positions("tiny-distilbert") == 128)
    #expect(try positions("tiny-gpt2") == 128)
    #expect(try positions("tiny-t5") == Int.max)
  }

  @Test func flopsOfOnePass() throws {
    let bert = try Self.folder("tiny-bert")
    // C 64, I 128, 2 layers, 1 × 8 tokens: 2 · 2 · (8 · (4·64² + 2·64·128) + 2 · 8² · 64).
    let expected = 2.0 * (2 * 8 * Double(4 * 64 * 64 + 2 * 64 * 128) + 4 * 64 * 64)
    #expect(try ModelRegistry.architecture(for: bert).flops(of: bert, batch: 1, sequence: 8) == expected)
    let t5 = try Self.folder("tiny-t5")
    #expect(try ModelRegistry.architecture(for: t5).flops(of: t5, batch: 1, sequence: 8) == 0)
  }

  @Test func randomConfigsComeFromTheEntries() throws {
    #expect(ModelRegistry.randomConfigNames == ["gpt2-small", "gpt2-medium", "distilgpt2", "gpt2"])
    expectPhotonError(.invalidArgument, mentioning: ["'gpt3'", "gpt2-small, gpt2-medium, distilgpt2"]) {
      _ = try ModelRegistry.randomCausalLanguageModel(named: "gpt3", seed: 0, backend: Backends.cpu)
    }
  }

  @Test func linearWeightRules() throws {
    func layouts(_ model: String) throws -> [String: LinearWeightLayout] {
      let folder = try Self.folder(model)
      let rule = try ModelRegistry.architecture(for: folder).linearWeightRule(of: folder)
      let weights = try folder.openWeights()
      var layouts: [String: LinearWeightLayout] = [:]
      for name in weights.names {
        if let info = weights.info(name), let layout = rule(info) { layouts[name] = layout }
      }
      return layouts
    }
    let bert = try layouts("tiny-bert")
    #expect(bert["encoder.layer.0.attention.self.query.weight"] == .linear)
    #expect(bert["encoder.layer.1.output.dense.weight"] == .linear)
    #expect(bert["embeddings.word_embeddings.weight"] == nil)
    #expect(bert.keys.allSatisfy { !$0.contains("embeddings") && $0.hasSuffix(".weight") })
    // 2 layers × (query, key, value, attention.output.dense, intermediate.dense, output.dense) + pooler.
    #expect(bert.count == 13)

    let gpt2 = try layouts("tiny-gpt2")
    #expect(gpt2.count == 8)  // 2 layers × (c_attn, attn.c_proj, c_fc, mlp.c_proj)
    #expect(gpt2.values.allSatisfy { $0 == .conv1D })
    #expect(gpt2["transformer.wte.weight"] == nil)

    let t5 = try layouts("tiny-t5")
    #expect(t5.count == 32)
    #expect(t5.keys.allSatisfy { !$0.contains("relative_attention_bias") && !$0.contains("shared") })
  }
}
