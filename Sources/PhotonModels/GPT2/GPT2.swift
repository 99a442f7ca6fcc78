// GPT-2, as transformers/models/gpt2/modeling_gpt2.py builds it: learned positions, pre-LayerNorm
// blocks (x + attn(ln_1(x)), then + mlp(ln_2(·))), gelu_new, a final ln_f and an LM head tied to
// wte. DistilGPT-2 is the same graph with fewer layers.
import PhotonCore
import PhotonLoading

/// GPT-2's `Conv1D`: a linear layer whose weight is stored `[in, out]` (the transpose of
/// `nn.Linear`). It is transposed once here, at load, into HF's `[out, in]` that every backend's
/// `linearWeight` expects; nothing at run time knows the difference.
///
/// A `photon quantize` folder stores the weight already transposed: I8 `[out, in]` with its
/// `weight_scale` `[out, ceil(in/32)]`, or F16 `[out, in]` (``GPT2Weights/conv1DWeight(in:out:)``).
struct Conv1D: Sendable {
  let linear: Linear

  init(_ p: GPT2Weights, _ name: String, in inFeatures: Int, out outFeatures: Int) throws {
    let scope = p.scope(name)
    linear = Linear(
      weight: try scope.conv1DWeight(in: inFeatures, out: outFeatures),
      bias: try scope.tensor("bias", shape: [outFeatures]))
  }

  func callAsFunction(_ x: Tensor, activation: Activation = .identity, on backend: any Backend)
    throws -> Tensor
  {
    try linear(x, activation: activation, on: backend)
  }
}

/// The keys and values of every layer for one generation, on the model's backend: per layer two
/// `[B, S, C]` tensors allocated once (S = the longest sequence this generation may reach) and
/// filled in place, step by step. Nothing grows and nothing is copied back.
///
/// A batch of prompts of different lengths is left-padded to one length T: row `r` starts with
/// `leftPadding[r]` pad columns. Then the cache also holds the attention mask `[B, S]` (0 on pad
/// columns, uploaded once) and each column `j` of row `r` sits at position `j − leftPadding[r]`, as
/// HF's `position_ids = cumsum(attention_mask) − 1` puts it, so every row computes what it would
/// alone.
public final class KeyValueCache: @unchecked Sendable {
  public let batch: Int
  /// S: positions the cache holds.
  public let capacity: Int
  let keys: [Tensor]
  let values: [Tensor]
  /// Pad columns at the start of each row (all zero: no padding).
  public let leftPadding: [Int]
  /// `[B, S]` int32, 1 = attend (nil without padding).
  let mask: Tensor?
  /// Positions already written (the next token's position).
  public internal(set) var length = 0

  init(
    backend: any Backend, layers: Int, batch: Int, capacity: Int, channels: Int,
    leftPadding: [Int]
  ) throws {
    self.batch = batch
    self.capacity = capacity
    self.leftPadding = leftPadding
    keys = try (0..<layers).map { _ in try backend.zeros(shape: [batch, capacity, channels]) }
    values = try (0..<layers).map { _ in try backend.zeros(shape: [batch, capacity, channels]) }
    if leftPadding.contains(where: { $0 > 0 }) {
      var mask = [Int32](repeating: 1, count: batch * capacity)
      for (r, pad) in leftPadding.enumerated() {
        for j in 0..<pad { mask[r * capacity + j] = 0 }
      }
      self.mask = try backend.tensor(ints: mask, shape: [batch, capacity])
    } else {
      mask = nil
    }
  }

  /// Whether rows are padded (positions and masks per row).
  var isPadded: Bool { mask != nil }
}

/// Causal self-attention: one `c_attn` GEMM makes the packed `[B, T, 3C]` Q|K|V (HF splits it in
/// that order), the fused kernel attends, `c_proj` projects back.
struct GPT2Attention: Sendable {
  let cAttn: Conv1D
  let cProj: Conv1D
  let heads: Int
  let scale: Float

  init(_ p: GPT2Weights, config: GPT2Config, layer: Int) throws {
    let c = config.nEmbd
    cAttn = try Conv1D(p, "c_attn", in: c, out: 3 * c)
    cProj = try Conv1D(p, "c_proj", in: c, out: c)
    heads = config.nHead
    var scale: Float = config.scaleAttnWeights ? 1 / Float(config.headSize).squareRoot() : 1
    if config.scaleAttnByInverseLayerIdx { scale /= Float(layer + 1) }
    self.scale = scale
  }

  /// Without a cache: causal attention over the T tokens given.
  func callAsFunction(_ x: Tensor, on backend: any Backend) throws -> Tensor {
    let qkv = try cAttn(x, on: backend)
    return try cProj(
      backend.attention(AttentionCall(.packed(qkv), heads: heads, scale: scale, masking: .causal)),
      on: backend)
  }

