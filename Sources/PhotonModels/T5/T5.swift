// T5, as transformers/models/t5/modeling_t5.py builds it: a shared embedding table (no positions),
// pre-norm blocks with T5's RMS layer norm, attention without 1/√d whose relative position bias
// (bucketed: bidirectional in the encoder, unidirectional in the decoder) is computed by layer 0
// and shared by every layer, decoder cross-attention, a ReLU or gated-GELU FFN, and an LM head
// tied to `shared` with the d_model^-0.5 output scaling.
import Foundation
import PhotonCore
import PhotonLoading

/// `T5LayerNorm`: `x / √(mean(x²) + eps) · weight` (no mean subtracted, no bias).
struct T5LayerNorm: Sendable {
  let weight: Tensor
  let eps: Float

  init(_ p: Parameters, _ name: String, channels: Int, eps: Float) throws {
    weight = try p.tensor("\(name).weight", shape: [channels])
    self.eps = eps
  }

  func callAsFunction(_ x: Tensor, on backend: any Backend) throws -> Tensor {
    try backend.normalize(x, residual: nil, .rms(weight: weight, eps: eps))
  }
}

/// Layer 0's `relative_attention_bias` (`[buckets, NH]`), kept on the host: the bias of a pass,
/// `[NH, Tq, Tk]`, depends only on the lengths, so it is computed here once per pass (per
/// generation for the decoder) and uploaded once, then read by every layer, as HF shares it.
public struct T5RelativePositionBias: Sendable {
  /// `[buckets, NH]`, as stored.
  let table: [Float]
  let buckets: Int
  let maxDistance: Int
  let heads: Int
  let bidirectional: Bool

  init(_ p: Parameters, config: T5Config, bidirectional: Bool) throws {
    table = try p.values(
      "relative_attention_bias.weight", shape: [config.relativeAttentionNumBuckets, config.numHeads])
    buckets = config.relativeAttentionNumBuckets
    maxDistance = config.relativeAttentionMaxDistance
    heads = config.numHeads
    self.bidirectional = bidirectional
  }

  /// `T5Attention._relative_position_bucket` for `relative = key position − query position`.
  /// Half the buckets are exact offsets, the rest grow logarithmically up to `maxDistance`; the
  /// logarithm is taken in Float32, as PyTorch does on its float32 tensor, so boundary offsets
  /// fall into the same bucket.
  public static func bucket(relative: Int, bidirectional: Bool, buckets: Int, maxDistance: Int)
    -> Int
  {
    var numBuckets = buckets
    var bucket = 0
    var distance: Int
    if bidirectional {
      numBuckets /= 2
      if relative > 0 { bucket += numBuckets }
      distance = abs(relative)
    } else {
      distance = -min(relative, 0)
    }
    let maxExact = numBuckets / 2
    if distance < maxExact { return bucket + distance }
    let ratio = Float(distance) / Float(maxExact)
    let scaled =
      Foundation.log(ratio) / Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
      * Float(numBuckets - maxExact)
    return bucket + min(maxExact + Int(scaled), numBuckets - 1)
  }

  /// `[NH, Tq, Tk]` with query `i` at position `i` and key `j` at `j`.
  func values(queryLength: Int, keyLength: Int) -> [Float] {
    var bias = [Float](repeating: 0, count: heads * queryLength * keyLength)
    for i in 0..<queryLength {
      for j in 0..<keyLength {
        let b = Self.bucket(
          relative: j - i, bidirectional: bidirectional, buckets: buckets, maxDistance: maxDistance)
        for h in 0..<heads { bias[(h * queryLength + i) * keyLength + j] = table[b * heads + h] }
      }
    }
    return bias
  }

  func tensor(queryLength: Int, keyLength: Int, on backend: any Backend) throws -> Tensor {
    try backend.tensor(
      values(queryLength: queryLength, keyLength: keyLength),
      shape: [heads, queryLength, keyLength])
  }
}

/// Projections of one `T5Attention` (no biases anywhere in T5). The inner width `NH·d_kv` need
/// not equal `d_model`.
struct T5Attention: Sendable {
  let q: Linear
  let k: Linear
  let v: Linear
  let o: Linear
  let heads: Int

