import PhotonCore
import PhotonLoading

/// `config.json` of GPT-2 (`model_type` `gpt2`); mirrors `transformers.GPT2Config`.
public struct GPT2Config: ModelConfiguration, Equatable {
  public var architectures: [String]
  public var vocabSize: Int
  /// Context length: rows of `wpe`.
  public var nPositions: Int
  /// C.
  public var nEmbd: Int
  public var nLayer: Int
  /// NH; HS = n_embd / n_head.
  public var nHead: Int
  /// `n_inner`; `nil` means 4 · n_embd (see ``innerSize``).
  public var nInner: Int?
  public var activationFunction: HiddenAct
  public var layerNormEpsilon: Float
  public var bosTokenID: Int?
  public var eosTokenID: Int?
  public var padTokenID: Int?
  public var tieWordEmbeddings: Bool
  /// Divide attention scores by √HS (HF default true).
  public var scaleAttnWeights: Bool
  /// Also divide by layer index + 1 (HF default false).
  public var scaleAttnByInverseLayerIdx: Bool

  enum CodingKeys: String, CodingKey {
    case architectures
    case vocabSize = "vocab_size"
    case nPositions = "n_positions"
    case nEmbd = "n_embd"
    case nLayer = "n_layer"
    case nHead = "n_head"
    case nInner = "n_inner"
    case activationFunction = "activation_function"
    case layerNormEpsilon = "layer_norm_epsilon"
    case bosTokenID = "bos_token_id"
    case eosTokenID = "eos_token_id"
    case padTokenID = "pad_token_id"
    case tieWordEmbeddings = "tie_word_embeddings"
    case scaleAttnWeights = "scale_attn_weights"
    case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let file = decoder.configFile
    architectures = try c.value(.architectures, default: [])
    vocabSize = try c.value(.vocabSize, default: 50257)
    nPositions = try c.value(.nPositions, default: 1024)
    nEmbd = try c.value(.nEmbd, default: 768)
    nLayer = try c.value(.nLayer, default: 12)
    nHead = try c.value(.nHead, default: 12)
    nInner = try c.decodeIfPresent(Int.self, forKey: .nInner)
    activationFunction = try HiddenAct(
      name: c.value(.activationFunction, default: "gelu_new"), key: "activation_function",
      file: file)
    layerNormEpsilon = Float(try c.value(.layerNormEpsilon, default: 1e-5 as Double))
    // HF's defaults are 50256 (<|endoftext|>); a `null` in the file means "none".
    bosTokenID =
      c.contains(.bosTokenID) ? try c.decodeIfPresent(Int.self, forKey: .bosTokenID) : 50256
    eosTokenID =
      c.contains(.eosTokenID) ? try c.decodeIfPresent(Int.self, forKey: .eosTokenID) : 50256
    padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID)
    tieWordEmbeddings = try c.value(.tieWordEmbeddings, default: true)
    scaleAttnWeights = try c.value(.scaleAttnWeights, default: true)
    scaleAttnByInverseLayerIdx = try c.value(.scaleAttnByInverseLayerIdx, default: false)
  }

  /// I: `n_inner`, or 4 · n_embd when unset.
  public var innerSize: Int { nInner ?? 4 * nEmbd }

  /// HS: `n_embd / n_head`.
  public var headSize: Int { nEmbd / nHead }

  public func validate(file: String) throws {
    try ConfigCheck.positive(vocabSize, "vocab_size", file: file)
    try ConfigCheck.positive(nPositions, "n_positions", file: file)
    try ConfigCheck.positive(nEmbd, "n_embd", file: file)
    try ConfigCheck.positive(nLayer, "n_layer", file: file)
    try ConfigCheck.positive(nHead, "n_head", file: file)
    try ConfigCheck.divisible(nEmbd, "n_embd", by: nHead, "n_head", file: file)
    if let nInner { try ConfigCheck.positive(nInner, "n_inner", file: file) }
    try ConfigCheck.positive(layerNormEpsilon, "layer_norm_epsilon", file: file)
    try ConfigCheck.tokenID(bosTokenID, "bos_token_id", vocabSize: vocabSize, file: file)
    try ConfigCheck.tokenID(eosTokenID, "eos_token_id", vocabSize: vocabSize, file: file)
  }
}
