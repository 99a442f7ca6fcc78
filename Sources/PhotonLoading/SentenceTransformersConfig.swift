import Foundation
import PhotonCore

/// How a sentence-transformers folder turns token vectors into a sentence embedding: `modules.json`
/// (Transformer → Pooling → optional Normalize), the Pooling module's `config.json` and
/// `sentence_bert_config.json`.
public struct SentenceTransformersConfig: Sendable, Equatable {
  public var pooling: Pooling
  /// Whether `modules.json` ends in a `Normalize` module (L2-normalise the embedding).
  public var normalize: Bool
  /// `sentence_bert_config.json`'s `max_seq_length`: inputs are truncated to this many tokens.
  public var maxSeqLength: Int?
  /// The Pooling config's `word_embedding_dimension`, if given.
  public var embeddingDimension: Int?

  public init(pooling: Pooling, normalize: Bool, maxSeqLength: Int?, embeddingDimension: Int?) {
    self.pooling = pooling
    self.normalize = normalize
    self.maxSeqLength = maxSeqLength
    self.embeddingDimension = embeddingDimension
  }

  /// The module types Photon can run, by `modules.json`'s `type`.
  enum ModuleKind: String {
    case transformer = "sentence_transformers.models.Transformer"
    case pooling = "sentence_transformers.models.Pooling"
    case normalize = "sentence_transformers.models.Normalize"
  }

  struct Module: Decodable {
    var idx: Int?
    var name: String?
    var path: String
    var type: String
  }

  struct PoolingFile: Decodable {
    var wordEmbeddingDimension: Int?
    var cls: Bool
    var mean: Bool
    var max: Bool
    var meanSqrtLen: Bool
    var weightedMean: Bool
    var lastToken: Bool
    /// Newer sentence-transformers also accept a single `pooling_mode` string.
    var mode: String?

    enum CodingKeys: String, CodingKey {
      case wordEmbeddingDimension = "word_embedding_dimension"
      case cls = "pooling_mode_cls_token"
      case mean = "pooling_mode_mean_tokens"
      case max = "pooling_mode_max_tokens"
      case meanSqrtLen = "pooling_mode_mean_sqrt_len_tokens"
      case weightedMean = "pooling_mode_weightedmean_tokens"
      case lastToken = "pooling_mode_lasttoken"
      case mode = "pooling_mode"
    }

    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      wordEmbeddingDimension = try c.decodeIfPresent(Int.self, forKey: .wordEmbeddingDimension)
      cls = try c.value(.cls, default: false)
      mean = try c.value(.mean, default: false)
      max = try c.value(.max, default: false)
      meanSqrtLen = try c.value(.meanSqrtLen, default: false)
      weightedMean = try c.value(.weightedMean, default: false)
      lastToken = try c.value(.lastToken, default: false)
      mode = try c.decodeIfPresent(String.self, forKey: .mode)
    }
  }

  struct SentenceBertFile: Decodable {
    var maxSeqLength: Int?
    enum CodingKeys: String, CodingKey { case maxSeqLength = "max_seq_length" }
  }

  /// Reads the sentence-transformers files of `folder`, or returns `nil` if it has no `modules.json`.
  ///
  /// - Throws: `.unsupported` for a module Photon cannot run (e.g. `Dense`) or a pooling mode other
  ///   than mean, cls and max (or several at once); `.invalidFile` for malformed files.
  public static func load(folder: URL) throws -> SentenceTransformersConfig? {
    let modulesURL = folder.appendingPathComponent("modules.json")
    guard FileManager.default.fileExists(atPath: modulesURL.path) else { return nil }
    let modules = try ConfigFile.decode(
      [Module].self, from: ConfigFile.read(modulesURL), file: modulesURL.path)

    var poolingPath: String? = nil
    var normalize = false
    for (i, module) in modules.enumerated() {
      guard let kind = ModuleKind(rawValue: module.type) else {
        throw PhotonError(
          .unsupported,
          "\(modulesURL.path): module [\(i)] (path '\(module.path)') has type '\(module.type)'; supported: Transformer, Pooling, Normalize"
        )
      }
      switch kind {
      case .transformer: break
      case .pooling: poolingPath = module.path
      case .normalize: normalize = true
      }
    }

    var pooling = Pooling.mean
    var dimension: Int? = nil
    if let poolingPath {
      let url = folder.appendingPathComponent(poolingPath).appendingPathComponent("config.json")
      let file = try ConfigFile.decode(PoolingFile.self, from: ConfigFile.read(url), file: url.path)
      pooling = try mode(of: file, path: url.path)
      dimension = file.wordEmbeddingDimension
    }

    var maxSeqLength: Int? = nil
    let bertURL = folder.appendingPathComponent("sentence_bert_config.json")
    if FileManager.default.fileExists(atPath: bertURL.path) {
      let file = try ConfigFile.decode(
        SentenceBertFile.self, from: ConfigFile.read(bertURL), file: bertURL.path)
      if let length = file.maxSeqLength {
        try ConfigCheck.positive(length, "max_seq_length", file: bertURL.path)
      }
      maxSeqLength = file.maxSeqLength
    }
    return SentenceTransformersConfig(
      pooling: pooling, normalize: normalize, maxSeqLength: maxSeqLength,
      embeddingDimension: dimension)
  }

  private static func mode(of file: PoolingFile, path: String) throws -> Pooling {
    if let mode = file.mode {
      switch mode {
      case "mean": return .mean
      case "cls": return .cls
      case "max": return .max
      default:
        throw PhotonError(
          .unsupported,
          "\(path): key 'pooling_mode': '\(mode)' is not supported; supported: mean, cls, max")
      }
    }
    let flags: [(key: String, on: Bool, pooling: Pooling?)] = [
      ("pooling_mode_cls_token", file.cls, .cls),
      ("pooling_mode_mean_tokens", file.mean, .mean),
      ("pooling_mode_max_tokens", file.max, .max),
      ("pooling_mode_mean_sqrt_len_tokens", file.meanSqrtLen, nil),
      ("pooling_mode_weightedmean_tokens", file.weightedMean, nil),
      ("pooling_mode_lasttoken", file.lastToken, nil),
    ]
    let on = flags.filter(\.on)
    guard on.count == 1, let chosen = on[0].pooling else {
      let keys = on.map(\.key).joined(separator: ", ")
      throw PhotonError(
        .unsupported,
        on.isEmpty
          ? "\(path): no pooling mode is true; supported: pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens"
          : "\(path): pooling \(keys) is not supported; supported: exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens"
      )
    }
    return chosen
  }
}
