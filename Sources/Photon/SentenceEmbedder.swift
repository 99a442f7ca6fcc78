import Foundation
import PhotonCore
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
/// let again = try await embedder.embed(["A man is eating food."])  // from async code
/// ```
///
/// Several pipelines can share one device through an ``Engine``:
///
/// ```swift
/// let engine = try Engine(backend: .gpu)
/// let embedder = try SentenceEmbedder(model: miniLM, engine: engine)
/// ```
public final class SentenceEmbedder: Sendable {
  let pipeline: TextPipeline
  let encoder: any EncoderModel
  /// How token vectors become one sentence vector.
  public let pooling: Pooling
  /// Whether embeddings are L2-normalised.
  public let normalize: Bool

  /// Loads the model at `model` onto `engine`, beside the engine's other pipelines.
  ///
  /// - Parameters:
  ///   - model: a Hugging Face model folder (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, MiniLM).
  ///   - engine: the device (or CPU reference) and executor the model shares.
  ///   - maxLength: truncation length in tokens; default: the folder's (sentence-transformers'
  ///     `max_seq_length`, else the tokenizer's `model_max_length`, capped by the positions).
  ///   - precision: how linear weights are stored on the backend (fp32, fp16, int8); nil: the
  ///     folder's own (fp32, or what `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read or an unsupported model.
  public init(model: URL, engine: Engine, maxLength: Int? = nil, precision: Precision? = nil) throws {
    let pipeline = try TextPipeline(
      model: model, engine: engine, maxLength: maxLength, modelPositions: encoderPositions)
    self.pipeline = pipeline
    encoder = try engine.run {
      try ModelRegistry.encoder(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    }
    // Without a sentence-transformers config, mean pooling without normalisation (what
    // sentence-transformers builds for a plain transformers folder).
    pooling = pipeline.folder.sentenceTransformers?.pooling ?? .mean
    normalize = pipeline.folder.sentenceTransformers?.normalize ?? false
  }

  /// Loads the model at `model` onto an engine of its own.
  ///
  /// - Parameters:
  ///   - model: a Hugging Face model folder (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, MiniLM).
  ///   - backend: `.gpu` (OpenCL) or `.cpu` (reference); by default `.gpu` when a device exists.
  ///   - maxLength: truncation length in tokens; default: the folder's.
  ///   - precision: how linear weights are stored on the backend (fp32, fp16, int8); nil: the
  ///     folder's own (fp32, or what `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read, an unsupported model or no device.
  public convenience init(
    model: URL, backend: BackendKind = .preferred, maxLength: Int? = nil, precision: Precision? = nil
  ) throws {
    try self.init(model: model, engine: Engine(backend: backend), maxLength: maxLength, precision: precision)
  }

  /// The engine the model runs on.
  public var engine: Engine { pipeline.engine }
  /// Length of each embedding.
  public var dimension: Int { encoder.hiddenSize }
  /// Inputs are truncated to this many tokens.
  public var maxLength: Int { pipeline.maxLength }
  /// The device or CPU the model runs on.
  public var deviceName: String { pipeline.backend.deviceName }

  /// One embedding per text, in order, computed on the engine's executor (the caller waits). An
  /// empty list returns empty without touching the device.
  ///
  /// - Parameters:
  ///   - texts: the sentences; each is truncated to ``maxLength`` tokens.
  ///   - batchSize: texts run together in one padded batch `[B, T]`.
  /// - Returns: `[texts.count][dimension]` vectors.
  /// - Throws: `PhotonError` `.invalidArgument` for a batch size below 1, or a device error.
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

  /// One embedding per text, in order: ``embed(_:batchSize:)`` queued on the engine's executor;
  /// the calling task suspends without holding a thread until it is done.
  public func embed(_ texts: [String], batchSize: Int = 32) async throws -> [[Float]] {
    try await engine.perform { try self.embed(texts, batchSize: batchSize) }
  }

  /// Token ids of each text as `embed` feeds them (special tokens included).
  public func tokenize(_ texts: [String]) -> [[Int32]] {
    pipeline.encode(texts).map(\.ids)
  }

  /// Cosine similarity of two vectors (accumulated in Double); 0 when either is all zeros.
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
