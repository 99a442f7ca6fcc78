import PhotonCore
import PhotonLoading

// T5's registry entry: the encoder stack as an encoder, the whole model for text-to-text.
extension T5ForConditionalGeneration {
  static let architecture = Architecture(
    modelType: "t5", name: "T5", config: T5Config.self,
    // Relative position buckets: no table bounds the input.
    maxPositions: { _ in Int.max },
    flops: nil,
    // q, k, v, o, wi / wi_0 / wi_1, wo: every rank-2 float weight but the embedding tables and
    // `relative_attention_bias` (a `[buckets, heads]` lookup).
    linearWeight: { info, config in
      if info.name == "lm_head.weight" {
        // Used only untied; a scaled head is quantized at load after the scaling (the scale is
        // folded into its weight), so it stays float.
        return !config.tieWordEmbeddings && !config.scaleDecoderOutputs
          && LinearWeightLayout.isRank2FloatWeight(info) ? .linear : nil
      }
      return .linear(info, outside: ["shared", "embed_tokens", "relative_attention_bias"])
    },
    encoder: { config, load in
      // T5EncoderModel: the encoder stack of a T5 checkpoint (full or encoder-only).
      try T5EncoderModel(
        weights: load.weights(), config: config, backend: load.backend, precision: load.precision)
    },
    text2text: { config, load in
      try T5ForConditionalGeneration(
        weights: load.weights(), config: config, backend: load.backend, precision: load.precision)
    })

  /// `T5ForConditionalGeneration` from a T5 folder (`.unsupported` for another `model_type`).
  /// `precision` applies to every linear weight, the LM head included (see
  /// ``init(weights:config:backend:precision:)``); nil means the folder's own (fp32, or what
  /// `photon quantize` wrote it at; see ``PhotonLoading/ModelFolder/loadPrecision(_:)``).
  public convenience init(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws {
    try self.init(
      weights: folder.openWeights().scope(""),
      config: Self.architecture.config(T5Config.self, of: folder), backend: backend,
      precision: folder.loadPrecision(precision))
  }
}

extension T5EncoderModel {
  /// `T5EncoderModel` from a T5 folder (a full checkpoint or an encoder-only one); `precision` as
  /// for ``T5ForConditionalGeneration/init(folder:backend:precision:)``.
  public convenience init(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws {
    try self.init(
      weights: folder.openWeights().scope(""),
      config: T5ForConditionalGeneration.architecture.config(T5Config.self, of: folder),
      backend: backend, precision: folder.loadPrecision(precision))
  }
}

/// The decoder cache of a ``Text2TextModel``: T5's is the only encoder–decoder so far.
public typealias EncoderDecoderCache = T5DecoderCache

extension T5ForConditionalGeneration: Text2TextModel {
  public var vocabularySize: Int { config.vocabSize }
  public var decoderStartTokenID: Int { config.decoderStartTokenID }
  public var eosTokenID: Int? { config.eosTokenID }
  public var padTokenID: Int? { config.padTokenID }
}