  init(_ p: Parameters, config: T5Config) throws {
    let (c, inner) = (config.dModel, config.numHeads * config.dKV)
    q = try Linear(p, "q", in: c, out: inner, bias: false)
    k = try Linear(p, "k", in: c, out: inner, bias: false)
    v = try Linear(p, "v", in: c, out: inner, bias: false)
    o = try Linear(p, "o", in: inner, out: c, bias: false)
    heads = config.numHeads
  }

  /// Encoder self-attention: bidirectional, with the shared bias and the padding mask.
  func callAsFunction(_ x: Tensor, bias: Tensor, mask: Tensor?, on backend: any Backend) throws
    -> Tensor
  {
    let keys = try k(x, on: backend)
    let context = try backend.attention(
      AttentionCall(
        .separate(query: q(x, on: backend), key: keys, value: v(x, on: backend)), heads: heads, scale: 1,
        mask: mask, positionBias: bias))
    return try o(context, on: backend)
  }

  /// Cross-attention's keys and values of the encoder output, computed once per generation.
  func crossKeyValues(_ encoderOutput: Tensor, on backend: any Backend) throws -> (Tensor, Tensor) {
    (try k(encoderOutput, on: backend), try v(encoderOutput, on: backend))
  }

  /// Cross-attention (`EncDecAttention`): no position bias (HF's is zero there), the encoder's
  /// padding mask, scale 1. (A decode step's single query over a long encoder output is split
  /// across the keys on the device.)
  func cross(_ x: Tensor, keys: Tensor, values: Tensor, mask: Tensor?, on backend: any Backend)
    throws -> Tensor
  {
    let query = try q(x, on: backend)
    let context = try backend.attention(
      AttentionCall(.separate(query: query, key: keys, value: values), heads: heads, scale: 1, mask: mask))
    return try o(context, on: backend)
  }
}

/// The decoder's causal self-attention: q, k and v stacked into one GEMM making the packed
/// `[B, T, 3·inner]` Q|K|V, whose keys and values go into the KV cache on the device.
struct T5CausalSelfAttention: Sendable {
  let qkv: Linear
  let o: Linear
  let heads: Int

  init(_ p: Parameters, config: T5Config) throws {
    let (c, inner) = (config.dModel, config.numHeads * config.dKV)
    // Rows stacked [q; k; v]; a quantized folder's blocks run along the input axis, so their
    // scales stack with them unchanged.
    qkv = Linear(
      weight: try p.linearWeight(["q.weight", "k.weight", "v.weight"], outFeatures: inner, inFeatures: c),
      bias: nil)
    o = try Linear(p, "o", in: inner, out: c, bias: false)
    heads = config.numHeads
  }

  /// The new tokens' keys and values go into rows `start..<start + T`; the new queries attend over
  /// everything cached with the decoder's bias (`[NH, S, S]`, by absolute position).
  func callAsFunction(
    _ x: Tensor, keys: Tensor, values: Tensor, start: Int, bias: Tensor, on backend: any Backend
  ) throws -> Tensor {
    let packed = try qkv(x, on: backend)
    try backend.writeKeyValueCache(packed, keyCache: keys, valueCache: values, at: start)
    let context = try backend.attention(
      AttentionCall(
        .separate(query: packed, key: keys, value: values), heads: heads, scale: 1,
        keyLength: start + x.shape[1], masking: .causal, positionBias: bias))
    return try o(context, on: backend)
  }
}

/// `T5DenseActDense` (`wo(act(wi·x))`, the activation fused into the `wi` GEMM) or, for
/// `gated-ACT` (flan-t5), `T5DenseGatedActDense`: `wo(act(wi_0·x) · wi_1·x)`.
struct T5FeedForward: Sendable {
  let wi: Linear
  /// `wi_1` of the gated form.
  let gate: Linear?
  let wo: Linear
  let activation: Activation

  init(_ p: Parameters, config: T5Config) throws {
    let (c, inner) = (config.dModel, config.dFF)
    if config.isGatedAct {
      wi = try Linear(p, "wi_0", in: c, out: inner, bias: false)
      gate = try Linear(p, "wi_1", in: c, out: inner, bias: false)
    } else {
      wi = try Linear(p, "wi", in: c, out: inner, bias: false)
      gate = nil
    }
    wo = try Linear(p, "wo", in: inner, out: c, bias: false)
    activation = config.denseActivation.activation
  }

  func callAsFunction(_ x: Tensor, on backend: any Backend) throws -> Tensor {
    var hidden = try wi(x, activation: activation, on: backend)
    if let gate { hidden = try backend.binary(.multiply, hidden, gate(x, on: backend)) }
    return try wo(hidden, on: backend)
  }
}

