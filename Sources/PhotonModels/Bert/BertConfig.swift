import PhotonCore
import PhotonLoading

/// `config.json` of BERT and its encoder-only relatives that share `modeling_bert.py`'s layout:
/// MiniLM, RoBERTa and XLM-RoBERTa (`model_type` `bert`, `roberta`, `xlm-roberta`).
///
/// Mirrors `transformers.BertConfig` / `RobertaConfig` / `XLMRobertaConfig`: absent keys (or
/// `null`) take HF's defaults for the `model_type`.
public struct BertConfig: ModelConfiguration, Equatable {
  /// The `model_type`s this struct reads: they share the graph and differ in defaults and in how
  /// positions are numbered.
  public enum ModelType: String, Sendable, CaseIterable {
    case bert
    case roberta
    case xlmRoberta = "xlm-roberta"
  }

  public var modelType: ModelType
  public var architectures: [String]
  public var vocabSize: Int
  /// C: the width of every hidden state.
  public var hiddenSize: Int
  public var numHiddenLayers: Int
  /// NH; head size HS = C / NH.
  public var numAttentionHeads: Int
  /// I: the feed-forward inner width.
  public var intermediateSize: Int
  public var hiddenAct: HiddenAct
  public var layerNormEps: Float
  public var maxPositionEmbeddings: Int
  public var typeVocabSize: Int
  public var padTokenID: Int?
  public var bosTokenID: Int?
  public var eosTokenID: Int?
  /// Only `"absolute"` is supported (checked by ``validate(file:)``).
  public var positionEmbeddingType: String
  /// Classifier labels by output row; empty when the config has none.
  public var id2label: [Int: String]
  public var label2id: [String: Int]
  public var problemType: ProblemType?

  enum CodingKeys: String, CodingKey {
    case modelType = "model_type"
    case architectures
    case vocabSize = "vocab_size"
    case hiddenSize = "hidden_size"
    case numHiddenLayers = "num_hidden_layers"
    case numAttentionHeads = "num_attention_heads"
    case intermediateSize = "intermediate_size"
    case hiddenAct = "hidden_act"
    case layerNormEps = "layer_norm_eps"
    case maxPositionEmbeddings = "max_position_embeddings"
    case typeVocabSize = "type_vocab_size"
    case padTokenID = "pad_token_id"
    case bosTokenID = "bos_token_id"
    case eosTokenID = "eos_token_id"
    case positionEmbeddingType = "position_embedding_type"
    case id2label
    case label2id
    case problemType = "problem_type"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let file = decoder.configFile
    let typeName = try c.value(.modelType, default: "bert")
    guard let modelType = ModelType(rawValue: typeName) else {
      throw PhotonError(
        .unsupported,
        "\(file): key 'model_type': BertConfig reads bert, roberta and xlm-roberta, not '\(typeName)'"
      )
    }
    self.modelType = modelType
    // RoBERTa's defaults differ from BERT's: its own vocabulary, <pad> = 1, <s> = 0, </s> = 2.
    let isRoberta = modelType != .bert
    architectures = try c.value(.architectures, default: [])
    vocabSize = try c.value(.vocabSize, default: modelType == .roberta ? 50265 : 30522)
    hiddenSize = try c.value(.hiddenSize, default: 768)
    numHiddenLayers = try c.value(.numHiddenLayers, default: 12)
    numAttentionHeads = try c.value(.numAttentionHeads, default: 12)
    intermediateSize = try c.value(.intermediateSize, default: 3072)
    hiddenAct = try HiddenAct(
      name: c.value(.hiddenAct, default: "gelu"), key: "hidden_act", file: file)
    layerNormEps = Float(try c.value(.layerNormEps, default: 1e-12 as Double))
    maxPositionEmbeddings = try c.value(.maxPositionEmbeddings, default: 512)
    typeVocabSize = try c.value(.typeVocabSize, default: 2)
    padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? (isRoberta ? 1 : 0)
    bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID) ?? (isRoberta ? 0 : nil)
    eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID) ?? (isRoberta ? 2 : nil)
    positionEmbeddingType = try c.value(.positionEmbeddingType, default: "absolute")
    let labels = try LabelMaps(c, id2label: .id2label, label2id: .label2id)
    id2label = labels.id2label
    label2id = labels.label2id
    problemType = try c.decodeIfPresent(ProblemType.self, forKey: .problemType)
  }

  /// RoBERTa and XLM-R number positions from `pad_token_id + 1` (HF
  /// `create_position_ids_from_input_ids`); BERT from 0.
  public var positionsAfterPadding: Bool { modelType != .bert }

  /// Longest input the position table covers: RoBERTa loses `pad_token_id + 1` rows to its offset.
  public var maxSequenceLength: Int {
    positionsAfterPadding ? maxPositionEmbeddings - (padTokenID ?? 1) - 1 : maxPositionEmbeddings
  }

  /// HS: `hidden_size / num_attention_heads`.
  public var headSize: Int { hiddenSize / numAttentionHeads }

  /// Label names in output order (`id2label[0]`, `id2label[1]`, …).
  public var labels: [String] { id2label.keys.sorted().compactMap { id2label[$0] } }

  public func validate(file: String) throws {
    try ConfigCheck.positive(vocabSize, "vocab_size", file: file)
    try ConfigCheck.positive(hiddenSize, "hidden_size", file: file)
    try ConfigCheck.positive(numHiddenLayers, "num_hidden_layers", file: file)
    try ConfigCheck.positive(numAttentionHeads, "num_attention_heads", file: file)
    try ConfigCheck.divisible(
      hiddenSize, "hidden_size", by: numAttentionHeads, "num_attention_heads", file: file)
    try ConfigCheck.positive(intermediateSize, "intermediate_size", file: file)
    try ConfigCheck.positive(layerNormEps, "layer_norm_eps", file: file)
    try ConfigCheck.positive(maxPositionEmbeddings, "max_position_embeddings", file: file)
    try ConfigCheck.positive(typeVocabSize, "type_vocab_size", file: file)
    try ConfigCheck.tokenID(padTokenID, "pad_token_id", vocabSize: vocabSize, file: file)
    guard positionEmbeddingType == "absolute" else {
      throw PhotonError(
        .unsupported,
        "\(file): key 'position_embedding_type': '\(positionEmbeddingType)' is not supported; supported: absolute"
      )
    }
    try LabelMaps.validate(id2label, file: file)
  }
}
