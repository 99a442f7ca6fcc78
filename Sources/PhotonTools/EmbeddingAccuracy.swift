import Foundation
import Photon
import PhotonCore

/// The accuracy cost of a weight precision: pooled sentence embeddings at `precision` against
/// fp32 on the same backend, so only the weight storage differs.
///
/// ```swift
/// let report = try EmbeddingAccuracy.measure(model: url, precision: .int8, backend: .cpu, texts: texts)
/// // report.minCosine ≥ 0.999 on all-MiniLM-L6-v2
/// ```
public enum EmbeddingAccuracy {
  /// What `photon accuracy` prints (snake_case keys in JSON).
  public struct Report: Sendable, Codable, Equatable {
    public var model: String
    public var backend: String
    public var precision: String
    /// Number of texts compared.
    public var texts: Int
    /// Smallest and mean cosine similarity of an embedding to its fp32 counterpart.
    public var minCosine: Double
    public var meanCosine: Double
    /// Largest |a − b| over every component of every embedding.
    public var maxAbsDiff: Double

    enum CodingKeys: String, CodingKey {
      case model, backend, precision, texts
      case minCosine = "min_cosine", meanCosine = "mean_cosine", maxAbsDiff = "max_abs_diff"
    }
  }

  /// Embeds `texts` twice on `backend` — fp32 and `precision` weights — and compares.
  /// Throws `.invalidInput` when `texts` is empty (a min over nothing means nothing).
  public static func measure(
    model: URL, precision: Precision, backend: BackendKind = .preferred, maxLength: Int? = nil, texts: [String],
    batchSize: Int = 32
  ) throws -> Report {
    guard !texts.isEmpty else { throw PhotonError(.invalidInput, "accuracy needs at least one text") }
    // One engine: both copies of the model on one device, compiled programs shared.
    let engine = try Engine(backend: backend)
    let reference = try SentenceEmbedder(model: model, engine: engine, maxLength: maxLength, precision: .fp32)
      .embed(texts, batchSize: batchSize)
    let measured = try SentenceEmbedder(model: model, engine: engine, maxLength: maxLength, precision: precision)
      .embed(texts, batchSize: batchSize)
    var (minCosine, sum, maxAbs) = (Double.infinity, 0.0, 0.0)
    for (a, b) in zip(measured, reference) {
      let cosine = Double(SentenceEmbedder.cosine(a, b))
      minCosine = min(minCosine, cosine)
      sum += cosine
      for (x, y) in zip(a, b) { maxAbs = max(maxAbs, Double(abs(x - y))) }
    }
    return Report(
      model: model.lastPathComponent, backend: backend.rawValue, precision: precision.rawValue, texts: texts.count,
      minCosine: minCosine, meanCosine: sum / Double(texts.count), maxAbsDiff: maxAbs)
  }
}