/// `T5LayerFF`: `x + ffn(norm(x))`.
struct T5LayerFF: Sendable {
  let norm: T5LayerNorm
  let ffn: T5FeedForward

  init(_ p: Parameters, config: T5Config, name: String) throws {
    norm = try T5LayerNorm(p, "layer_norm", channels: config.dModel, eps: config.layerNormEpsilon)
    ffn = try T5FeedForward(p.scope(name), config: config)
  }

  func callAsFunction(_ x: Tensor, on backend: any Backend) throws -> Tensor {
    try backend.binary(.add, x, ffn(norm(x, on: backend), on: backend))
  }

  /// `DenseReluDense` whatever the activation: HF keeps that module name for every FFN.
  static let moduleName = "DenseReluDense"
}

/// An encoder `T5Block`: `x + attn(norm(x))`, then the FFN layer.
struct T5EncoderBlock: Sendable {
  let norm: T5LayerNorm
  let attention: T5Attention
  let ff: T5LayerFF

  init(_ p: Parameters, config: T5Config) throws {
    let attention = p.scope("layer.0")
    norm = try T5LayerNorm(
      attention, "layer_norm", channels: config.dModel, eps: config.layerNormEpsilon)
    self.attention = try T5Attention(attention.scope("SelfAttention"), config: config)
    ff = try T5LayerFF(p.scope("layer.1"), config: config, name: T5LayerFF.moduleName)
  }

  func callAsFunction(_ x: Tensor, bias: Tensor, mask: Tensor?, on backend: any Backend) throws
    -> Tensor
  {
    let h = try backend.binary(.add, x, attention(norm(x, on: backend), bias: bias, mask: mask, on: backend))
    return try ff(h, on: backend)
  }
}

/// `T5EncoderModel` (also the encoder of ``T5ForConditionalGeneration``): `shared[ids]`, the
/// blocks with layer 0's bidirectional bias, `final_layer_norm`. Returns `[B, T, d_model]`.
public final class T5EncoderModel: EncoderModel, Sendable {
  public let config: T5Config
  public let backend: any Backend
  let shared: Tensor
  let relativeBias: T5RelativePositionBias
  let blocks: [T5EncoderBlock]
  let finalNorm: T5LayerNorm

  /// - Parameters:
  ///   - weights: the checkpoint root (`shared.weight`, `encoder.block.…`).
  ///   - precision: how the linear weights (q, k, v, o, wi/wi_0/wi_1, wo) are stored; the
  ///     embedding table, norms and relative bias stay fp32.
  public init(
    weights: WeightScope, config: T5Config, backend: any Backend, precision: Precision = .fp32
  ) throws {
    try T5ForConditionalGeneration.checkTensors(weights, config: config, decoder: false)
    let p = Parameters(scope: weights, backend: backend, precision: precision)
    self.config = config
    self.backend = backend
    shared = try p.tensor(
      T5ForConditionalGeneration.embeddingName(weights), shape: [config.vocabSize, config.dModel])
    let encoder = p.scope("encoder")
    relativeBias = try T5RelativePositionBias(
      encoder.scope("block.0.layer.0.SelfAttention"), config: config, bidirectional: true)
    blocks = try (0..<config.numLayers).map { i in
      try T5EncoderBlock(encoder.scope("block.\(i)"), config: config)
    }
    finalNorm = try T5LayerNorm(
      encoder, "final_layer_norm", channels: config.dModel, eps: config.layerNormEpsilon)
  }

  public var hiddenSize: Int { config.dModel }
  public var vocabularySize: Int { config.vocabSize }
  /// T5 has no position table (relative positions): 512 is the length it was trained at, the
  /// `model_max_length` of its tokenizers.
  public var maxSequenceLength: Int { 512 }

