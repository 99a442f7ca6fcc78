/// Which implementation runs the model.
public enum BackendKind: String, Sendable, CaseIterable {
  /// The plain-Swift reference (matrix products through BLAS).
  case cpu
  /// OpenCL: a GPU, or PoCL on machines without one.
  case gpu
}

/// The operations a Transformer encoder and decoder need, with one meaning on every backend.
///
/// Conventions (stated once, used in every shape comment):
/// - Row-major storage; `B` batch, `T` sequence length, `C` channels (hidden size), `NH` heads,
///   `HS = C / NH` head size, `I` intermediate (FFN) size, `V` vocabulary, `K`/`N` GEMM input/output.
/// - Linear weights in Hugging Face's `[out, in]` layout: `y = x·Wᵀ + b`.
/// - Attention masks are int32 `[B, T]`, 1 = attend, 0 = padding; they become the additive mask
///   `(1 - m)·float32.min`, as `transformers` builds it, so a fully padded row attends uniformly.
///
/// Every op validates shapes before doing any work and throws ``PhotonError`` (`.shapeMismatch`,
/// `.invalidArgument`, `.wrongBackend`) instead of trapping.
public protocol Backend: AnyObject, Sendable {
  var kind: BackendKind { get }
  /// Human-readable device description.
  var deviceName: String { get }

  // MARK: Data movement

  /// A float tensor holding `values` (row-major) with `shape`.
  func tensor(_ values: [Float], shape: [Int]) throws -> Tensor
  /// An int32 tensor (ids, masks, positions).
  func tensor(ints values: [Int32], shape: [Int]) throws -> Tensor
  /// Several int32 tensors (ids, mask, positions, …) uploaded together: one transfer on a device.
  func tensors(ints groups: [(values: [Int32], shape: [Int])]) throws -> [Tensor]
  /// The values of a float tensor, read back to the host.
  func floats(_ tensor: Tensor) throws -> [Float]
  /// The values of an int32 tensor, read back to the host.
  func ints(_ tensor: Tensor) throws -> [Int32]
  /// Prepares an fp32 linear weight given in HF's `[out, in]` layout, in this backend's layout.
  /// (Other precisions: ``linearWeight(_:outFeatures:inFeatures:precision:)``.)
  func linearWeight(_ values: [Float], outFeatures: Int, inFeatures: Int) throws -> LinearWeight
  /// An int8 linear weight already quantized (a `photon quantize` folder): q `[N, K]` and fp32
  /// block scales `[N, ceil(K/32)]`, both in HF's row order, as ``Quantization/int8Blocks(_:rows:columns:)``
  /// returns them. The int8 case of ``linearWeight(_:outFeatures:inFeatures:precision:)`` ends here,
  /// so a weight quantized at load and one read from a file are the same on the device.
  func linearWeight(int8 q: [Int8], scales: [Float], outFeatures: Int, inFeatures: Int) throws -> LinearWeight
  /// An fp16 linear weight from IEEE half bit patterns `[N, K]` (HF order); the fp16 case of
  /// ``linearWeight(_:outFeatures:inFeatures:precision:)`` ends here.
  func linearWeight(halfBits: [UInt16], outFeatures: Int, inFeatures: Int) throws -> LinearWeight

  // MARK: Operations

