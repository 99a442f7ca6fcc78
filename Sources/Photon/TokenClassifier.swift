import Foundation
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
  public let labels: [String]

  /// - Parameter precision: how linear weights are stored on the backend (fp32, fp16 or int8); nil:
  ///   the folder's own (fp32, or what `photon quantize` wrote).
  public init(
    model: URL, backend: BackendKind = .preferred, maxLength: Int? = nil, precision: Precision? = nil
  ) throws {
    pipeline = try TextPipeline(model: model, backend: backend, maxLength: maxLength, modelPositions: encoderPositions)
    self.model = try ModelRegistry.tokenClassifier(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    labels = self.model.labels
  }

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
}