  /// Hidden states `[B, T, C]` and the uploaded mask; `pooler` is ignored (T5 has none).
  public func forward(_ batch: EncoderBatch, pooler: Bool = false) throws -> EncoderOutput {
    guard batch.batchSize > 0, batch.length > 0 else {
      throw PhotonError(.invalidInput, "T5 encoder needs a non-empty [B, T] batch of ids")
    }
    if let bad = batch.ids.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
      throw PhotonError(
        .invalidInput,
        "token id \(batch.ids[bad]) at flat index \(bad) is outside the vocabulary [0, \(config.vocabSize))"
      )
    }
    let shape = [batch.batchSize, batch.length]
    let uploaded = try backend.tensors(ints: [(batch.ids, shape), (batch.attentionMask, shape)])
    let bias = try relativeBias.tensor(
      queryLength: batch.length, keyLength: batch.length, on: backend)
    var hidden = try backend.gather(shared, ids: uploaded[0])
    for block in blocks { hidden = try block(hidden, bias: bias, mask: uploaded[1], on: backend) }
    return EncoderOutput(
      lastHiddenState: try finalNorm(hidden, on: backend), attentionMask: uploaded[1], pooled: nil)
  }
}

/// A decoder `T5Block`: causal self-attention, cross-attention, FFN, each `x + f(norm(x))`.
struct T5DecoderBlock: Sendable {
  let selfNorm: T5LayerNorm
  let selfAttention: T5CausalSelfAttention
  let crossNorm: T5LayerNorm
  let crossAttention: T5Attention
  let ff: T5LayerFF

  init(_ p: Parameters, config: T5Config) throws {
    let (first, second) = (p.scope("layer.0"), p.scope("layer.1"))
    let (c, eps) = (config.dModel, config.layerNormEpsilon)
    selfNorm = try T5LayerNorm(first, "layer_norm", channels: c, eps: eps)
    selfAttention = try T5CausalSelfAttention(first.scope("SelfAttention"), config: config)
    crossNorm = try T5LayerNorm(second, "layer_norm", channels: c, eps: eps)
    crossAttention = try T5Attention(second.scope("EncDecAttention"), config: config)
    ff = try T5LayerFF(p.scope("layer.2"), config: config, name: T5LayerFF.moduleName)
  }
}

/// One generation's decoder state on the device: per layer the self-attention KV cache
/// (`[B, S, inner]`, filled in place) and the cross-attention keys and values of the encoder
/// output (computed once), the encoder's mask, and the decoder's position bias `[NH, S, S]`
/// (uploaded once). A decode step uploads only the new ids.
public final class T5DecoderCache: @unchecked Sendable {
  public let batch: Int
  /// S: decoder positions the cache holds.
  public let capacity: Int
  let keys: [Tensor]
  let values: [Tensor]
  let crossKeys: [Tensor]
  let crossValues: [Tensor]
  let encoderMask: Tensor
  let bias: Tensor
  /// Decoder positions already written (the next token's position).
  public internal(set) var length = 0

  init(
    keys: [Tensor], values: [Tensor], crossKeys: [Tensor], crossValues: [Tensor],
    encoderMask: Tensor, bias: Tensor, batch: Int, capacity: Int
  ) {
    self.keys = keys
    self.values = values
    self.crossKeys = crossKeys
    self.crossValues = crossValues
    self.encoderMask = encoderMask
    self.bias = bias
    self.batch = batch
    self.capacity = capacity
  }
}

/// `T5ForConditionalGeneration`: the encoder, the decoder stack, and the LM head.
public final class T5ForConditionalGeneration: Sendable {
  public let config: T5Config
  public let backend: any Backend
  public let encoder: T5EncoderModel
  let decoderBias: T5RelativePositionBias
  let blocks: [T5DecoderBlock]
  let finalNorm: T5LayerNorm
  let lmHead: LinearWeight
  /// How the linear weights are stored.
  public let precision: Precision

