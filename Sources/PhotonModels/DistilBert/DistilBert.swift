// DistilBERT, as transformers/models/distilbert/modeling_distilbert.py builds it: BERT's block
// with fewer layers, no token types and no pooler, and its own tensor names.
import PhotonCore
import PhotonLoading

/// Multi-head self-attention (q_lin, k_lin, v_lin stacked into one GEMM) and out_lin.
struct DistilBertAttention: Sendable {
  let queryKeyValue: Linear
  let output: Linear
  let heads: Int
  let scale: Float

  init(_ p: Parameters, config: DistilBertConfig) throws {
    let c = config.dim
    queryKeyValue = try Linear(stacking: ["q_lin", "k_lin", "v_lin"], p, in: c, out: c)
    output = try Linear(p, "out_lin", in: c, out: c)
    heads = config.nHeads
    scale = 1 / Float(config.headSize).squareRoot()
  }

  func callAsFunction(_ hidden: Tensor, mask: Tensor, on backend: any Backend) throws -> Tensor {
    let qkv = try queryKeyValue(hidden, on: backend)
    let context = try backend.attention(AttentionCall(.packed(qkv), heads: heads, scale: scale, mask: mask))
    return try output(context, on: backend)
  }
}

/// attention, Add & Norm (sa_layer_norm), FFN lin1 → activation → lin2, Add & Norm.
struct TransformerBlock: Sendable {
  let attention: DistilBertAttention
  let attentionNorm: LayerNorm
  let lin1: Linear
  let lin2: Linear
  let activation: Activation
  let outputNorm: LayerNorm

  init(_ p: Parameters, config: DistilBertConfig) throws {
    attention = try DistilBertAttention(p.scope("attention"), config: config)
    attentionNorm = try LayerNorm(p, "sa_layer_norm", channels: config.dim, eps: config.layerNormEps)
    lin1 = try Linear(p, "ffn.lin1", in: config.dim, out: config.hiddenDim)
    lin2 = try Linear(p, "ffn.lin2", in: config.hiddenDim, out: config.dim)
    activation = config.activation.activation
    outputNorm = try LayerNorm(p, "output_layer_norm", channels: config.dim, eps: config.layerNormEps)
  }

  func callAsFunction(_ hidden: Tensor, mask: Tensor, on backend: any Backend) throws -> Tensor {
    let attended = try attentionNorm(attention(hidden, mask: mask, on: backend), residual: hidden, on: backend)
    let inner = try lin1(attended, activation: activation, on: backend)
    return try outputNorm(lin2(inner, on: backend), residual: attended, on: backend)
  }
}

/// `DistilBertModel`: embeddings (word + position, LayerNorm) and `transformer.layer.*`.
public final class DistilBertModel: EncoderModel {
  public let config: DistilBertConfig
  public let backend: any Backend
  let wordEmbeddings: Tensor
  let positionEmbeddings: Tensor
  let embeddingNorm: LayerNorm
  let layers: [TransformerBlock]

  /// - Parameter precision: how linear weights are stored (embeddings stay fp32).
  public init(weights: WeightScope, config: DistilBertConfig, backend: any Backend, precision: Precision = .fp32) throws
  {
    self.config = config
    self.backend = backend
    let p = Parameters(scope: weights, backend: backend, precision: precision)
    wordEmbeddings = try p.tensor("embeddings.word_embeddings.weight", shape: [config.vocabSize, config.dim])
    positionEmbeddings = try p.tensor(
      "embeddings.position_embeddings.weight", shape: [config.maxPositionEmbeddings, config.dim])
    embeddingNorm = try LayerNorm(p, "embeddings.LayerNorm", channels: config.dim, eps: config.layerNormEps)
    layers = try (0..<config.nLayers).map { try TransformerBlock(p.scope("transformer.layer.\($0)"), config: config) }
  }

  public var hiddenSize: Int { config.dim }
  public var vocabularySize: Int { config.vocabSize }
  public var maxSequenceLength: Int { config.maxPositionEmbeddings }

  public func forward(_ batch: EncoderBatch, pooler _: Bool) throws -> EncoderOutput {
    try validate(batch, maxLength: maxSequenceLength, vocabulary: config.vocabSize, model: "DistilBERT")
    let shape = [batch.batchSize, batch.length]
    let inputs = try backend.tensors(ints: [
      (batch.ids, shape), (batch.attentionMask, shape), (batch.sequentialPositions, shape),
    ])
    let mask = inputs[1]
    var hidden = try backend.embeddings(
      ids: inputs[0], positions: inputs[2], tokenTypes: nil,
      wordTable: wordEmbeddings, positionTable: positionEmbeddings, tokenTypeTable: nil,
      weight: embeddingNorm.weight, bias: embeddingNorm.bias, eps: embeddingNorm.eps)
    for layer in layers { hidden = try layer(hidden, mask: mask, on: backend) }
    return EncoderOutput(lastHiddenState: hidden, attentionMask: mask, pooled: nil)
  }
}
