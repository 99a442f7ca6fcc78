import Foundation
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// Sentence embeddings, as sentence-transformers computes them: the encoder's last hidden state
/// pooled over real tokens (the folder's pooling mode: mean, [CLS] or max), then L2-normalised
/// when the folder lists a Normalize module.
///
/// ```swift
/// let embedder = try SentenceEmbedder(model: URL(fileURLWithPath: "Models/all-MiniLM-L6-v2"))
/// let vectors = try embedder.embed(["A man is eating food.", "Someone is eating."])
/// ```
public final class SentenceEmbedder: Sendable {
  let pipeline: TextPipeline
  let encoder: any EncoderModel
  /// How token vectors become one sentence vector.
  public let pooling: Pooling
  /// Whether embeddings are L2-normalised.
  public let normalize: Bool

  /// - Parameters:
  ///   - model: a Hugging Face model folder (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, MiniLM).
  ///   - backend: `.gpu` (OpenCL) or `.cpu` (reference); by default `.gpu` when a device exists.
  ///   - maxLength: truncation length in tokens; default: the folder's (see `TextPipeline`).
  ///   - precision: how linear weights are stored on the backend (fp32, fp16, int8); nil: the
  ///     folder's own (fp32, or what `photon quantize` wrote).
  public init(
    model: URL, backend: BackendKind = .preferred, maxLength: Int? = nil, precision: Precision? = nil
  ) throws {
    pipeline = try TextPipeline(model: model, backend: backend, maxLength: maxLength, modelPositions: encoderPositions)
    encoder = try ModelRegistry.encoder(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    // Without a sentence-transformers config, mean pooling without normalisation (what
    // sentence-transformers builds for a plain transformers folder).
    pooling = pipeline.folder.sentenceTransformers?.pooling ?? .mean
    normalize = pipeline.folder.sentenceTransformers?.normalize ?? false
  }

  /// Length of each embedding.
  public var dimension: Int { encoder.hiddenSize }
  /// Inputs are truncated to this many tokens.
  public var maxLength: Int { pipeline.maxLength }
  /// The device or CPU the model runs on.
  public var deviceName: String { pipeline.backend.deviceName }

  /// One embedding per text, in order. An empty list returns empty without touching the device.
  public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
    let backend = pipeline.backend
    return try pipeline.run(texts, batchSize: batchSize) { batch, _ in
      let output = try encoder.forward(batch, pooler: false)
      var pooled = try backend.pool(output.lastHiddenState, mask: output.attentionMask, mode: pooling)
      if normalize { pooled = try backend.normalize(pooled, residual: nil, .l2) }
      let values = try backend.floats(pooled)
      return (0..<batch.batchSize).map { Array(values[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }
  }

  /// Token ids of each text as ``embed(_:batchSize:)`` feeds them (special tokens included).
  public func tokenize(_ texts: [String]) -> [[Int32]] {
    pipeline.encode(texts).map(\.ids)
  }

  /// Cosine similarity of two vectors (accumulated in Double).
  public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var (dot, na, nb) = (0.0, 0.0, 0.0)
    for (x, y) in zip(a, b) {
      dot += Double(x) * Double(y)
      na += Double(x) * Double(x)
      nb += Double(y) * Double(y)
    }
    return Float(dot / max((na * nb).squareRoot(), 1e-24))
  }
}