  /// - Parameters:
  ///   - weights: the checkpoint root (`shared.weight`, `encoder.…`, `decoder.…`).
  ///   - precision: how every linear weight is stored (q, k, v, o, wi/wi_0/wi_1, wo, and the LM
  ///     head: a copy of `shared` when tied, stored at this precision while the embedding lookup
  ///     keeps the fp32 table). Norms and relative biases stay fp32.
  /// - Throws: `.missingTensor` naming every tensor generation needs that the checkpoint lacks.
  public init(
    weights: WeightScope, config: T5Config, backend: any Backend, precision: Precision = .fp32
  ) throws {
    try Self.checkTensors(weights, config: config, decoder: true)
    self.config = config
    self.backend = backend
    self.precision = precision
    encoder = try T5EncoderModel(
      weights: weights, config: config, backend: backend, precision: precision)
    let decoder = Parameters(scope: weights, backend: backend, precision: precision).scope(
      "decoder")
    decoderBias = try T5RelativePositionBias(
      decoder.scope("block.0.layer.0.SelfAttention"), config: config, bidirectional: false)
    blocks = try (0..<config.numDecoderLayers).map { i in
      try T5DecoderBlock(decoder.scope("block.\(i)"), config: config)
    }
    finalNorm = try T5LayerNorm(
      decoder, "final_layer_norm", channels: config.dModel, eps: config.layerNormEpsilon)
    let (vocab, c) = (config.vocabSize, config.dModel)
    let untied = !config.tieWordEmbeddings && weights.contains("lm_head.weight")
    if untied && !config.scaleDecoderOutputs {
      // An untied, unscaled head is an ordinary linear weight: a `photon quantize` folder stores
      // it quantized and it goes to the backend as stored.
      lmHead = try Parameters(scope: weights, backend: backend, precision: precision).linearWeight(
        ["lm_head.weight"], outFeatures: vocab, inFeatures: c)
      return
    }
    // A tied head (or a scaled one) is float in every checkpoint, quantized folders included, and
    // quantized here after the scaling — what `--precision` does, so both agree bit for bit.
    var head = try weights.tensor(untied ? "lm_head.weight" : Self.embeddingName(weights), shape: [vocab, c])
      .values
    // HF multiplies the decoder output by d_model^-0.5 before lm_head (scale_decoder_outputs; the
    // rule for older configs: unless the embeddings are untied). Folded into the head's weight
    // once here: (x·s)·Wᵀ = x·(s·W)ᵀ, one GEMM fewer per step and the same values within rounding.
    if config.scaleDecoderOutputs {
      let scale = 1 / Float(c).squareRoot()
      head = head.map { $0 * scale }
    }
    lmHead = try backend.linearWeight(
      head, outFeatures: vocab, inFeatures: c, precision: precision)
  }

  /// `shared.weight`, or `encoder.embed_tokens.weight` in checkpoints that saved only that copy.
  static func embeddingName(_ weights: WeightScope) -> String {
    !weights.contains("shared.weight") && weights.contains("encoder.embed_tokens.weight")
      ? "encoder.embed_tokens.weight" : "shared.weight"
  }