  /// `y = act(x·Wᵀ + b)`. x: `[..., K]`, W: `[N, K]`, b: `[N]`, y: `[..., N]`.
  func linear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation) throws
    -> Tensor
  /// `c[i] = a[i]·b[i]` (or `a[i]·b[i]ᵀ`). a: `[B, M, K]`, b: `[B, K, N]` (`[B, N, K]` when
  /// `transposeB`), c: `[B, M, N]`.
  func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeB: Bool) throws -> Tensor
  /// `LayerNorm(x + residual)` over the last axis with affine `weight` and `bias`.
  /// x, residual, y: `[..., C]`; weight, bias: `[C]`.
  func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, eps: Float) throws
    -> Tensor
  /// Multi-head `softmax(Q·Kᵀ·scale + mask)·V`, heads side by side in the channel axis.
  /// mask: `[B, Tk]` int32 or nil; `causal` lets query `i` see keys `j ≤ i + Tk - Tq`.
  /// Returns `[B, Tq, C]`.
  func attention(_ input: AttentionInput, mask: Tensor?, causal: Bool, heads: Int, scale: Float)
    throws -> Tensor
  /// `LayerNorm(word[ids] + position[positions] + tokenType[tokenTypes])`.
  /// ids, positions, tokenTypes: `[B, T]` int32; tables: `[rows, C]`; returns `[B, T, C]`.
  /// A nil `tokenTypeTable` (DistilBERT) adds nothing; nil `tokenTypes` means all zero.
  func embeddings(
    ids: Tensor, positions: Tensor, tokenTypes: Tensor?, wordTable: Tensor, positionTable: Tensor,
    tokenTypeTable: Tensor?, weight: Tensor, bias: Tensor, eps: Float
  ) throws -> Tensor
  /// Softmax over the last axis.
  func softmax(_ x: Tensor) throws -> Tensor
  /// Element-wise tanh.
  func tanh(_ x: Tensor) throws -> Tensor
  /// Pools `[B, T, C]` to `[B, C]` over positions where `mask` (`[B, T]` int32) is 1.
  func pool(_ x: Tensor, mask: Tensor, mode: Pooling) throws -> Tensor
  /// Divides each row of `[..., C]` by its L2 norm (clamped below at 1e-12, as PyTorch does).
  func l2Normalize(_ x: Tensor) throws -> Tensor

  // MARK: Decoding (text generation; ops in Decoding.swift of each backend, kernels in decode.cl)
  //
  // A KV cache is a float tensor `[B, S, C]` (S = the generation's maximum length) made once by
  // `zeros(shape:)`; `writeKeyValueCache` is the one op that changes a tensor in place.

  /// A float tensor of zeros (KV caches, allocated once per generation).
  func zeros(shape: [Int]) throws -> Tensor
  /// `a + b`, element-wise (the residual stream of pre-norm blocks). a, b, y: same shape.
  func add(_ a: Tensor, _ b: Tensor) throws -> Tensor
  /// `word[ids] + position[firstPosition + t]`, no normalisation (GPT-2's `wte + wpe`).
  /// ids: `[B, T]` int32; tables: `[rows, C]`; returns `[B, T, C]`. Only the ids are uploaded per
  /// decode step: positions are `firstPosition..<firstPosition + T` for every row.
  func tokenEmbeddings(ids: Tensor, wordTable: Tensor, positionTable: Tensor, firstPosition: Int)
    throws -> Tensor
  /// Copies the keys and values of a packed QKV tensor into the caches, in place:
  /// `keyCache[b, start + t] = qkv[b, t, C..<2C]`, `valueCache[b, start + t] = qkv[b, t, 2C..<3C]`.
  /// qkv: `[B, T, 3C]`; caches: `[B, S, C]` with `start + T ≤ S`.
  func writeKeyValueCache(_ qkv: Tensor, keyCache: Tensor, valueCache: Tensor, at start: Int) throws
  /// Causal multi-head attention of `Tq` new queries over the first `length` cached keys: query `i`
  /// sits at position `length − Tq + i` and sees keys `j ≤ length − Tq + i`.
  /// query: `[B, Tq, C]`, or a packed QKV `[B, Tq, 3C]` whose first C columns are read;
  /// caches: `[B, S, C]`; mask: `[B, S]` int32 (first `length` columns read) or nil. Returns `[B, Tq, C]`.
  func cachedAttention(
    query: Tensor, keyCache: Tensor, valueCache: Tensor, length: Int, mask: Tensor?, heads: Int,
    scale: Float
  ) throws -> Tensor
  /// Row `position` of every sequence: x `[B, T, C]` → `[B, 1, C]` (the last prompt position's
  /// hidden state, so the LM head runs on one row, not T).
  func selectPosition(_ x: Tensor, _ position: Int) throws -> Tensor
  /// Index of the largest value along the last axis (the first one on ties, as `torch.argmax`).
  /// x: `[..., V]` → int32 `[...]`; greedy decoding reads back 4 bytes per row.
  func argmax(_ x: Tensor) throws -> Tensor
  /// T5's layer norm: `x / √(mean(x²) + eps) · weight` over the last axis (no mean subtracted,
  /// no bias). x, y: `[..., C]`; weight: `[C]`.
  func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor

  // MARK: T5 (ops in T5Ops.swift of each backend, kernels in t5.cl)

  /// Rows of `table` by id, nothing added: `y[b, t] = table[ids[b, t]]` (T5's `shared` embedding,
  /// which has no positions). ids: `[B, T]` int32; table: `[rows, C]`; returns `[B, T, C]`.
  func gather(_ table: Tensor, ids: Tensor) throws -> Tensor
  /// `a · b`, element-wise (the gated FFN of flan-t5: `gelu_new(wi_0·x) · (wi_1·x)`).
  /// a, b, y: same shape.
  func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor
  /// T5's self-attention: `softmax(Q·Kᵀ·scale + positionBias + mask)·V` per head, for `Tq` queries
  /// that are the last `Tq` of `length` positions (query `i` sits at `length − Tq + i`), over the
  /// first `length` rows of `keys` and `values` (a KV cache, or the keys themselves with
  /// `S = length`). T5 uses `scale` 1: its attention has no 1/√d.
  /// query: `[B, Tq, C]`, or a packed QKV `[B, Tq, 3C]` whose first C columns are read;
  /// keys, values: `[B, S, C]`; positionBias: `[NH, P, P′]` with `P, P′ ≥ length`, indexed by the
  /// query's position and the key's (`bias[h, length − Tq + i, j]`), shared by the batch;
  /// mask: `[B, S]` int32 (first `length` columns read) or nil; `causal` hides keys `j` after the
  /// query's position (left out, weight exactly 0). Returns `[B, Tq, C]`.
  func biasedAttention(
    query: Tensor, keys: Tensor, values: Tensor, length: Int, positionBias: Tensor, mask: Tensor?,
    causal: Bool, heads: Int, scale: Float
  ) throws -> Tensor
}

