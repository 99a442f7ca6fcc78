import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

import PhotonLoading
import PhotonModels

/// Each architecture's config struct, decoded through the registry (which picks the struct by
/// `model_type`).
@Suite struct ModelConfigTests {
  func config(_ model: String) throws -> any ModelConfiguration {
    try ModelRegistry.config(contentsOf: Fixtures.url("tiny-models/\(model)/config.json"))
  }

  func decode(_ json: String) throws -> any ModelConfiguration {
    try ModelRegistry.config(decoding: Data(json.utf8), file: "test/config.json")
  }

  @Test func tinyBert() throws {
    let c = try #require(try config("tiny-bert") as? BertConfig)
    #expect(c.modelType == .bert)
    #expect(c.architectures == ["BertModel"])
    #expect(c.vocabSize == 2965)
    #expect(c.hiddenSize == 64)
    #expect(c.numHiddenLayers == 2)
    #expect(c.numAttentionHeads == 4)
    #expect(c.headSize == 16)
    #expect(c.intermediateSize == 128)
    #expect(c.hiddenAct == .gelu)
    #expect(c.hiddenAct.activation == .gelu)
    #expect(c.layerNormEps == 1e-12)
    #expect(c.maxPositionEmbeddings == 128)
    #expect(c.typeVocabSize == 2)
    #expect(c.padTokenID == 0)
    #expect(c.id2label.isEmpty)
  }

  @Test func classifierLabels() throws {
    let c = try #require(try config("tiny-bert-classifier") as? BertConfig)
    #expect(c.labels == ["negative", "neutral", "positive"])
    #expect(c.label2id["positive"] == 2)
    let t = try #require(try config("tiny-bert-token-classifier") as? BertConfig)
    #expect(t.labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
  }

  @Test func tinyRoberta() throws {
    let c = try #require(try config("tiny-roberta") as? BertConfig)
    #expect(c.modelType == .roberta)
    #expect(c.padTokenID == 1)
    #expect(c.maxPositionEmbeddings == 130)
    #expect(c.typeVocabSize == 1)
    #expect(c.vocabSize == 535)
  }

  @Test func tinyDistilBert() throws {
    let c = try #require(try config("tiny-distilbert") as? DistilBertConfig)
    #expect(c.dim == 64)
    #expect(c.nLayers == 2)
    #expect(c.nHeads == 4)
    #expect(c.hiddenDim == 128)
    #expect(c.activation.activation == .gelu)
    #expect(c.maxPositionEmbeddings == 128)
    #expect(c.layerNormEps == 1e-12)
  }

  @Test func tinyGPT2() throws {
    let c = try #require(try config("tiny-gpt2") as? GPT2Config)
    #expect(c.nEmbd == 64)
    #expect(c.nLayer == 2)
    #expect(c.nHead == 4)
    #expect(c.nPositions == 128)
    #expect(c.vocabSize == 531)
    #expect(c.nInner == nil)
    #expect(c.innerSize == 256)
    #expect(c.activationFunction == .geluNew)
    #expect(c.activationFunction.activation == .geluTanh)
    #expect(c.layerNormEpsilon == 1e-5)
    #expect(c.bosTokenID == 0)
    #expect(c.eosTokenID == 0)
    #expect(c.padTokenID == nil)
    #expect(c.tieWordEmbeddings)
  }

  @Test func tinyT5() throws {
    let c = try #require(try config("tiny-t5") as? T5Config)
    #expect(c.dModel == 64)
    #expect(c.dKV == 16)
    #expect(c.dFF == 128)
    #expect(c.numLayers == 2)
    #expect(c.numDecoderLayers == 2)
    #expect(c.numHeads == 4)
    #expect(c.relativeAttentionNumBuckets == 32)
    #expect(c.relativeAttentionMaxDistance == 128)
    #expect(c.denseActivation == .relu)
    #expect(!c.isGatedAct)
    #expect(c.layerNormEpsilon == 1e-6)
    #expect(c.tieWordEmbeddings)
    #expect(c.scaleDecoderOutputs)
    #expect(c.decoderStartTokenID == 0)
    #expect(c.eosTokenID == 1)
    #expect(c.padTokenID == 0)
  }

