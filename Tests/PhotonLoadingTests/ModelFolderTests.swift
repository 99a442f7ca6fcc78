import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

@Suite struct ModelFolderTests {
  /// Checks every tensor a model of the folder's architecture reads, by HF name, against the
  /// shapes its config implies.
  @Test(arguments: SafeTensorsTests.tinyModels)
  func everyTinyModelFolderLoadsWithConfigShapes(model: String) throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/\(model)"))
    #expect(folder.weightsURL.lastPathComponent == "model.safetensors")
    #expect(folder.tokenizerURL?.lastPathComponent == "tokenizer.json")
    #expect(folder.tokenizerConfigURL?.lastPathComponent == "tokenizer_config.json")
    #expect(folder.sentenceTransformers == nil)
    let root = try folder.openWeights().scope()

    switch folder.config {
    case .bert(let c), .roberta(let c), .xlmRoberta(let c):
      let (C, I) = (c.hiddenSize, c.intermediateSize)
      let e = root.scope("embeddings")
      #expect(
        try e.tensor("word_embeddings.weight", shape: [c.vocabSize, C]).values.count == c.vocabSize
          * C)
      _ = try e.tensor("position_embeddings.weight", shape: [c.maxPositionEmbeddings, C])
      _ = try e.tensor("token_type_embeddings.weight", shape: [c.typeVocabSize, C])
      _ = try e.tensor("LayerNorm.weight", shape: [C])
      _ = try e.tensor("LayerNorm.bias", shape: [C])
      for i in 0..<c.numHiddenLayers {
        let layer = root.scope("encoder.layer.\(i)")
        for part in ["query", "key", "value"] {
          _ = try layer.tensor("attention.self.\(part).weight", shape: [C, C])
          _ = try layer.tensor("attention.self.\(part).bias", shape: [C])
        }
        _ = try layer.tensor("attention.output.dense.weight", shape: [C, C])
        _ = try layer.tensor("attention.output.LayerNorm.weight", shape: [C])
        _ = try layer.tensor("intermediate.dense.weight", shape: [I, C])
        _ = try layer.tensor("output.dense.weight", shape: [C, I])
        _ = try layer.tensor("output.LayerNorm.bias", shape: [C])
      }
      #expect(!root.contains("encoder.layer.\(c.numHiddenLayers).output.dense.weight"))
      if !c.id2label.isEmpty {
        _ = try root.tensor("classifier.weight", shape: [c.id2label.count, C])
        _ = try root.tensor("classifier.bias", shape: [c.id2label.count])
      }
      if c.architectures == ["BertForMaskedLM"] {
        _ = try root.tensor("cls.predictions.transform.dense.weight", shape: [C, C])
        _ = try root.tensor("cls.predictions.bias", shape: [c.vocabSize])
      }
    case .distilBert(let c):
      let C = c.dim
      _ = try root.tensor("embeddings.word_embeddings.weight", shape: [c.vocabSize, C])
      _ = try root.tensor(
        "embeddings.position_embeddings.weight", shape: [c.maxPositionEmbeddings, C])
      for i in 0..<c.nLayers {
        let layer = root.scope("transformer.layer.\(i)")
        for part in ["q_lin", "k_lin", "v_lin", "out_lin"] {
          _ = try layer.tensor("attention.\(part).weight", shape: [C, C])
        }
        _ = try layer.tensor("sa_layer_norm.weight", shape: [C])
        _ = try layer.tensor("ffn.lin1.weight", shape: [c.hiddenDim, C])
        _ = try layer.tensor("ffn.lin2.weight", shape: [C, c.hiddenDim])
        _ = try layer.tensor("output_layer_norm.bias", shape: [C])
      }
    case .gpt2(let c):
      let C = c.nEmbd
      // GPT2Model's own names; the checkpoint (GPT2LMHeadModel) adds `transformer.`.
      _ = try root.tensor("wte.weight", shape: [c.vocabSize, C])
      _ = try root.tensor("wpe.weight", shape: [c.nPositions, C])
      _ = try root.tensor("ln_f.weight", shape: [C])
      for i in 0..<c.nLayer {
        let block = root.scope("h.\(i)")
        // Conv1D stores [in, out].
        _ = try block.tensor("attn.c_attn.weight", shape: [C, 3 * C])
        _ = try block.tensor("attn.c_proj.weight", shape: [C, C])
        _ = try block.tensor("mlp.c_fc.weight", shape: [C, c.innerSize])
        _ = try block.tensor("mlp.c_proj.weight", shape: [c.innerSize, C])
        _ = try block.tensor("ln_1.weight", shape: [C])
      }
    case .t5(let c):
      let inner = c.numHeads * c.dKV
      _ = try root.tensor("shared.weight", shape: [c.vocabSize, c.dModel])
      for (stack, layers) in [("encoder", c.numLayers), ("decoder", c.numDecoderLayers)] {
        _ = try root.tensor("\(stack).final_layer_norm.weight", shape: [c.dModel])
        _ = try root.tensor(
          "\(stack).block.0.layer.0.SelfAttention.relative_attention_bias.weight",
          shape: [c.relativeAttentionNumBuckets, c.numHeads])
        for i in 0..<layers {
          let attention = root.scope("\(stack).block.\(i).layer.0.SelfAttention")
          _ = try attention.tensor("q.weight", shape: [inner, c.dModel])
          _ = try attention.tensor("o.weight", shape: [c.dModel, inner])
          let ffn = root.scope(
            "\(stack).block.\(i).layer.\(stack == "encoder" ? 1 : 2).DenseReluDense")
          _ = try ffn.tensor("wi.weight", shape: [c.dFF, c.dModel])
          _ = try ffn.tensor("wo.weight", shape: [c.dModel, c.dFF])
        }
      }
      _ = try root.tensor(
        "decoder.block.0.layer.1.EncDecAttention.k.weight", shape: [inner, c.dModel])
    }
  }

  @Test func modelTypesOfTheFixtures() throws {
    let expected: [String: ModelType] = [
      "tiny-bert": .bert, "tiny-distilbert": .distilbert, "tiny-roberta": .roberta,
      "tiny-gpt2": .gpt2, "tiny-t5": .t5,
    ]
    for (model, type) in expected {
      #expect(try ModelFolder(url: Fixtures.url("tiny-models/\(model)")).config.modelType == type)
    }
  }

  // MARK: - Folder errors

  @Test func notADirectory() {
    expectPhotonError(.invalidFile, mentioning: ["config.json", "not a directory"]) {
      _ = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert/config.json"))
    }
  }

  @Test func folderWithoutConfig() throws {
    let dir = try TemporaryDirectory()
    expectPhotonError(.invalidFile, mentioning: [dir.url.path, "no config.json"]) {
      _ = try ModelFolder(url: dir.url)
    }
  }

  @Test func folderWithoutWeights() throws {
    let dir = try TemporaryDirectory()
    try dir.write("config.json", #"{"model_type": "bert"}"#)
    expectPhotonError(.invalidFile, mentioning: ["no model.safetensors"]) {
      _ = try ModelFolder(url: dir.url)
    }
    try dir.write("pytorch_model.bin", "pickle")
    expectPhotonError(.unsupported, mentioning: ["pytorch_model.bin", "safetensors"]) {
      _ = try ModelFolder(url: dir.url)
    }
  }

  @Test func folderWithShardedWeights() throws {
    let dir = try TemporaryDirectory()
    try dir.write(
      "config.json", #"{"model_type": "bert", "hidden_size": 2, "num_attention_heads": 1}"#)
    try dir.write(
      "model-00001-of-00001.safetensors",
      bytes: SafeTensorsBuilder.file([
        SafeTensorsBuilder.f32("bert.pooler.dense.bias", [2], [1, 2])
      ]))
    try dir.write(
      "model.safetensors.index.json",
      #"{"weight_map": {"bert.pooler.dense.bias": "model-00001-of-00001.safetensors"}}"#)
    let folder = try ModelFolder(url: dir.url)
    #expect(folder.weightsURL.lastPathComponent == "model.safetensors.index.json")
    #expect(folder.tokenizerURL == nil)
    #expect(
      try folder.openWeights().scope("pooler.dense").tensor("bias", shape: [2]).values == [1, 2])
  }

  // MARK: - sentence-transformers

  /// tiny-bert's files plus the sentence-transformers ones given.
  func sentenceTransformersFolder(_ files: [String: String]) throws -> TemporaryDirectory {
    let dir = try TemporaryDirectory()
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
      try FileManager.default.createSymbolicLink(
        at: dir.url.appendingPathComponent(name),
        withDestinationURL: Fixtures.url("tiny-models/tiny-bert/\(name)"))
    }
    for (path, text) in files { try dir.write(path, text) }
    return dir
  }

  static let modules = """
    [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
     {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
     {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    """

  static func pooling(cls: Bool = false, mean: Bool = false, max: Bool = false, sqrt: Bool = false)
    -> String
  {
    """
    {"word_embedding_dimension": 64, "pooling_mode_cls_token": \(cls), "pooling_mode_mean_tokens": \(mean),
     "pooling_mode_max_tokens": \(max), "pooling_mode_mean_sqrt_len_tokens": \(sqrt),
     "pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false, "include_prompt": true}
    """
  }

  @Test func sentenceTransformersMeanNormalized() throws {
    let dir = try sentenceTransformersFolder([
      "modules.json": Self.modules, "1_Pooling/config.json": Self.pooling(mean: true),
      "sentence_bert_config.json": #"{"max_seq_length": 256, "do_lower_case": false}"#,
    ])
    let st = try ModelFolder(url: dir.url).sentenceTransformers
    #expect(
      st
        == SentenceTransformersConfig(
          pooling: .mean, normalize: true, maxSeqLength: 256, embeddingDimension: 64))
  }

  @Test func sentenceTransformersClsAndMaxWithoutNormalize() throws {
    let twoModules = """
      [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
       {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
      """
    let cls = try sentenceTransformersFolder([
      "modules.json": twoModules, "1_Pooling/config.json": Self.pooling(cls: true),
    ])
    let clsConfig = try #require(try SentenceTransformersConfig.load(folder: cls.url))
    #expect(clsConfig.pooling == .cls)
    #expect(!clsConfig.normalize)
    #expect(clsConfig.maxSeqLength == nil)
    let max = try sentenceTransformersFolder([
      "modules.json": twoModules, "1_Pooling/config.json": #"{"pooling_mode": "max"}"#,
    ])
    #expect(try SentenceTransformersConfig.load(folder: max.url)?.pooling == .max)
  }

  @Test func sentenceTransformersUnsupportedPieces() throws {
    let sqrt = try sentenceTransformersFolder([
      "modules.json": Self.modules, "1_Pooling/config.json": Self.pooling(sqrt: true),
    ])
    expectPhotonError(
      .unsupported, mentioning: ["1_Pooling/config.json", "pooling_mode_mean_sqrt_len_tokens"]
    ) {
      _ = try ModelFolder(url: sqrt.url)
    }
    let two = try sentenceTransformersFolder([
      "modules.json": Self.modules, "1_Pooling/config.json": Self.pooling(cls: true, mean: true),
    ])
    expectPhotonError(
      .unsupported, mentioning: ["pooling_mode_cls_token, pooling_mode_mean_tokens"]
    ) {
      _ = try ModelFolder(url: two.url)
    }
    let dense = try sentenceTransformersFolder([
      "modules.json":
        #"[{"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]"#
    ])
    expectPhotonError(
      .unsupported, mentioning: ["modules.json", "2_Dense", "sentence_transformers.models.Dense"]
    ) {
      _ = try ModelFolder(url: dense.url)
    }
    let badLength = try sentenceTransformersFolder([
      "modules.json": Self.modules, "1_Pooling/config.json": Self.pooling(mean: true),
      "sentence_bert_config.json": #"{"max_seq_length": "long"}"#,
    ])
    expectPhotonError(.invalidFile, mentioning: ["sentence_bert_config.json", "max_seq_length"]) {
      _ = try ModelFolder(url: badLength.url)
    }
  }

  // MARK: - Hugging Face hub cache

  /// `models--org--tiny-bert` with a blob, a snapshot of symlinks into it, and optionally refs/main.
  func makeCache(
    _ dir: TemporaryDirectory, snapshots: [String], refMain: String?
  ) throws -> URL {
    let repository = try dir.file("hub/models--org--tiny-bert/blobs")
    try FileManager.default.createDirectory(at: repository, withIntermediateDirectories: true)
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
      // Blobs are named by hash in a real cache; the snapshot links to them relatively.
      try FileManager.default.copyItem(
        at: Fixtures.url("tiny-models/tiny-bert/\(name)"),
        to: repository.appendingPathComponent("blob-\(name)"))
    }
    for snapshot in snapshots {
      let folder = try dir.file("hub/models--org--tiny-bert/snapshots/\(snapshot)/x")
        .deletingLastPathComponent()
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      for name in ["config.json", "model.safetensors", "tokenizer.json"] {
        try FileManager.default.createSymbolicLink(
          atPath: folder.appendingPathComponent(name).path,
          withDestinationPath: "../../blobs/blob-\(name)")
      }
    }
    if let refMain { try dir.write("hub/models--org--tiny-bert/refs/main", refMain) }
    return dir.url.appendingPathComponent("hub")
  }

  @Test func hubCacheFollowsRefsMain() throws {
    let dir = try TemporaryDirectory()
    let root = try makeCache(dir, snapshots: ["aaa111", "bbb222"], refMain: "aaa111\n")
    let cache = HubCache(root: root)
    #expect(try cache.snapshot("org/tiny-bert").lastPathComponent == "aaa111")
    #expect(try cache.snapshot("org/tiny-bert", revision: "bbb222").lastPathComponent == "bbb222")
    let folder = try ModelFolder(hubCache: cache, modelID: "org/tiny-bert")
    #expect(folder.config.modelType == .bert)
    #expect(
      try folder.openWeights().scope("embeddings").tensor(
        "word_embeddings.weight", shape: [2965, 64]
      ).shape == [2965, 64])
  }

  @Test func hubCacheWithoutRefsTakesTheOnlyOrNewestSnapshot() throws {
    let only = try TemporaryDirectory()
    let onlyRoot = try makeCache(only, snapshots: ["ccc333"], refMain: nil)
    #expect(try HubCache(root: onlyRoot).snapshot("org/tiny-bert").lastPathComponent == "ccc333")

    let two = try TemporaryDirectory()
    let root = try makeCache(two, snapshots: ["old", "new"], refMain: nil)
    let snapshots = root.appendingPathComponent("models--org--tiny-bert/snapshots")
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSince1970: 1_000_000)],
      ofItemAtPath: snapshots.appendingPathComponent("old").path)
    try FileManager.default.setAttributes(
      [.modificationDate: Date(timeIntervalSince1970: 2_000_000)],
      ofItemAtPath: snapshots.appendingPathComponent("new").path)
    #expect(try HubCache(root: root).snapshot("org/tiny-bert").lastPathComponent == "new")
  }

  @Test func hubCacheErrors() throws {
    let dir = try TemporaryDirectory()
    let root = try makeCache(dir, snapshots: ["aaa111"], refMain: "fff999")
    let cache = HubCache(root: root)
    expectPhotonError(.invalidFile, mentioning: ["refs/main", "'fff999'"]) {
      _ = try cache.snapshot("org/tiny-bert")
    }
    expectPhotonError(.invalidFile, mentioning: ["models--org--other", "'org/other'"]) {
      _ = try cache.snapshot("org/other")
    }
    expectPhotonError(.invalidFile, mentioning: ["'v2'"]) {
      _ = try cache.snapshot("org/tiny-bert", revision: "v2")
    }
    expectPhotonError(.invalidArgument, mentioning: ["'../x'"]) {
      _ = try cache.snapshot("org/tiny-bert", revision: "../x")
    }
    for id in ["a/b/c", "", "org/", "../x"] {
      expectPhotonError(.invalidArgument, mentioning: ["'\(id)'"]) { _ = try cache.snapshot(id) }
    }
  }

  @Test func hubCacheFolderNamesAndDefaultRoot() throws {
    #expect(
      try HubCache.repositoryFolderName("sentence-transformers/all-MiniLM-L6-v2")
        == "models--sentence-transformers--all-MiniLM-L6-v2")
    #expect(try HubCache.repositoryFolderName("gpt2") == "models--gpt2")
    #expect(
      HubCache.default(environment: ["HF_HUB_CACHE": "/a/hub", "HF_HOME": "/b"]).root.path
        == "/a/hub")
    #expect(HubCache.default(environment: ["HF_HOME": "/b"]).root.path == "/b/hub")
    #expect(
      HubCache.default(environment: ["XDG_CACHE_HOME": "/c"]).root.path == "/c/huggingface/hub")
    #expect(HubCache.default(environment: [:]).root.path.hasSuffix("/.cache/huggingface/hub"))
  }
}
