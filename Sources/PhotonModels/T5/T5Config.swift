import PhotonCore
import PhotonLoading

/// `config.json` of T5 (`model_type` `t5`); mirrors `transformers.T5Config`.
public struct T5Config: ModelConfiguration, Equatable {
  public var architectures: [String]
  public var vocabSize: Int
  /// C.
  public var dModel: Int
  /// HS: per-head width (NH · HS need not equal C).
  public var dKV: Int
  /// I: the feed-forward inner width.
  public var dFF: Int
  public var numLayers: Int
  /// `num_decoder_layers`, or `num_layers` when unset.
  public var numDecoderLayers: Int
  public var numHeads: Int
  public var relativeAttentionNumBuckets: Int
  public var relativeAttentionMaxDistance: Int
  /// `feed_forward_proj` as written, e.g. `"relu"` or `"gated-gelu"`.
  public var feedForwardProj: String
  /// The FFN activation `feed_forward_proj` names (HF maps `gated-gelu` to `gelu_new`).
  public var denseActivation: HiddenAct
  /// Whether the FFN is gated (`wi_0`, `wi_1`) rather than one `wi`.
  public var isGatedAct: Bool
  public var layerNormEpsilon: Float
  public var tieWordEmbeddings: Bool
  /// Multiply the decoder output by d_model^-0.5 before `lm_head`. transformers 5 writes
  /// `scale_decoder_outputs`; older configs omit it, and the rule is: scale unless
  /// `tie_word_embeddings` is false.
  public var scaleDecoderOutputs: Bool
  public var decoderStartTokenID: Int
  public var eosTokenID: Int?
  public var padTokenID: Int?

  enum CodingKeys: String, CodingKey {
    case architectures
    case vocabSize = "vocab_size"
    case dModel = "d_model"
    case dKV = "d_kv"
    case dFF = "d_ff"
    case numLayers = "num_layers"
    case numDecoderLayers = "num_decoder_layers"
    case numHeads = "num_heads"
    case relativeAttentionNumBuckets = "relative_attention_num_buckets"
    case relativeAttentionMaxDistance = "relative_attention_max_distance"
    case feedForwardProj = "feed_forward_proj"
    case layerNormEpsilon = "layer_norm_epsilon"
    case tieWordEmbeddings = "tie_word_embeddings"
    case scaleDecoderOutputs = "scale_decoder_outputs"
    case decoderStartTokenID = "decoder_start_token_id"
    case eosTokenID = "eos_token_id"
    case padTokenID = "pad_token_id"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let file = decoder.configFile
    architectures = try c.value(.architectures, default: [])
    vocabSize = try c.value(.vocabSize, default: 32128)
    dModel = try c.value(.dModel, default: 512)
    dKV = try c.value(.dKV, default: 64)
    dFF = try c.value(.dFF, default: 2048)
    numLayers = try c.value(.numLayers, default: 6)
    numDecoderLayers = try c.value(.numDecoderLayers, default: numLayers)
    numHeads = try c.value(.numHeads, default: 8)
    relativeAttentionNumBuckets = try c.value(.relativeAttentionNumBuckets, default: 32)
    relativeAttentionMaxDistance = try c.value(.relativeAttentionMaxDistance, default: 128)
    feedForwardProj = try c.value(.feedForwardProj, default: "relu")
    // As T5Config.__init__: "ACT" or "gated-ACT"; "gated-gelu" means gelu_new for legacy reasons.
    let parts = feedForwardProj.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 1 || (parts.count == 2 && parts[0] == "gated") else {
      throw PhotonError(
        .invalidFile,
        "\(file): key 'feed_forward_proj': '\(feedForwardProj)' is not 'ACT' or 'gated-ACT'")
    }
    isGatedAct = parts.count == 2
    let actName =
      feedForwardProj == "gated-gelu" ? "gelu_new" : parts.last.map(String.init) ?? feedForwardProj
    denseActivation = try HiddenAct(name: actName, key: "feed_forward_proj", file: file)
    layerNormEpsilon = Float(try c.value(.layerNormEpsilon, default: 1e-6 as Double))
    tieWordEmbeddings = try c.value(.tieWordEmbeddings, default: true)
    scaleDecoderOutputs = try c.value(.scaleDecoderOutputs, default: tieWordEmbeddings)
    padTokenID = c.contains(.padTokenID) ? try c.decodeIfPresent(Int.self, forKey: .padTokenID) : 0
    eosTokenID = c.contains(.eosTokenID) ? try c.decodeIfPresent(Int.self, forKey: .eosTokenID) : 1
    // HF starts decoding from the pad token when decoder_start_token_id is unset.
    decoderStartTokenID = try c.value(.decoderStartTokenID, default: padTokenID ?? 0)
  }

  public func validate(file: String) throws {
    try ConfigCheck.positive(vocabSize, "vocab_size", file: file)
    try ConfigCheck.positive(dModel, "d_model", file: file)
    try ConfigCheck.positive(dKV, "d_kv", file: file)
    try ConfigCheck.positive(dFF, "d_ff", file: file)
    try ConfigCheck.positive(numLayers, "num_layers", file: file)
    try ConfigCheck.positive(numDecoderLayers, "num_decoder_layers", file: file)
    try ConfigCheck.positive(numHeads, "num_heads", file: file)
    try ConfigCheck.positive(
      relativeAttentionNumBuckets, "relative_attention_num_buckets", file: file)
    try ConfigCheck.positive(
      relativeAttentionMaxDistance, "relative_attention_max_distance", file: file)
    try ConfigCheck.positive(layerNormEpsilon, "layer_norm_epsilon", file: file)
    try ConfigCheck.tokenID(
      decoderStartTokenID, "decoder_start_token_id", vocabSize: vocabSize, file: file)
    try ConfigCheck.tokenID(eosTokenID, "eos_token_id", vocabSize: vocabSize, file: file)
    try ConfigCheck.tokenID(padTokenID, "pad_token_id", vocabSize: vocabSize, file: file)
  }
}
