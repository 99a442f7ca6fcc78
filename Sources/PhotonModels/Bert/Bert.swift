// BERT, as transformers/models/bert/modeling_bert.py builds it. RoBERTa, XLM-RoBERTa and MiniLM
// (all-MiniLM-L6-v2) share this graph; they differ only in how positions are numbered.
import PhotonCore
import PhotonLoading

/// word + position + token-type embeddings, then LayerNorm (dropout is identity at inference).
struct BertEmbeddings: Sendable {
  let wordEmbeddings: Tensor
  let positionEmbeddings: Tensor
  let tokenTypeEmbeddings: Tensor
  let layerNorm: LayerNorm

  init(_ p: Parameters, config: BertConfig) throws {
    let c = config.hiddenSize
    wordEmbeddings = try p.tensor("word_embeddings.weight", shape: [config.vocabSize, c])
    positionEmbeddings = try p.tensor("position_embeddings.weight", shape: [config.maxPositionEmbeddings, c])
    tokenTypeEmbeddings = try p.tensor("token_type_embeddings.weight", shape: [config.typeVocabSize, c])
    layerNorm = try LayerNorm(p, "LayerNorm", channels: c, eps: config.layerNormEps)
  }

  // ids, positions, types: [B, T] → [B, T, C]
  func callAsFunction(ids: Tensor, positions: Tensor, types: Tensor, on backend: any Backend) throws -> Tensor {
    try backend.embeddings(
      ids: ids, positions: positions, tokenTypes: types, wordTable: wordEmbeddings,
      positionTable: positionEmbeddings, tokenTypeTable: tokenTypeEmbeddings, weight: layerNorm.weight,
      bias: layerNorm.bias, eps: layerNorm.eps)
  }
}

/// softmax(Q·Kᵀ/√d + mask)·V over all heads. Query, key and value are stacked into one [3C, C]
/// projection at load, so one GEMM feeds the fused attention kernel a packed [B, T, 3C] tensor.
struct BertSelfAttention: Sendable {
  let queryKeyValue: Linear
  let heads: Int
  let scale: Float

  init(_ p: Parameters, config: BertConfig) throws {
    let c = config.hiddenSize
    queryKeyValue = try Linear(stacking: ["query", "key", "value"], p, in: c, out: c)
    heads = config.numAttentionHeads
    scale = 1 / Float(config.headSize).squareRoot()
  }

  func callAsFunction(_ hidden: Tensor, mask: Tensor, on backend: any Backend) throws -> Tensor {
    let qkv = try queryKeyValue(hidden, on: backend)
    return try backend.attention(AttentionCall(.packed(qkv), heads: heads, scale: scale, mask: mask))
  }
}

/// dense, then LayerNorm of (that + the block's input): "Add & Norm".
struct BertAddAndNorm: Sendable {
  let dense: Linear
  let layerNorm: LayerNorm

  init(_ p: Parameters, in inFeatures: Int, config: BertConfig) throws {
    dense = try Linear(p, "dense", in: inFeatures, out: config.hiddenSize)
    layerNorm = try LayerNorm(p, "LayerNorm", channels: config.hiddenSize, eps: config.layerNormEps)
  }

  func callAsFunction(_ x: Tensor, residual: Tensor, on backend: any Backend) throws -> Tensor {
    try layerNorm(dense(x, on: backend), residual: residual, on: backend)
  }
}

/// Self-attention, Add & Norm, position-wise feed-forward (GELU fused into its first GEMM),
/// Add & Norm.
struct BertLayer: Sendable {
  let attention: BertSelfAttention
  let attentionOutput: BertAddAndNorm  // attention.output
  let intermediate: Linear  // intermediate.dense
  let activation: Activation
  let output: BertAddAndNorm  // output

  init(_ p: Parameters, config: BertConfig) throws {
    attention = try BertSelfAttention(p.scope("attention.self"), config: config)
    attentionOutput = try BertAddAndNorm(p.scope("attention.output"), in: config.hiddenSize, config: config)
    intermediate = try Linear(p, "intermediate.dense", in: config.hiddenSize, out: config.intermediateSize)
    activation = config.hiddenAct.activation
    output = try BertAddAndNorm(p.scope("output"), in: config.intermediateSize, config: config)
  }

