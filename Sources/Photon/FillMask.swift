import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// One candidate for a masked position.
public struct MaskPrediction: Sendable, Equatable, Codable {
  /// The token's probability at the masked position.
  public var score: Float
  /// The token's id.
  public var token: Int32
  /// The token decoded on its own (special tokens kept).
  public var tokenString: String
  /// The input with the mask replaced by this token.
  public var sequence: String

  enum CodingKeys: String, CodingKey {
    case score, token, tokenString = "token_str", sequence
  }
}

/// Fill-mask with a masked-LM head, like HF's fill-mask pipeline: the softmax over the
/// vocabulary at the `[MASK]` position, top-k candidates.
public final class FillMask: Sendable {
  let pipeline: TextPipeline
  let model: any MaskedLanguageModel
  /// The tokenizer's mask token (`[MASK]`, `<mask>`), which each input must contain.
  public let maskToken: String

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
      try ModelRegistry.maskedLanguageModel(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    }
    guard let id = pipeline.tokenizer.maskTokenId, let token = pipeline.tokenizer.token(forId: id) else {
      throw PhotonError(.invalidFile, "\(pipeline.folder.url.path): the tokenizer has no mask token")
    }
    maskToken = token
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

  /// The `topK` candidates for the first mask token of each text, best first, computed on the
  /// engine's executor (the caller waits).
  ///
  /// - Throws: `PhotonError` `.invalidInput` naming the first text without a mask token;
  ///   `.invalidArgument` for a top-k or batch size below 1.
  public func predict(_ texts: [String], topK: Int = 5, batchSize: Int = 32) throws -> [[MaskPrediction]] {
    guard topK >= 1 else { throw PhotonError(.invalidArgument, "top-k must be at least 1, got \(topK)") }
    let tokenizer = pipeline.tokenizer
    let maskId = tokenizer.maskTokenId!
    let encodings = pipeline.encode(texts)
    if let missing = encodings.firstIndex(where: { !$0.ids.contains(maskId) }) {
      throw PhotonError(.invalidInput, "text \(missing) has no \(maskToken) token")
    }
    let backend = pipeline.backend
    let vocabulary = model.vocabularySize
    return try pipeline.run(texts, batchSize: batchSize) { batch, encodings in
      let probabilities = try backend.floats(backend.softmax(model.logits(batch)))
      return encodings.enumerated().map { row, encoding in
        let position = encoding.ids.firstIndex(of: maskId)!
        let base = (row * batch.length + position) * vocabulary
        let best = (0..<vocabulary).sorted { probabilities[base + $0] > probabilities[base + $1] }.prefix(topK)
        return best.map { id in
          var filled = encoding.ids
          filled[position] = Int32(id)
          return MaskPrediction(
            score: probabilities[base + id], token: Int32(id),
            tokenString: tokenizer.decode([Int32(id)], skipSpecialTokens: false),
            sequence: tokenizer.decode(filled))
        }
      }
    }
  }

  /// ``predict(_:topK:batchSize:)`` queued on the engine's executor; the calling task suspends
  /// without holding a thread until it is done.
  public func predict(_ texts: [String], topK: Int = 5, batchSize: Int = 32) async throws -> [[MaskPrediction]] {
    try await engine.perform { try self.predict(texts, topK: topK, batchSize: batchSize) }
  }
}
