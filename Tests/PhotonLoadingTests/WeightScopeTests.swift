import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

@Suite struct WeightScopeTests {
  func weights(_ model: String) throws -> ModelWeights {
    try ModelWeights(url: Fixtures.url("tiny-models/\(model)/model.safetensors"))
  }

  @Test func scopedLookupUsesHFNames() throws {
    let weights = try weights("tiny-bert")
    let attention = weights.scope("encoder.layer.0.attention")
    let query = try attention.tensor("self.query.weight", shape: [64, 64])
    #expect(query == (try weights.floats("encoder.layer.0.attention.self.query.weight")))
    let nested = weights.scope("encoder").scope("layer.0").scope("attention.self")
    #expect(nested.prefix == "encoder.layer.0.attention.self")
    #expect(try nested.tensor("query.weight", shape: [64, 64]) == query)
    #expect(weights.scope().fullName("pooler.dense.bias") == "pooler.dense.bias")
  }

  @Test func prefixIsAddedForTaskCheckpoints() throws {
    // BertForSequenceClassification stores the encoder under `bert.`.
    let weights = try weights("tiny-bert-classifier")
    let scope = weights.scope("encoder.layer.1.output")
    #expect(scope.resolve("dense.weight") == "bert.encoder.layer.1.output.dense.weight")
    let dense = try scope.tensor("dense.weight", shape: [64, 128])
    #expect(dense == (try weights.floats("bert.encoder.layer.1.output.dense.weight")))
    // The head itself is at the root and found as is.
    #expect(try weights.scope().tensor("classifier.weight", shape: [3, 64]).shape == [3, 64])
    #expect(weights.scope().shape(of: "classifier.weight") == [3, 64])
  }

