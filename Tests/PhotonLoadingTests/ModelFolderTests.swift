import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

@Suite struct ModelFolderTests {
  // Every tensor a fixture's architecture reads, against its config's shapes: in PhotonModelsTests
  // (FixtureFolderTests), where the config structs are.

  @Test func modelTypesOfTheFixtures() throws {
    let expected = [
      "tiny-bert": "bert", "tiny-distilbert": "distilbert", "tiny-roberta": "roberta",
      "tiny-gpt2": "gpt2", "tiny-t5": "t5",
    ]
    for (model, type) in expected {
      #expect(try ModelFolder(url: Fixtures.url("tiny-models/\(model)")).modelType == type)
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
    #expect(folder.modelType == "bert")
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
