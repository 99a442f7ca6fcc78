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

  /// A float tensor of zeros (KV caches, allocated once per generation).
  func zeros(shape: [Int]) throws -> Tensor

  // MARK: Operations, by family (each family is one file in PhotonCPU and PhotonOpenCL, one
  // kernel file and one equivalence test of the same name)

  /// Linear: `y = act(x·Wᵀ + b)`. x: `[..., K]`, W: `[N, K]`, b: `[N]`, y: `[..., N]`.
  func linear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation) throws
    -> Tensor

  /// Attention: multi-head `softmax(Q·Kᵀ·scale + positionBias + mask)·V`, heads side by side in
  /// the channel axis; every optional part (KV cache, position bias, causal or sliding-window
  /// masking) is a field of ``AttentionCall``. Returns `[B, Tq, C]`.
  func attention(_ call: AttentionCall) throws -> Tensor
  /// Attention: copies the keys and values of a packed QKV tensor into the caches, in place:
  /// `keyCache[b, start + t] = qkv[b, t, C..<2C]`, `valueCache[b, start + t] = qkv[b, t, 2C..<3C]`.
  /// qkv: `[B, T, 3C]`; caches: `[B, S, C]` with `start + T ≤ S`. The one op that changes a tensor.
  func writeKeyValueCache(_ qkv: Tensor, keyCache: Tensor, valueCache: Tensor, at start: Int) throws

  /// Normalization: `kind` over the last axis of `x + residual` (nil: of `x`).
  /// x, residual, y: `[..., C]`; the kind's weight and bias: `[C]`.
  func normalize(_ x: Tensor, residual: Tensor?, _ kind: Normalization) throws -> Tensor

  /// Embedding: `LayerNorm(word[ids] + position[positions] + tokenType[tokenTypes])`.
  /// ids, positions, tokenTypes: `[B, T]` int32; tables: `[rows, C]`; returns `[B, T, C]`.
  /// A nil `tokenTypeTable` (DistilBERT) adds nothing; nil `tokenTypes` means all zero.
  func embeddings(
    ids: Tensor, positions: Tensor, tokenTypes: Tensor?, wordTable: Tensor, positionTable: Tensor,
    tokenTypeTable: Tensor?, weight: Tensor, bias: Tensor, eps: Float
  ) throws -> Tensor
  /// Embedding: rows of `table` by id, plus `positionTable[firstPosition + t]` when given, no
  /// normalisation: T5's `shared` (no positions), GPT-2's `wte + wpe`. Only the ids are uploaded
  /// per decode step: positions are `firstPosition..<firstPosition + T` for every row.
  /// ids: `[B, T]` int32; tables: `[rows, C]`; returns `[B, T, C]`.
  func gather(_ table: Tensor, ids: Tensor, positionTable: Tensor?, firstPosition: Int) throws
    -> Tensor
  /// Embedding: row `position` of every sequence: x `[B, T, C]` → `[B, 1, C]` (the last prompt
  /// position's hidden state, so the LM head runs on one row, not T).
  func selectPosition(_ x: Tensor, _ position: Int) throws -> Tensor

  /// Elementwise: `op(x)`. x, y: same shape.
  func unary(_ op: UnaryOperation, _ x: Tensor) throws -> Tensor
  /// Elementwise: `op(a, b)`. a, b, y: same shape.
  func binary(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor) throws -> Tensor
  /// Elementwise (a row at a time): softmax over the last axis.
  func softmax(_ x: Tensor) throws -> Tensor
  /// Elementwise (a row at a time): pools `[B, T, C]` to `[B, C]` over positions where `mask`
  /// (`[B, T]` int32) is 1.
  func pool(_ x: Tensor, mask: Tensor, mode: Pooling) throws -> Tensor
  /// Elementwise (a row at a time): index of the largest value along the last axis (the first one
  /// on ties, as `torch.argmax`). x: `[..., V]` → int32 `[...]`; greedy decoding reads back 4
  /// bytes per row.
  func argmax(_ x: Tensor) throws -> Tensor
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

  /// ``gather(_:ids:positionTable:firstPosition:)`` without positions: `y[b, t] = table[ids[b, t]]`.
  public func gather(_ table: Tensor, ids: Tensor) throws -> Tensor {
    try gather(table, ids: ids, positionTable: nil, firstPosition: 0)
  }

  /// One tensor per group; devices override this with a single transfer.
  public func tensors(ints groups: [(values: [Int32], shape: [Int])]) throws -> [Tensor] {
    try groups.map { try tensor(ints: $0.values, shape: $0.shape) }
  }
}