  @Test func hfDefaultsForAbsentKeys() throws {
    let bert = try #require(try decode(#"{"model_type": "bert"}"#) as? BertConfig)
    #expect(bert.vocabSize == 30522)
    #expect(bert.hiddenSize == 768)
    #expect(bert.numHiddenLayers == 12)
    #expect(bert.intermediateSize == 3072)
    #expect(bert.maxPositionEmbeddings == 512)
    #expect(bert.padTokenID == 0)
    let xlmr = try #require(
      try decode(
        #"{"model_type": "xlm-roberta", "vocab_size": 250002, "pad_token_id": null}"#) as? BertConfig)
    #expect(xlmr.padTokenID == 1)  // null takes the default, as HF's __init__ does
    #expect(xlmr.eosTokenID == 2)
    let t5 = try #require(
      try decode(
        #"{"model_type": "t5", "num_layers": 3, "tie_word_embeddings": false}"#) as? T5Config)
    #expect(t5.numDecoderLayers == 3)
    #expect(!t5.scaleDecoderOutputs)
    let gpt2 = try #require(try decode(#"{"model_type": "gpt2"}"#) as? GPT2Config)
    #expect(gpt2.bosTokenID == 50256)
    #expect(gpt2.innerSize == 3072)
  }

  @Test(arguments: [
    ("gated-gelu", HiddenAct.geluNew, true), ("gelu", .gelu, false), ("gated-relu", .relu, true),
  ])
  func t5FeedForwardProj(proj: String, act: HiddenAct, gated: Bool) throws {
    let c = try T5Config.decode(Data(#"{"feed_forward_proj": "\#(proj)"}"#.utf8))
    #expect(c.denseActivation == act)
    #expect(c.isGatedAct == gated)
  }

  // MARK: - Errors that name the key

  @Test func unknownModelTypeListsSupported() {
    expectPhotonError(
      .unsupported,
      mentioning: [
        "test/config.json", "'llama'", "bert, roberta, xlm-roberta, distilbert, gpt2, t5",
      ]
    ) { _ = try decode(#"{"model_type": "llama", "hidden_size": 64}"#) }
  }

  @Test func missingModelType() {
    expectPhotonError(.invalidFile, mentioning: ["model_type"]) {
      _ = try decode(#"{"hidden_size": 64}"#)
    }
  }

  @Test func malformedConfigJSON() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "config.json", "{\n  \"model_type\": \"bert\",\n  \"hidden_size\": 64,,\n}")
    let error = expectPhotonError(.invalidFile, mentioning: [url.path, "malformed JSON", "line 3"]) {
      _ = try ModelRegistry.config(contentsOf: url)
    }
    #expect(error?.cause != nil)
  }

  @Test func configThatIsNotAnObject() {
    expectPhotonError(.invalidFile, mentioning: ["test/config.json"]) { _ = try decode("[1, 2]") }
  }

  @Test func missingConfigFile() throws {
    let dir = try TemporaryDirectory()
    expectPhotonError(.invalidFile, mentioning: ["config.json", "cannot read"]) {
      _ = try ModelRegistry.config(contentsOf: dir.url.appendingPathComponent("config.json"))
    }
  }

  @Test func hiddenSizeNotDivisibleByHeads() {
    expectPhotonError(
      .invalidFile, mentioning: ["'hidden_size' (100)", "'num_attention_heads' (12)"]
    ) {
      _ = try decode(#"{"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["'n_embd'", "'n_head'"]) {
      _ = try decode(#"{"model_type": "gpt2", "n_embd": 64, "n_head": 5}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["'dim'", "'n_heads'"]) {
      _ = try decode(#"{"model_type": "distilbert", "dim": 64, "n_heads": 5}"#)
    }
  }

  @Test func wrongTypeNamesTheKey() {
    expectPhotonError(
      .invalidFile, mentioning: ["test/config.json", "key 'hidden_size'", "integer"]
    ) {
      _ = try decode(#"{"model_type": "bert", "hidden_size": "64"}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["key 'id2label'"]) {
      _ = try decode(#"{"model_type": "bert", "id2label": {"zero": "a"}}"#)
    }
  }

  @Test func unsupportedActivationNamesKeyAndChoices() {
    expectPhotonError(.unsupported, mentioning: ["'hidden_act'", "'swish'", "gelu, gelu_new"]) {
      _ = try decode(#"{"model_type": "bert", "hidden_act": "swish"}"#)
    }
    expectPhotonError(.unsupported, mentioning: ["'feed_forward_proj'", "'silu'"]) {
      _ = try decode(#"{"model_type": "t5", "feed_forward_proj": "gated-silu"}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["'feed_forward_proj'", "'gated-gelu-x'"]) {
      _ = try decode(#"{"model_type": "t5", "feed_forward_proj": "gated-gelu-x"}"#)
    }
  }

  @Test func otherValidationErrors() {
    expectPhotonError(.unsupported, mentioning: ["'position_embedding_type'", "relative_key"]) {
      _ = try decode(#"{"model_type": "bert", "position_embedding_type": "relative_key"}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["'id2label'", "[0, 2]"]) {
      _ = try decode(#"{"model_type": "bert", "id2label": {"0": "a", "2": "b"}}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["'pad_token_id' (10)", "0..<10"]) {
      _ = try decode(#"{"model_type": "bert", "vocab_size": 10, "pad_token_id": 10}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["'layer_norm_eps'"]) {
      _ = try decode(#"{"model_type": "bert", "layer_norm_eps": 0}"#)
    }
    expectPhotonError(.invalidFile, mentioning: ["key 'problem_type'"]) {
      _ = try decode(#"{"model_type": "bert", "problem_type": "ranking"}"#)
    }
  }

  @Test func structLoadChecksItsOwnModelType() throws {
    #expect(
      try BertConfig.load(from: Fixtures.url("tiny-models/tiny-roberta/config.json")).modelType
        == .roberta)
    expectPhotonError(.unsupported, mentioning: ["'model_type'", "'gpt2'"]) {
      _ = try BertConfig.load(from: Fixtures.url("tiny-models/tiny-gpt2/config.json"))
    }
  }
}