  func callAsFunction(_ hidden: Tensor, mask: Tensor, on backend: any Backend) throws -> Tensor {
    let context = try attention(hidden, mask: mask, on: backend)
    let attended = try attentionOutput(context, residual: hidden, on: backend)
    let inner = try intermediate(attended, activation: activation, on: backend)
    return try output(inner, residual: attended, on: backend)
  }
}

/// tanh(dense(hidden[:, 0])): the [CLS] summary the classification head reads.
struct BertPooler: Sendable {
  let dense: Linear

  init(_ p: Parameters, config: BertConfig) throws {
    dense = try Linear(p, "dense", in: config.hiddenSize, out: config.hiddenSize)
  }

  func callAsFunction(_ hidden: Tensor, mask: Tensor, on backend: any Backend) throws -> Tensor {
    try backend.unary(.tanh, dense(backend.pool(hidden, mask: mask, mode: .cls), on: backend))
  }
}

/// `BertModel` (and `RobertaModel`): embeddings, a stack of ``BertLayer``s, optional pooler.
public final class BertModel: EncoderModel {
  public let config: BertConfig
  public let backend: any Backend
  /// RoBERTa numbers positions from `pad_token_id + 1`; BERT from 0.
  public let positionsAfterPadding: Bool
  let embeddings: BertEmbeddings
  let layers: [BertLayer]
  let pooler: BertPooler?

  /// - Parameters:
  ///   - weights: the checkpoint root (names with or without the `bert.` / `roberta.` prefix).
  ///   - roberta: number positions as RoBERTa does.
  ///   - precision: how linear weights are stored (embeddings stay fp32).
  public init(
    weights: WeightScope, config: BertConfig, backend: any Backend, roberta: Bool = false, precision: Precision = .fp32
  ) throws {
    self.config = config
    self.backend = backend
    self.positionsAfterPadding = roberta
    let p = Parameters(scope: weights, backend: backend, precision: precision)
    embeddings = try BertEmbeddings(p.scope("embeddings"), config: config)
    layers = try (0..<config.numHiddenLayers).map { i in
      try BertLayer(p.scope("encoder.layer.\(i)"), config: config)
    }
    pooler = weights.contains("pooler.dense.weight") ? try BertPooler(p.scope("pooler"), config: config) : nil
  }

  public var hiddenSize: Int { config.hiddenSize }
  public var vocabularySize: Int { config.vocabSize }
  public var hasPooler: Bool { pooler != nil }

  /// Longest sequence the position table covers (RoBERTa loses `pad_token_id + 1` rows).
  public var maxSequenceLength: Int {
    positionsAfterPadding ? config.maxPositionEmbeddings - Int(padId) - 1 : config.maxPositionEmbeddings
  }

  var padId: Int32 { Int32(config.padTokenID ?? (positionsAfterPadding ? 1 : 0)) }

  /// The encoder's inputs on the device: ids, mask, positions, token types.
  struct Inputs {
    let ids: Tensor, mask: Tensor, positions: Tensor, types: Tensor
  }

  func upload(_ batch: EncoderBatch) throws -> Inputs {
    try validate(batch, maxLength: maxSequenceLength, vocabulary: config.vocabSize, model: "BERT")
    if let bad = batch.tokenTypeIds.firstIndex(where: { $0 < 0 || Int($0) >= config.typeVocabSize }) {
      throw PhotonError(
        .invalidInput,
        "token type id \(batch.tokenTypeIds[bad]) at position \(bad) is outside [0, \(config.typeVocabSize))")
    }
    let shape = [batch.batchSize, batch.length]
    let positions = positionsAfterPadding ? batch.positionsAfterPadding(padId: padId) : batch.sequentialPositions
    // One transfer for all four: a forward pass uploads once and reads back once.
    let tensors = try backend.tensors(ints: [
      (batch.ids, shape), (batch.attentionMask, shape), (positions, shape), (batch.tokenTypeIds, shape),
    ])
    return Inputs(ids: tensors[0], mask: tensors[1], positions: tensors[2], types: tensors[3])
  }

  /// Last hidden state `[B, T, C]` (and the inputs' mask, for pooling).
  func encode(_ inputs: Inputs) throws -> Tensor {
    var hidden = try embeddings(ids: inputs.ids, positions: inputs.positions, types: inputs.types, on: backend)
    for layer in layers { hidden = try layer(hidden, mask: inputs.mask, on: backend) }
    return hidden
  }

