import Foundation
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// One candidate for a masked position.
public struct MaskPrediction: Sendable, Equatable, Codable {
  public var score: Float
  public var token: Int32
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
  public let maskToken: String

  /// - Parameter precision: how linear weights are stored on the backend (fp32, fp16 or int8); nil:
  ///   the folder's own (fp32, or what `photon quantize` wrote).
  public init(
    model: URL, backend: BackendKind = .preferred, maxLength: Int? = nil, precision: Precision? = nil
  ) throws {
    pipeline = try TextPipeline(model: model, backend: backend, maxLength: maxLength, modelPositions: encoderPositions)
    self.model = try ModelRegistry.maskedLanguageModel(folder: pipeline.folder, backend: pipeline.backend, precision: precision)
    guard let id = pipeline.tokenizer.maskTokenId, let token = pipeline.tokenizer.token(forId: id) else {
      throw PhotonError(.invalidFile, "\(pipeline.folder.url.path): the tokenizer has no mask token")
    }
    maskToken = token
  }

  /// The `topK` candidates for the first mask token of each text. A text without a mask token is
  /// an error naming its index.
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
}
