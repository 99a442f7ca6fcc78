/// Element types a ``Tensor`` can hold. Activations and weights are fp32; ids and masks are int32.
/// `float16` and `int8` hold quantized linear weights only (see ``Precision``); no op takes them
/// as activations.
public enum DType: String, Sendable {
  case float32
  case int32
  case float16
  case int8

  public var byteSize: Int {
    switch self {
    case .float32, .int32: 4
    case .float16: 2
    case .int8: 1
    }
  }
}

/// Memory owned by one backend: host arrays for `.cpu`, a device buffer for `.gpu`.
public protocol TensorStorage: AnyObject, Sendable {}

/// A dense, row-major tensor living on one backend.
///
/// Tensors are immutable handles: every op returns a new one. A tensor's memory goes back to its
/// backend (for the GPU, to the buffer pool) when the last handle is released.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
  public let shape: [Int]
  public let dtype: DType
  /// The backend's memory. Only the backend that made it reads it.
  public let storage: any TensorStorage

  public init(shape: [Int], dtype: DType, storage: any TensorStorage) {
    self.shape = shape
    self.dtype = dtype
    self.storage = storage
  }

  /// Number of elements.
  public var count: Int { shape.reduce(1, *) }
  public var rank: Int { shape.count }
  /// Size of the last axis.
  public var lastDimension: Int { shape.last ?? 1 }
  /// Product of every axis but the last: the number of rows of the matrix view.
  public var rows: Int { shape.dropLast().reduce(1, *) }

  public var description: String { "Tensor(\(dtype), \(shape))" }
}

/// A linear layer's weight, prepared once at load in the layout the backend's GEMM reads best.
///
/// Hugging Face stores `nn.Linear` weights as `[out, in]`; the CPU keeps that layout, the OpenCL
/// backend packs them transposed and column-padded (see `Kernels/gemm.cl`). fp16 weights are
/// stored as half (`storage.dtype == .float16`), int8 ones as `int8` values plus fp32 block
/// ``scales`` (see ``Precision`` and `Kernels/gemm_quant.cl`).
public struct LinearWeight: Sendable {
  public let outFeatures: Int
  public let inFeatures: Int
  public let storage: Tensor
  /// How `storage` encodes the weights.
  public let precision: Precision
  /// int8 only: one scale per block of 32 input features, in the backend's layout.
  public let scales: Tensor?

  public init(
    outFeatures: Int, inFeatures: Int, storage: Tensor, precision: Precision = .fp32, scales: Tensor? = nil
  ) {
    self.outFeatures = outFeatures
    self.inFeatures = inFeatures
    self.storage = storage
    self.precision = precision
    self.scales = scales
  }
}

/// Activation fused into a GEMM epilogue.
public enum Activation: String, Sendable, CaseIterable {
  case identity
  /// Exact GELU, `0.5·x·(1 + erf(x/√2))`: Hugging Face's `gelu`.
  case gelu
  /// Tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`: HF's `gelu_new` and
  /// `gelu_pytorch_tanh`.
  case geluTanh
  case relu
}

/// How token vectors become one sentence vector.
public enum Pooling: String, Sendable, CaseIterable {
  /// Mean over positions whose mask is 1.
  case mean
  /// The first token ([CLS]).
  case cls
  /// Element-wise max over positions whose mask is 1.
  case max
}

/// Where ``AttentionCall`` finds its queries, keys and values.
public enum AttentionInput: Sendable {
  /// One tensor `[B, T, 3C]`: Q, K and V side by side in each row, as a fused QKV projection writes them.
  case packed(Tensor)
  /// Q `[B, Tq, C]` (or a packed `[B, Tq, 3C]` whose first C columns are read), K and V `[B, S, C]`
  /// (Tq ≠ S for cross-attention and for a KV cache).
  case separate(query: Tensor, key: Tensor, value: Tensor)
}

