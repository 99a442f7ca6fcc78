import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// A labelled stretch of text found by ``TokenClassifier``.
public struct Entity: Sendable, Equatable, Codable {
  /// Entity type without its B-/I- prefix (`PER`, `LOC`).
  public var entityGroup: String
  /// Mean of the member tokens' scores (HF's "simple" aggregation).
  public var score: Float
  /// The member tokens decoded back to text.
  public var word: String
  /// First and one-past-last token index in the encoding (special tokens counted).
  public var startToken: Int
  /// One past the last member token's index.
  public var endToken: Int

  enum CodingKeys: String, CodingKey {
    case entityGroup = "entity_group", score, word
    case startToken = "start_token", endToken = "end_token"
  }
}

/// Token classification (NER) with a token-classification head and HF's "simple" aggregation:
/// consecutive tokens of the same type (B-X then I-X) form one entity; `O` tokens and special
/// tokens are dropped.
public final class TokenClassifier: Sendable {
  let pipeline: TextPipeline
  let model: any TokenClassifierModel
  /// The labels in the head's order (`id2label`: `O`, `B-PER`, `I-PER`, …).
  public let labels: [String]

  /// Loads the model at `model` onto `engine`, beside the engine's other pipelines.
  ///
  /// - Parameters:
  ///   - model: a Hugging Face model folder with the task's head.
  ///   - engine: the device (or CPU reference) and executor the model shares.
  ///   - maxLength: truncation length in tokens; default: the folder's.
  ///   - precision: how linear weights are stored on the backend (fp32, fp16 or int8); nil: the
  ///     folder's own (fp32, or what `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read or an unsupported model.
  public init(model: URL, engine: Engine, maxLength: Int? = nil, precision: Precision? = nil) throws {
    let pipeline = try TextPipeline(
      model: model, engine: engine, maxLength: maxLength, modelPositions: encoderPositions)
    self.pipeline = pipeline
    self.model = try engine.run {
      try ModelRegistry.tokenClassifier(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    }
    labels = self.model.labels
  }

  /// Loads the model at `model` onto an engine of its own.
  ///
  /// - Parameters:
  ///   - model: a Hugging Face model folder with the task's head.
  ///   - backend: `.gpu` (OpenCL) or `.cpu` (reference); by default `.gpu` when a device exists.
  ///   - maxLength: truncation length in tokens; default: the folder's.
  ///   - precision: how linear weights are stored on the backend (fp32, fp16 or int8); nil: the
  ///     folder's own (fp32, or what `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read, an unsupported model or no device.
  public convenience init(
    model: URL, backend: BackendKind = .preferred, maxLength: Int? = nil, precision: Precision? = nil
  ) throws {
    try self.init(model: model, engine: Engine(backend: backend), maxLength: maxLength, precision: precision)
  }

  /// The engine the model runs on.
  public var engine: Engine { pipeline.engine }

  /// The entities of each text, in order of appearance, computed on the engine's executor (the
  /// caller waits).
  ///
  /// - Throws: `PhotonError` `.invalidArgument` for a batch size below 1.
  public func entities(_ texts: [String], batchSize: Int = 32) throws -> [[Entity]] {
    let backend = pipeline.backend
    let count = labels.count
    return try pipeline.run(texts, batchSize: batchSize) { batch, encodings in
      let probabilities = try backend.floats(backend.softmax(model.logits(batch)))
      return encodings.enumerated().map { row, encoding in
        var entities: [Entity] = []
        var members: [(index: Int, score: Float)] = []
        var group = ""
        func close() {
          guard !members.isEmpty else { return }
          let ids = members.map { encoding.ids[$0.index] }
          entities.append(
            Entity(
              entityGroup: group, score: members.map(\.score).reduce(0, +) / Float(members.count),
              word: pipeline.tokenizer.decode(ids), startToken: members[0].index,
              endToken: members[members.count - 1].index + 1))
          members = []
        }
        for t in 0..<encoding.count {
          let base = (row * batch.length + t) * count
          let scores = probabilities[base..<(base + count)]
          let best = scores.indices.max { scores[$0] < scores[$1] }! - base
          let label = labels[best]
          if encoding.specialTokensMask[t] != 0 || label == "O" {
            close()
            continue
          }
          let isBegin = label.hasPrefix("B-")
          let type = label.hasPrefix("B-") || label.hasPrefix("I-") ? String(label.dropFirst(2)) : label
          if isBegin || type != group { close() }
          group = type
          members.append((t, scores[base + best]))
        }
        close()
        return entities
      }
    }
  }

  /// ``entities(_:batchSize:)`` queued on the engine's executor; the calling task suspends without
  /// holding a thread until it is done.
  public func entities(_ texts: [String], batchSize: Int = 32) async throws -> [[Entity]] {
    try await engine.perform { try self.entities(texts, batchSize: batchSize) }
  }
}