  /// Every tensor the graph reads, checked before anything is uploaded so that one error names
  /// all the missing ones (a truncated or encoder-only checkpoint), not just the first.
  static func checkTensors(_ weights: WeightScope, config: T5Config, decoder: Bool) throws {
    let ffn = config.isGatedAct ? ["wi_0", "wi_1", "wo"] : ["wi", "wo"]
    var names = [embeddingName(weights), "encoder.final_layer_norm.weight"]
    names.append("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")
    for i in 0..<config.numLayers {
      let block = "encoder.block.\(i)"
      names += ["q", "k", "v", "o"].map { "\(block).layer.0.SelfAttention.\($0).weight" }
      names += ["\(block).layer.0.layer_norm.weight", "\(block).layer.1.layer_norm.weight"]
      names += ffn.map { "\(block).layer.1.DenseReluDense.\($0).weight" }
    }
    if decoder {
      names += [
        "decoder.final_layer_norm.weight",
        "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      ]
      for i in 0..<config.numDecoderLayers {
        let block = "decoder.block.\(i)"
        names += ["q", "k", "v", "o"].map { "\(block).layer.0.SelfAttention.\($0).weight" }
        names += ["q", "k", "v", "o"].map { "\(block).layer.1.EncDecAttention.\($0).weight" }
        names += (0..<3).map { "\(block).layer.\($0).layer_norm.weight" }
        names += ffn.map { "\(block).layer.2.DenseReluDense.\($0).weight" }
      }
      if !config.tieWordEmbeddings && !weights.contains("lm_head.weight") {
        names.append("lm_head.weight")
      }
    }
    let missing = names.filter { !weights.contains($0) }
    guard missing.isEmpty else {
      let shown = missing.prefix(12).joined(separator: ", ")
      let more = missing.count > 12 ? " and \(missing.count - 12) more" : ""
      throw PhotonError(
        .missingTensor,
        "the checkpoint lacks \(missing.count) tensor(s) T5 \(decoder ? "generation" : "encoding") needs: \(shown)\(more)"
      )
    }
  }

  /// Runs the encoder (``T5EncoderModel``) on a batch: hidden states `[B, T, C]` and its mask.
  public func encode(_ batch: EncoderBatch) throws -> EncoderOutput {
    try encoder.forward(batch)
  }

  /// A decoder cache for one generation over `encoded` (from ``encode(_:)``): `capacity` decoder
  /// positions (the start token included). Cross-attention keys and values are computed here,
  /// once, and the decoder's position bias is uploaded once.
  public func makeCache(encoded: EncoderOutput, capacity: Int) throws -> T5DecoderCache {
    let hidden = encoded.lastHiddenState
    guard capacity > 0, hidden.rank == 3, hidden.shape[2] == config.dModel else {
      throw PhotonError(
        .invalidArgument,
        "a T5 decoder cache needs a positive capacity and encoder states [B, T, \(config.dModel)]; got capacity \(capacity), states \(hidden.shape)"
      )
    }
    let (batch, inner) = (hidden.shape[0], config.numHeads * config.dKV)
    var (keys, values, crossKeys, crossValues) = ([Tensor](), [Tensor](), [Tensor](), [Tensor]())
    for block in blocks {
      keys.append(try backend.zeros(shape: [batch, capacity, inner]))
      values.append(try backend.zeros(shape: [batch, capacity, inner]))
      let (k, v) = try block.crossAttention.crossKeyValues(hidden, on: backend)
      crossKeys.append(k)
      crossValues.append(v)
    }
    return T5DecoderCache(
      keys: keys, values: values, crossKeys: crossKeys, crossValues: crossValues,
      encoderMask: encoded.attentionMask,
      bias: try decoderBias.tensor(queryLength: capacity, keyLength: capacity, on: backend),
      batch: batch, capacity: capacity)
  }

  /// Decoder hidden states `[B, T, C]` of the new decoder tokens `ids` (`[B, T]`) at positions
  /// `cache.length..<cache.length + T`, writing their keys and values into `cache`.
  public func decode(ids: [Int32], cache: T5DecoderCache) throws -> Tensor {
    let length = ids.count / max(cache.batch, 1)
    let start = cache.length
    guard length > 0, ids.count == cache.batch * length else {
      throw PhotonError(
        .invalidInput,
        "T5 decoder needs a non-empty [B, T] batch of ids; got \(ids.count) ids for batch \(cache.batch)"
      )
    }
    guard start + length <= cache.capacity else {
      throw PhotonError(
        .invalidInput,
        "\(start + length) decoder tokens do not fit the cache of \(cache.capacity) positions")
    }
    if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
      throw PhotonError(
        .invalidInput,
        "token id \(ids[bad]) at flat index \(bad) is outside the vocabulary [0, \(config.vocabSize))"
      )
    }
    var hidden = try backend.gather(
      encoder.shared, ids: backend.tensor(ints: ids, shape: [cache.batch, length]))
    for (i, block) in blocks.enumerated() {
      hidden = try backend.binary(
        .add,
        hidden,
        block.selfAttention(
          block.selfNorm(hidden, on: backend), keys: cache.keys[i], values: cache.values[i],
          start: start, bias: cache.bias, on: backend))
      hidden = try backend.binary(
        .add,
        hidden,
        block.crossAttention.cross(
          block.crossNorm(hidden, on: backend), keys: cache.crossKeys[i],
          values: cache.crossValues[i], mask: cache.encoderMask, on: backend))
      hidden = try block.ff(hidden, on: backend)
    }
    cache.length = start + length
    return try finalNorm(hidden, on: backend)
  }

  /// Feeds new decoder tokens (the start token, then one per step) through the cache and returns
  /// the logits of the last of them, `[B, 1, V]`: the LM head runs on one row per sequence.
  public func nextTokenLogits(ids: [Int32], cache: T5DecoderCache) throws -> Tensor {
    let hidden = try decode(ids: ids, cache: cache)
    let last = try backend.selectPosition(hidden, hidden.shape[1] - 1)
    return try backend.linear(last, lmHead, bias: nil, activation: .identity)
  }

  /// Teacher-forced logits `[B, Td, V]` of `decoderIds` (`[B, Td]`) given the encoder input, as
  /// HF's forward with `decoder_input_ids`: one pass through a fresh cache of Td positions.
  public func logits(_ batch: EncoderBatch, decoderIds: [Int32]) throws -> Tensor {
    let cache = try makeCache(
      encoded: encode(batch), capacity: max(1, decoderIds.count / max(batch.batchSize, 1)))
    return try backend.linear(
      decode(ids: decoderIds, cache: cache), lmHead, bias: nil, activation: .identity)
  }
}
