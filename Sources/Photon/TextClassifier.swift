import Foundation
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// A label and its score.
public struct LabelScore: Sendable, Equatable, Codable {
  public var label: String
  public var score: Float

  public init(label: String, score: Float) {
    self.label = label
    self.score = score
  }
}

/// Text classification with a sequence-classification head, like HF's text-classification
/// pipeline: softmax over the labels (single-label), a sigmoid per label when the config says
/// `"problem_type": "multi_label_classification"`, raw logits for `"regression"`.
public final class TextClassifier: Sendable {
  let pipeline: TextPipeline
  let model: any SequenceClassifierModel
  public let labels: [String]
  public let scoring: Scoring

  /// How logits become scores.
  public enum Scoring: String, Sendable {
    case softmax, sigmoid, identity
  }

  /// - Parameter precision: how linear weights are stored on the backend (fp32, fp16 or int8); nil:
  ///   the folder's own (fp32, or what `photon quantize` wrote).
  public init(
    model: URL, backend: BackendKind = .preferred, maxLength: Int? = nil, precision: Precision? = nil
  ) throws {
    pipeline = try TextPipeline(model: model, backend: backend, maxLength: maxLength, modelPositions: encoderPositions)
    self.model = try ModelRegistry.sequenceClassifier(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    labels = self.model.labels.isEmpty ? ["LABEL_0"] : self.model.labels
    switch self.model.problemType {
    case .multiLabelClassification: scoring = .sigmoid
    case .regression: scoring = .identity
    case .singleLabelClassification, nil: scoring = .softmax
    }
  }

  /// For each text, the `topK` best labels with their scores, best first (all labels when nil).
  public func classify(_ texts: [String], topK: Int? = 1, batchSize: Int = 32) throws -> [[LabelScore]] {
    if let topK, topK < 1 { throw PhotonError(.invalidArgument, "top-k must be at least 1, got \(topK)") }
    let backend = pipeline.backend
    let count = labels.count
    return try pipeline.run(texts, batchSize: batchSize) { batch, _ in
      let logits = try model.logits(batch)
      let values = try backend.floats(scoring == .softmax ? backend.softmax(logits) : logits)
      return (0..<batch.batchSize).map { row in
        let scores = (0..<count).map { column -> LabelScore in
          let value = values[row * count + column]
          return LabelScore(label: labels[column], score: scoring == .sigmoid ? 1 / (1 + exp(-value)) : value)
        }
        let sorted = scores.sorted { $0.score > $1.score }
        return Array(sorted.prefix(topK ?? count))
      }
    }
  }
}