  @Test func prefixIsRemovedForBaseCheckpoints() throws {
    let weights = try weights("tiny-bert")
    let scope = weights.scope("bert.embeddings", modelPrefix: "bert")
    #expect(scope.resolve("word_embeddings.weight") == "embeddings.word_embeddings.weight")
    #expect(
      try scope.tensor("word_embeddings.weight", shape: [2965, 64]).values.count == 2965 * 64)
  }

  @Test func distilBertAndGPT2Prefixes() throws {
    let gpt2 = try weights("tiny-gpt2")
    // GPT2LMHeadModel saves the GPT2Model under `transformer.`.
    #expect(gpt2.scope("h.0.attn").resolve("c_attn.weight") == "transformer.h.0.attn.c_attn.weight")
    #expect(
      try gpt2.scope("h.0", modelPrefix: "transformer").tensor(
        "attn.c_attn.weight", shape: [64, 192]
      ).shape == [64, 192])

    let distil = try weights("tiny-distilbert")
    #expect(
      distil.scope("distilbert.transformer.layer.0").resolve("ffn.lin1.weight")
        == "transformer.layer.0.ffn.lin1.weight")
  }

  @Test func missingTensorNamesItAndThreeNearest() throws {
    let weights = try weights("tiny-bert")
    let error = expectPhotonError(
      .missingTensor,
      mentioning: [
        "model.safetensors", "'encoder.layer.0.attention.self.qery.weight'", "nearest",
        "'encoder.layer.0.attention.self.query.weight'",
        "nor with model prefix 'bert.', 'roberta.'",
      ]
    ) {
      _ = try weights.scope("encoder.layer.0.attention.self").tensor(
        "qery.weight", shape: [64, 64])
    }
    if let message = error?.message, let range = message.range(of: "nearest: ") {
      #expect(message[range.upperBound...].split(separator: ",").count == 3, "\(message)")
    }
  }

  @Test func wrongShapeNamesTensorExpectedAndActual() throws {
    let weights = try weights("tiny-bert-classifier")
    expectPhotonError(
      .shapeMismatch,
      mentioning: [
        "'encoder.layer.0.attention.self.query.weight'",
        "bert.encoder.layer.0.attention.self.query.weight", "[64, 64]", "expected [384, 384]",
      ]
    ) {
      _ = try weights.scope("encoder.layer.0.attention").tensor(
        "self.query.weight", shape: [384, 384])
    }
  }

  @Test func optionalTensor() throws {
    // RobertaModel in the fixtures was saved without a pooler.
    let roberta = try weights("tiny-roberta")
    #expect(try roberta.scope("pooler.dense").optionalTensor("weight", shape: [64, 64]) == nil)
    #expect(!roberta.scope().contains("pooler.dense.weight"))
    let bert = try weights("tiny-bert")
    #expect(
      try bert.scope("pooler.dense").optionalTensor("weight", shape: [64, 64])?.shape == [64, 64])
    // Present with the wrong shape is still an error.
    expectPhotonError(.shapeMismatch, mentioning: ["pooler.dense.weight"]) {
      _ = try bert.scope("pooler.dense").optionalTensor("weight", shape: [1])
    }
  }

  @Test func tensorFlowLayerNormNames() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "model.safetensors",
      bytes: SafeTensorsBuilder.file([
        SafeTensorsBuilder.f32("bert.embeddings.LayerNorm.gamma", [2], [1, 2]),
        SafeTensorsBuilder.f32("bert.embeddings.LayerNorm.beta", [2], [3, 4]),
      ]))
    let scope = try ModelWeights(url: url).scope("embeddings.LayerNorm")
    #expect(try scope.tensor("weight", shape: [2]).values == [1, 2])
    #expect(try scope.tensor("bias", shape: [2]).values == [3, 4])
  }

  @Test func transposeForConv1D() throws {
    let t = LoadedTensor(values: [1, 2, 3, 4, 5, 6], shape: [2, 3])
    #expect(try t.transposed() == LoadedTensor(values: [1, 4, 2, 5, 3, 6], shape: [3, 2]))
    expectPhotonError(.shapeMismatch, mentioning: ["rank-2"]) {
      _ = try LoadedTensor(values: [1], shape: [1]).transposed()
    }
  }

  // MARK: - Sharded checkpoints

  func writeShards(_ dir: TemporaryDirectory, index: String) throws -> URL {
    try dir.write(
      "model-00001-of-00002.safetensors",
      bytes: SafeTensorsBuilder.file([
        SafeTensorsBuilder.f32("embeddings.word_embeddings.weight", [2, 2], [1, 2, 3, 4]),
        SafeTensorsBuilder.f32("encoder.layer.0.output.dense.bias", [2], [5, 6]),
      ]))
    try dir.write(
      "model-00002-of-00002.safetensors",
      bytes: SafeTensorsBuilder.file([
        SafeTensorsBuilder.bf16("encoder.layer.1.output.dense.bias", [2], bits: [0x3F80, 0x4000])
      ]))
    return try dir.write("model.safetensors.index.json", index)
  }

  static let goodIndex = """
    {"metadata": {"total_size": 28},
     "weight_map": {
       "embeddings.word_embeddings.weight": "model-00001-of-00002.safetensors",
       "encoder.layer.0.output.dense.bias": "model-00001-of-00002.safetensors",
       "encoder.layer.1.output.dense.bias": "model-00002-of-00002.safetensors"}}
    """

  @Test func shardedIndexSpansFiles() throws {
    let dir = try TemporaryDirectory()
    let index = try writeShards(dir, index: Self.goodIndex)
    let weights = try ModelWeights(url: index)
    #expect(weights.files.count == 2)
    #expect(weights.names.count == 3)
    #expect(try weights.floats("embeddings.word_embeddings.weight").values == [1, 2, 3, 4])
    #expect(
      try weights.scope("encoder.layer.1.output").tensor("dense.bias", shape: [2]).values == [1, 2])
    #expect(
      weights.file(containing: "encoder.layer.1.output.dense.bias")?.url.lastPathComponent
        == "model-00002-of-00002.safetensors")
    expectPhotonError(
      .missingTensor,
      mentioning: ["encoder.layer.2.output.dense.bias", "encoder.layer.1.output.dense.bias"]
    ) {
      _ = try weights.floats("encoder.layer.2.output.dense.bias")
    }
  }

  @Test func shardIndexNamingAMissingShard() throws {
    let dir = try TemporaryDirectory()
    let index = try writeShards(
      dir, index: #"{"weight_map": {"x": "model-00003-of-00002.safetensors"}}"#)
    expectPhotonError(.invalidFile, mentioning: ["model-00003-of-00002.safetensors"]) {
      _ = try ModelWeights(url: index)
    }
  }

  @Test func shardIndexNamingATensorTheShardLacks() throws {
    let dir = try TemporaryDirectory()
    let index = try writeShards(
      dir, index: #"{"weight_map": {"pooler.dense.weight": "model-00001-of-00002.safetensors"}}"#)
    expectPhotonError(
      .missingTensor, mentioning: ["pooler.dense.weight", "model-00001-of-00002.safetensors"]
    ) {
      _ = try ModelWeights(url: index)
    }
  }

  @Test(arguments: ["../model.safetensors", "/etc/passwd", ""])
  func shardIndexWithAPathOutsideTheFolder(shard: String) throws {
    let dir = try TemporaryDirectory()
    let index = try writeShards(dir, index: #"{"weight_map": {"x": "\#(shard)"}}"#)
    expectPhotonError(.invalidFile, mentioning: ["weight_map['x']", "not a file name"]) {
      _ = try ModelWeights(url: index)
    }
  }

  @Test func shardIndexWithoutWeightMap() throws {
    let dir = try TemporaryDirectory()
    let index = try writeShards(dir, index: #"{"metadata": {}}"#)
    expectPhotonError(.invalidFile, mentioning: ["model.safetensors.index.json", "weight_map"]) {
      _ = try ModelWeights(url: index)
    }
  }

  @Test(arguments: [Float.nan, .infinity, -.infinity])
  func nonFiniteWeightsAreNamedAtLoad(bad: Float) throws {
    let dir = try TemporaryDirectory()
    var values = [Float](repeating: 0.5, count: 37)  // not a multiple of the 16-lane pass
    for index in [36, 20, 3] {
      values[index] = bad
      let url = try dir.write(
        "m\(index).safetensors",
        bytes: SafeTensorsBuilder.file([SafeTensorsBuilder.f32("layer.weight", [37], values)]))
      let scope = try ModelWeights(url: url).scope()
      expectPhotonError(.invalidFile, mentioning: ["m\(index).safetensors", "'layer.weight'", "element \(index)"]) {
        _ = try scope.tensor("layer.weight", shape: [37])
      }
    }
  }

  @Test func firstNonFiniteIndexFindsTheFirst() {
    #expect([Float](repeating: 1, count: 100).firstNonFiniteIndex == nil)
    #expect([Float]().firstNonFiniteIndex == nil)
    var values = [Float](repeating: -3e38, count: 100)  // large but finite: no false alarm
    #expect(values.firstNonFiniteIndex == nil)
    values[99] = .nan
    values[40] = .infinity
    #expect(values.firstNonFiniteIndex == 40)
  }
}