extension Backend {
  /// Prepares a linear weight given in HF's `[out, in]` layout, stored at `precision` (fp16 as
  /// half, int8 as q8_0 blocks of 32 inputs; see ``Precision``): converted here, the same way for
  /// every backend, then handed to the backend's entry point for that precision. Non-finite
  /// weights throw `.invalidArgument` for fp16 and int8.
  public func linearWeight(_ values: [Float], outFeatures n: Int, inFeatures k: Int, precision: Precision) throws
    -> LinearWeight
  {
    if precision == .fp32 { return try linearWeight(values, outFeatures: n, inFeatures: k) }
    try ShapeCheck.values(count: values.count, shape: [n, k])
    try Quantization.checkFinite(values, name: "linear weight [\(n), \(k)]", precision: precision)
    switch precision {
    case .fp32, .fp16:
      return try linearWeight(halfBits: Quantization.halfBits(values), outFeatures: n, inFeatures: k)
    case .int8:
      let (q, scales) = Quantization.int8Blocks(values, rows: n, columns: k)
      return try linearWeight(int8: q, scales: scales, outFeatures: n, inFeatures: k)
    }
  }

  /// One tensor per group; devices override this with a single transfer.
  public func tensors(ints groups: [(values: [Int32], shape: [Int])]) throws -> [Tensor] {
    try groups.map { try tensor(ints: $0.values, shape: $0.shape) }
  }
}
