import PhotonCore
import PhotonLoading

/// `config.json` of DistilBERT (`model_type` `distilbert`); mirrors `transformers.DistilBertConfig`.
public struct DistilBertConfig: ModelConfiguration, Equatable {
  public var architectures: [String]
  public var vocabSize: Int
  /// C.
  public var dim: Int
  public var nLayers: Int
  /// NH; HS = dim / n_heads.
  public var nHeads: Int
  /// I: the feed-forward inner width.
  public var hiddenDim: Int
  public var activation: HiddenAct
  public var maxPositionEmbeddings: Int
  /// The checkpoint still stores `embeddings.position_embeddings.weight` (HF fills it with the
  /// sinusoids at init), so models read it the same way either way.
  public var sinusoidalPosEmbds: Bool
  public var padTokenID: Int?
  public var id2label: [Int: String]
  public var label2id: [String: Int]
  public var problemType: ProblemType?

  enum CodingKeys: String, CodingKey {
    case architectures
    case vocabSize = "vocab_size"
    case dim
    case nLayers = "n_layers"
    case nHeads = "n_heads"
    case hiddenDim = "hidden_dim"
    case activation
    case maxPositionEmbeddings = "max_position_embeddings"
    case sinusoidalPosEmbds = "sinusoidal_pos_embds"
    case padTokenID = "pad_token_id"
    case id2label
    case label2id
    case problemType = "problem_type"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let file = decoder.configFile
    architectures = try c.value(.architectures, default: [])
    vocabSize = try c.value(.vocabSize, default: 30522)
    dim = try c.value(.dim, default: 768)
    nLayers = try c.value(.nLayers, default: 6)
    nHeads = try c.value(.nHeads, default: 12)
    hiddenDim = try c.value(.hiddenDim, default: 3072)
    activation = try HiddenAct(
      name: c.value(.activation, default: "gelu"), key: "activation", file: file)
    maxPositionEmbeddings = try c.value(.maxPositionEmbeddings, default: 512)
    sinusoidalPosEmbds = try c.value(.sinusoidalPosEmbds, default: false)
    padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? 0
    let labels = try LabelMaps(c, id2label: .id2label, label2id: .label2id)
    id2label = labels.id2label
    label2id = labels.label2id
    problemType = try c.decodeIfPresent(ProblemType.self, forKey: .problemType)
  }

  /// `modeling_distilbert.py` hard-codes `nn.LayerNorm(eps=1e-12)`; the config has no key for it.
  public var layerNormEps: Float { 1e-12 }

  /// HS: `dim / n_heads`.
  public var headSize: Int { dim / nHeads }

  /// Label names in output order.
  public var labels: [String] { id2label.keys.sorted().compactMap { id2label[$0] } }

  public func validate(file: String) throws {
    try ConfigCheck.positive(vocabSize, "vocab_size", file: file)
    try ConfigCheck.positive(dim, "dim", file: file)
    try ConfigCheck.positive(nLayers, "n_layers", file: file)
    try ConfigCheck.positive(nHeads, "n_heads", file: file)
    try ConfigCheck.divisible(dim, "dim", by: nHeads, "n_heads", file: file)
    try ConfigCheck.positive(hiddenDim, "hidden_dim", file: file)
    try ConfigCheck.positive(maxPositionEmbeddings, "max_position_embeddings", file: file)
    try ConfigCheck.tokenID(padTokenID, "pad_token_id", vocabSize: vocabSize, file: file)
    try LabelMaps.validate(id2label, file: file)
  }
}