/// Which keys a query may see, besides the padding mask. A query's position is `p = L − Tq + i`
/// (the queries are the last `Tq` of the `L` key positions), so key `j` is visible when
/// `p − before ≤ j ≤ p + after` (see ``bounds``). Hidden keys get weight exactly 0; a query that
/// sees no key gets a zero output.
public enum AttentionMasking: Sendable, Equatable {
  /// Every key.
  case none
  /// Keys at or before the query's position (decoders).
  case causal
  /// Keys within `radius` positions of the query's, on both sides: ModernBERT's local attention,
  /// `|p − j| ≤ local_attention / 2`.
  case window(radius: Int)
  /// Keys at or before the query's position and fewer than `size` before it (Mistral's sliding
  /// window): `p − size < j ≤ p`.
  case causalWindow(size: Int)

  /// Keys visible before and after the query's position; `Int32.max` for "unbounded" (the kernels
  /// take them as 32-bit ints).
  public var bounds: (before: Int, after: Int) {
    let unbounded = Int(Int32.max)
    switch self {
    case .none: return (unbounded, unbounded)
    case .causal: return (unbounded, 0)
    case .window(let radius): return (radius, radius)
    case .causalWindow(let size): return (size - 1, 0)
    }
  }
}

/// One call of ``Backend/attention(_:)``: multi-head `softmax(Q·Kᵀ·scale + positionBias + mask)·V`
/// with heads side by side in the channel axis.
///
/// - Parameters (fields):
///   - input: Q, K, V, packed `[B, T, 3C]` or separate (K, V: `[B, S, C]`).
///   - heads: NH, dividing C.
///   - scale: multiplies Q·Kᵀ (`1/√HS` for BERT, 1 for T5).
///   - keyLength: `L`, the filled rows of a KV cache: K and V are read over their first `L` rows
///     and the queries are the last `Tq` of those positions. nil: every row (`L = S`).
///   - mask: `[B, S]` int32, 1 = attend, 0 = padding (first `L` columns read), or nil.
///   - masking: causal or sliding-window rules on top of the mask.
///   - positionBias: `[NH, P, P′]` with `P, P′ ≥ L`, added to the scores by the query's position
///     and the key's (`bias[h, p, j]`), shared by the batch (T5), or nil.
public struct AttentionCall: Sendable {
  public var input: AttentionInput
  public var heads: Int
  public var scale: Float
  public var keyLength: Int?
  public var mask: Tensor?
  public var masking: AttentionMasking
  public var positionBias: Tensor?

  public init(
    _ input: AttentionInput, heads: Int, scale: Float, keyLength: Int? = nil, mask: Tensor? = nil,
    masking: AttentionMasking = .none, positionBias: Tensor? = nil
  ) {
    self.input = input
    self.heads = heads
    self.scale = scale
    self.keyLength = keyLength
    self.mask = mask
    self.masking = masking
    self.positionBias = positionBias
  }
}

/// The normalisations of ``Backend/normalize(_:residual:_:)``, over the last axis.
public enum Normalization: Sendable {
  /// `(x − mean) / √(var + eps) · weight + bias` (biased variance, as PyTorch's `LayerNorm`).
  case layer(weight: Tensor, bias: Tensor, eps: Float)
  /// `x / √(mean(x²) + eps) · weight`: no mean subtracted, no bias (T5's `T5LayerNorm`, RMSNorm).
  case rms(weight: Tensor, eps: Float)
  /// `x / max(‖x‖₂, 1e-12)` (PyTorch's `F.normalize`; sentence-transformers' `Normalize`).
  case l2
}

/// The element-wise functions of ``Backend/unary(_:_:)``.
public enum UnaryOperation: String, Sendable, CaseIterable {
  case tanh
  /// Exact GELU (see ``Activation/gelu``).
  case gelu
  /// Tanh-approximated GELU (see ``Activation/geluTanh``).
  case geluTanh
  case relu
}

/// The element-wise functions of two tensors of one shape, ``Backend/binary(_:_:_:)``.
public enum BinaryOperation: String, Sendable, CaseIterable {
  /// `a + b` (the residual stream of pre-norm blocks).
  case add
  /// `a · b` (the gated FFN of flan-t5: `gelu_new(wi_0·x) · (wi_1·x)`).
  case multiply
}

extension Array where Element == Int {
  /// Number of elements of a tensor with this shape.
  public var elementCount: Int { reduce(1, *) }
}