  /// With a cache: the new tokens' keys and values go into rows `start..<start + T`, then the new
  /// queries attend over everything cached. A prefill (start 0) uses the fused causal kernel on
  /// the prompt itself (`prefillMask` `[B, T]`: the pad columns of a padded batch); later steps
  /// read the cache (`cacheMask` `[B, S]`).
  func callAsFunction(
    _ x: Tensor, keys: Tensor, values: Tensor, start: Int, prefillMask: Tensor?,
    cacheMask: Tensor?, on backend: any Backend
  ) throws
    -> Tensor
  {
    let qkv = try cAttn(x, on: backend)
    try backend.writeKeyValueCache(qkv, keyCache: keys, valueCache: values, at: start)
    let context =
      start == 0
      ? try backend.attention(
        AttentionCall(.packed(qkv), heads: heads, scale: scale, mask: prefillMask, masking: .causal))
      : try backend.attention(
        AttentionCall(
          .separate(query: qkv, key: keys, value: values), heads: heads, scale: scale,
          keyLength: start + x.shape[1], mask: cacheMask, masking: .causal))
    return try cProj(context, on: backend)
  }
}

/// `c_fc` with the activation fused into its GEMM, then `c_proj`.
struct GPT2MLP: Sendable {
  let cFc: Conv1D
  let cProj: Conv1D
  let activation: Activation

  init(_ p: GPT2Weights, config: GPT2Config) throws {
    cFc = try Conv1D(p, "c_fc", in: config.nEmbd, out: config.innerSize)
    cProj = try Conv1D(p, "c_proj", in: config.innerSize, out: config.nEmbd)
    activation = config.activationFunction.activation
  }

  func callAsFunction(_ x: Tensor, on backend: any Backend) throws -> Tensor {
    try cProj(cFc(x, activation: activation, on: backend), on: backend)
  }
}

/// Pre-norm block: `x + attn(ln_1(x))`, then `h + mlp(ln_2(h))`.
struct GPT2Block: Sendable {
  let ln1: LayerNorm
  let attn: GPT2Attention
  let ln2: LayerNorm
  let mlp: GPT2MLP

  init(_ p: GPT2Weights, config: GPT2Config, layer: Int) throws {
    ln1 = try p.layerNorm("ln_1", channels: config.nEmbd, eps: config.layerNormEpsilon)
    attn = try GPT2Attention(p.scope("attn"), config: config, layer: layer)
    ln2 = try p.layerNorm("ln_2", channels: config.nEmbd, eps: config.layerNormEpsilon)
    mlp = try GPT2MLP(p.scope("mlp"), config: config)
  }

  /// One layer's slice of a cache step: its key and value caches, the first position written and
  /// the masks of a padded batch.
  struct CacheStep {
    var keys: Tensor
    var values: Tensor
    var start: Int
    var prefillMask: Tensor?
    var cacheMask: Tensor?
  }

  func callAsFunction(_ x: Tensor, cache: CacheStep?, on backend: any Backend)
    throws -> Tensor
  {
    let normed = try ln1(x, on: backend)
    let attended =
      if let cache {
        try attn(
          normed, keys: cache.keys, values: cache.values, start: cache.start,
          prefillMask: cache.prefillMask, cacheMask: cache.cacheMask, on: backend)
      } else {
        try attn(normed, on: backend)
      }
    let h = try backend.binary(.add, x, attended)
    return try backend.binary(.add, h, mlp(ln2(h, on: backend), on: backend))
  }
}

/// `GPT2Model`: wte + wpe, the blocks, ln_f. Returns hidden states `[B, T, C]`.
public final class GPT2Model: Sendable {
  public let config: GPT2Config
  public let backend: any Backend
  let wte: Tensor
  let wpe: Tensor
  let blocks: [GPT2Block]
  let lnF: LayerNorm

  /// - Parameters:
  ///   - weights: the checkpoint root (names with or without the `transformer.` prefix).
  ///   - precision: how the `Conv1D` weights are stored (embeddings, biases, norms stay fp32).
  public convenience init(
    weights: WeightScope, config: GPT2Config, backend: any Backend, precision: Precision = .fp32
  ) throws {
    try self.init(GPT2Weights(checkpoint: weights, backend: backend, precision: precision), config: config)
  }

