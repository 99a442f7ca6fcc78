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

/// Query, key and value for ``Backend/attention(_:mask:causal:heads:scale:)``.
public enum AttentionInput: Sendable {
  /// One tensor `[B, T, 3C]`: Q, K and V side by side in each row, as a fused QKV projection writes them.
  case packed(Tensor)
  /// Q `[B, Tq, C]`, K and V `[B, Tk, C]` (Tq ≠ Tk for cross-attention).
  case separate(query: Tensor, key: Tensor, value: Tensor)
}

extension Array where Element == Int {
  /// Number of elements of a tensor with this shape.
  public var elementCount: Int { reduce(1, *) }
}
