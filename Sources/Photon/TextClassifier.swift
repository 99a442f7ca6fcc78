import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// A label and its score.
public struct LabelScore: Sendable, Equatable, Codable {
  /// The label's name (`id2label` of the config, else `LABEL_i`).
  public var label: String
  /// Its probability (softmax, sigmoid) or raw logit (regression).
  public var score: Float

  /// A label and its score.
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
  /// The labels in the head's order (`id2label`).
  public let labels: [String]
  /// How logits become scores, from the config's `problem_type`.
  public let scoring: Scoring

  /// How logits become scores.
  public enum Scoring: String, Sendable {
    /// Single-label classification: probabilities over the labels.
    case softmax
    /// Multi-label classification: an independent probability per label.
    case sigmoid
    /// Regression: the raw logits.
    case identity
  }

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
      try ModelRegistry.sequenceClassifier(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    }
    labels = self.model.labels.isEmpty ? ["LABEL_0"] : self.model.labels
    switch self.model.problemType {
    case .multiLabelClassification: scoring = .sigmoid
    case .regression: scoring = .identity
    case .singleLabelClassification, nil: scoring = .softmax
    }
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

  /// For each text, the `topK` best labels with their scores, best first (all labels when nil),
  /// computed on the engine's executor (the caller waits).
  ///
  /// - Throws: `PhotonError` `.invalidArgument` for a top-k or batch size below 1.
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

  /// ``classify(_:topK:batchSize:)`` queued on the engine's executor; the calling task suspends
  /// without holding a thread until it is done.
  public func classify(_ texts: [String], topK: Int? = 1, batchSize: Int = 32) async throws -> [[LabelScore]] {
    try await engine.perform { try self.classify(texts, topK: topK, batchSize: batchSize) }
  }
}