  init(_ p: GPT2Weights, config: GPT2Config) throws {
    self.config = config
    self.backend = p.backend
    wte = try p.tensor("wte.weight", shape: [config.vocabSize, config.nEmbd])
    wpe = try p.tensor("wpe.weight", shape: [config.nPositions, config.nEmbd])
    blocks = try (0..<config.nLayer).map { i in
      try GPT2Block(p.scope("h.\(i)"), config: config, layer: i)
    }
    lnF = try p.layerNorm("ln_f", channels: config.nEmbd, eps: config.layerNormEpsilon)
  }

  /// Checks ids and positions on the host before any device work.
  func validate(ids: [Int32], batch: Int, length: Int, start: Int) throws {
    guard batch > 0, length > 0, ids.count == batch * length else {
      throw PhotonError(
        .invalidInput,
        "GPT-2 needs a non-empty [B, T] batch of ids; got \(ids.count) ids for \(batch)×\(length)")
    }
    guard start + length <= config.nPositions else {
      throw PhotonError(
        .invalidInput,
        "GPT-2 input reaches \(start + length) tokens, longer than its n_positions = \(config.nPositions)"
      )
    }
    if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
      throw PhotonError(
        .invalidInput,
        "token id \(ids[bad]) at flat index \(bad) is outside the vocabulary [0, \(config.vocabSize))"
      )
    }
  }

  /// Hidden states `[B, T, C]` of `ids` (`[B, T]` row-major), recomputed from scratch (no cache).
  public func forward(ids: [Int32], batch: Int = 1) throws -> Tensor {
    let length = ids.count / max(batch, 1)
    try validate(ids: ids, batch: batch, length: length, start: 0)
    var hidden = try backend.gather(
      wte, ids: backend.tensor(ints: ids, shape: [batch, length]), positionTable: wpe, firstPosition: 0)
    for block in blocks { hidden = try block(hidden, cache: nil, on: backend) }
    return try lnF(hidden, on: backend)
  }

  /// A cache for `batch` sequences of up to `capacity` tokens (at most `n_positions`).
  /// - Parameter leftPadding: pad columns at the start of each row (`[B]`; nil: none), for a
  ///   batch of prompts of different lengths left-padded to one length.
  public func makeCache(batch: Int, capacity: Int, leftPadding: [Int]? = nil) throws
    -> KeyValueCache
  {
    guard batch > 0, capacity > 0, capacity <= config.nPositions else {
      throw PhotonError(
        .invalidArgument,
        "a KV cache needs 1 ≤ capacity ≤ n_positions = \(config.nPositions) and a positive batch; got capacity \(capacity), batch \(batch)"
      )
    }
    let padding = leftPadding ?? [Int](repeating: 0, count: batch)
    guard padding.count == batch, padding.allSatisfy({ $0 >= 0 && $0 < capacity }) else {
      throw PhotonError(
        .invalidArgument,
        "left padding needs one count in [0, \(capacity)) per row of the batch of \(batch); got \(padding)"
      )
    }
    return try KeyValueCache(
      backend: backend, layers: config.nLayer, batch: batch, capacity: capacity,
      channels: config.nEmbd, leftPadding: padding)
  }

  /// Runs the new tokens `ids` (`[B, T]`) at positions `cache.length..<cache.length + T`, writing
  /// their keys and values into `cache`; returns their hidden states `[B, T, C]`.
  public func forward(ids: [Int32], cache: KeyValueCache) throws -> Tensor {
    let length = ids.count / max(cache.batch, 1)
    let start = cache.length
    try validate(ids: ids, batch: cache.batch, length: length, start: start)
    guard start + length <= cache.capacity else {
      throw PhotonError(
        .invalidInput,
        "\(start + length) tokens do not fit the KV cache of \(cache.capacity) positions")
    }
    var hidden: Tensor
    var prefillMask: Tensor?
    if cache.isPadded {
      // Padded rows: positions differ per row, so wte[ids] and wpe[positions] are two plain
      // lookups (against a zero table) and a sum; ids, positions (and the prefill's mask) go up
      // in one transfer.
      let shape = [cache.batch, length]
      var positions = [Int32](repeating: 0, count: ids.count)
      var mask = [Int32](repeating: 1, count: ids.count)
      for (r, pad) in cache.leftPadding.enumerated() {
        for t in 0..<length {
          positions[r * length + t] = Int32(max(0, start + t - pad))
          if start + t < pad { mask[r * length + t] = 0 }
        }
      }
      var groups = [(values: ids, shape: shape), (values: positions, shape: shape)]
      if start == 0 { groups.append((values: mask, shape: shape)) }
      let inputs = try backend.tensors(ints: groups)
      hidden = try backend.binary(.add, backend.gather(wte, ids: inputs[0]), backend.gather(wpe, ids: inputs[1]))
      prefillMask = start == 0 ? inputs[2] : nil
    } else {
      hidden = try backend.gather(
        wte, ids: backend.tensor(ints: ids, shape: [cache.batch, length]), positionTable: wpe,
        firstPosition: start)
    }
    for (i, block) in blocks.enumerated() {
      let step = GPT2Block.CacheStep(
        keys: cache.keys[i], values: cache.values[i], start: start, prefillMask: prefillMask,
        cacheMask: cache.mask)
      hidden = try block(hidden, cache: step, on: backend)
    }
    cache.length = start + length
    return try lnF(hidden, on: backend)
  }
}