  public func forward(_ batch: EncoderBatch, pooler wantsPooler: Bool) throws -> EncoderOutput {
    let inputs = try upload(batch)
    let hidden = try encode(inputs)
    return EncoderOutput(
      lastHiddenState: hidden, attentionMask: inputs.mask,
      pooled: wantsPooler ? try pooler?(hidden, mask: inputs.mask, on: backend) : nil)
  }
}

/// `BertForSequenceClassification`: pooler output → dropout (identity) → classifier.
public final class BertForSequenceClassification: Sendable {
  public let bert: BertModel
  let classifier: Linear
  public let labels: [String]

  public init(weights: WeightScope, config: BertConfig, backend: any Backend, precision: Precision = .fp32) throws {
    bert = try BertModel(weights: weights, config: config, backend: backend, precision: precision)
    guard bert.hasPooler else {
      throw PhotonError(
        .missingTensor,
        "BertForSequenceClassification needs bert.pooler.dense.weight, absent from \(weights.weights.url.lastPathComponent)"
      )
    }
    labels = config.labels
    classifier = try Linear(
      Parameters(scope: weights, backend: backend, precision: precision), "classifier", in: config.hiddenSize,
      out: max(labels.count, 1))
  }

  /// Logits `[B, labels]`.
  public func logits(_ batch: EncoderBatch) throws -> Tensor {
    let output = try bert.forward(batch)
    guard let pooled = output.pooled else { throw PhotonError(.missingTensor, "pooler output missing") }
    return try classifier(pooled, on: bert.backend)
  }
}

/// `BertForTokenClassification`: a classifier on every token's hidden state.
public final class BertForTokenClassification: Sendable {
  public let bert: BertModel
  let classifier: Linear
  public let labels: [String]

  public init(weights: WeightScope, config: BertConfig, backend: any Backend, precision: Precision = .fp32) throws {
    bert = try BertModel(weights: weights, config: config, backend: backend, precision: precision)
    labels = config.labels
    classifier = try Linear(
      Parameters(scope: weights, backend: backend, precision: precision), "classifier", in: config.hiddenSize,
      out: max(labels.count, 1))
  }

  /// Logits `[B, T, labels]`.
  public func logits(_ batch: EncoderBatch) throws -> Tensor {
    try classifier(bert.forward(batch, pooler: false).lastHiddenState, on: bert.backend)
  }
}

/// `BertForMaskedLM`: transform (dense, activation, LayerNorm), then a decoder tied to the word
/// embeddings with its own bias (`cls.predictions.bias`).
public final class BertForMaskedLM: Sendable {
  public let bert: BertModel
  let transform: Linear
  let activation: Activation
  let transformNorm: LayerNorm
  let decoder: Linear

  public init(weights: WeightScope, config: BertConfig, backend: any Backend, precision: Precision = .fp32) throws {
    bert = try BertModel(weights: weights, config: config, backend: backend, precision: precision)
    let p = Parameters(scope: weights, backend: backend, precision: precision).scope("cls.predictions")
    let c = config.hiddenSize
    transform = try Linear(p, "transform.dense", in: c, out: c)
    activation = config.hiddenAct.activation
    transformNorm = try LayerNorm(p, "transform.LayerNorm", channels: c, eps: config.layerNormEps)
    // The decoder's weight is the word-embedding table (tied); checkpoints may also store it.
    // A tied decoder reads the fp32 embedding table, quantized here even in a quantized folder.
    let root = Parameters(scope: weights, backend: backend, precision: precision)
    let tied = !weights.contains("cls.predictions.decoder.weight")
    decoder = Linear(
      weight: try root.linearWeight(
        [tied ? "embeddings.word_embeddings.weight" : "cls.predictions.decoder.weight"], outFeatures: config.vocabSize,
        inFeatures: c, allowFloat: tied),
      bias: try p.tensor("bias", shape: [config.vocabSize]))
  }

  /// Logits over the vocabulary, `[B, T, V]`.
  public func logits(_ batch: EncoderBatch) throws -> Tensor {
    let backend = bert.backend
    let hidden = try bert.forward(batch, pooler: false).lastHiddenState
    let transformed = try transformNorm(transform(hidden, activation: activation, on: backend), on: backend)
    return try decoder(transformed, on: backend)
  }
}