/// `GPT2LMHeadModel`: ``GPT2Model`` and an LM head whose weight is `wte` (tied; HF saves no
/// `lm_head.weight` then, and no bias ever).
///
/// Precision: every `Conv1D` weight and the LM head are stored at the chosen ``Precision``. The
/// head is tied to `wte`, but the backend holds two copies of it: the head's weight at that
/// precision (50257 × 768 for GPT-2: the largest weight, read whole at every decode step) and the
/// embedding table `wte` in fp32 for the token lookup. Only the head's copy is rounded, so input
/// embeddings are exact at every precision.
public final class GPT2LMHeadModel: Sendable {
  public let transformer: GPT2Model
  let lmHead: LinearWeight
  /// How the linear weights (blocks and LM head) are stored.
  public let precision: Precision

  /// - Parameter precision: how the `Conv1D` weights and the LM head's copy of `wte` are stored
  ///   (the embedding tables, biases and norms stay fp32).
  public convenience init(
    weights: WeightScope, config: GPT2Config, backend: any Backend, precision: Precision = .fp32
  ) throws {
    try self.init(GPT2Weights(checkpoint: weights, backend: backend, precision: precision), config: config)
  }

  /// GPT-2 of `config`'s shape with seeded random weights drawn as HF's `_init_weights` draws
  /// them (normal(0, 0.02), `c_proj` weights scaled by 1/√(2·n_layer), LayerNorms 1 and 0, biases
  /// 0): for measuring speed at real sizes without a checkpoint. The same seed gives the same
  /// weights on every backend and machine.
  public convenience init(
    randomWeights config: GPT2Config, seed: UInt64, backend: any Backend, precision: Precision = .fp32
  ) throws {
    try self.init(
      GPT2Weights(random: seed, layers: config.nLayer, backend: backend, precision: precision),
      config: config)
  }

  init(_ weights: GPT2Weights, config: GPT2Config) throws {
    transformer = try GPT2Model(weights, config: config)
    let (v, c) = (config.vocabSize, config.nEmbd)
    // Tied unless the config unties it and the checkpoint has its own head.
    let name =
      !config.tieWordEmbeddings && weights.contains("lm_head.weight")
      ? "lm_head.weight" : "wte.weight"
    // The head's own copy of the weight, at the model's precision; `wte` (the lookup table) was
    // uploaded in fp32 by GPT2Model.
    lmHead = try weights.linearWeight(weights.values(name, shape: [v, c]), outFeatures: v, inFeatures: c)
    precision = weights.precision
  }

  public var config: GPT2Config { transformer.config }
  public var backend: any Backend { transformer.backend }

  /// Logits `[B, T, V]` for every position of `ids`, recomputed from scratch.
  public func logits(ids: [Int32], batch: Int = 1) throws -> Tensor {
    try backend.linear(
      transformer.forward(ids: ids, batch: batch), lmHead, bias: nil, activation: .identity)
  }

  /// A KV cache for one generation (see ``GPT2Model/makeCache(batch:capacity:leftPadding:)``).
  public func makeCache(batch: Int = 1, capacity: Int, leftPadding: [Int]? = nil) throws
    -> KeyValueCache
  {
    try transformer.makeCache(batch: batch, capacity: capacity, leftPadding: leftPadding)
  }

  /// The LM head alone: logits `[B, T, V]` of hidden states `[B, T, C]` (after `ln_f`). For
  /// profiling the head's share of a decode step.
  public func lmHeadLogits(hidden: Tensor) throws -> Tensor {
    try backend.linear(hidden, lmHead, bias: nil, activation: .identity)
  }

  /// Feeds new tokens `ids` (`[B, T]`: the prompt, then one token per step) through the cache and
  /// returns the logits of the last of them, `[B, 1, V]`: the LM head runs on one row per sequence.
  public func nextTokenLogits(ids: [Int32], cache: KeyValueCache) throws -> Tensor {
    let hidden = try transformer.forward(ids: ids, cache: cache)
    let last = try backend.selectPosition(hidden, hidden.shape[1] - 1)
    return try backend.linear(last, lmHead, bias: nil, activation: .identity)
  }
}
