import PhotonCore

/// Host memory of an fp16 or int8 linear weight on the reference backend, in HF's `[out, in]`
/// layout: half bit patterns, or int8 values (their fp32 block scales are ``LinearWeight/scales``,
/// `[out, blocks(in)]`, a short last block when `in % 32 != 0`).
final class QuantizedHostStorage: TensorStorage, @unchecked Sendable {
  let halfBits: [UInt16]
  let int8Values: [Int8]
  /// Whether some half is ±inf or NaN (possible only in a hand-made fp16 file: quantizing at load
  /// refuses them). The fast widening in ``QuantizedLinear`` assumes finite halves; such a weight
  /// is widened one value at a time instead.
  let hasNonFiniteHalves: Bool

  init(halfBits: [UInt16]) {
    self.halfBits = halfBits
    self.int8Values = []
    self.hasNonFiniteHalves = halfBits.contains { $0 & 0x7c00 == 0x7c00 }
  }

  init(int8Values: [Int8]) {
    self.halfBits = []
    self.int8Values = int8Values
    self.hasNonFiniteHalves = false
  }
}

extension CPUBackend {
  /// An fp16 weight from half bit patterns `[N, K]` (quantized at load, or a `photon quantize` folder).
  public func linearWeight(halfBits: [UInt16], outFeatures n: Int, inFeatures k: Int) throws -> LinearWeight {
    try ShapeCheck.values(count: halfBits.count, shape: [n, k])
    return LinearWeight(
      outFeatures: n, inFeatures: k,
      storage: Tensor(shape: [n, k], dtype: .float16, storage: QuantizedHostStorage(halfBits: halfBits)),
      precision: .fp16)
  }

  /// An int8 weight from values already quantized (at load, or a `photon quantize` folder).
  /// q: `[N, K]`, scales: `[N, ceil(K/32)]`.
  public func linearWeight(int8 q: [Int8], scales: [Float], outFeatures n: Int, inFeatures k: Int) throws
    -> LinearWeight
  {
    try ShapeCheck.values(count: q.count, shape: [n, k])
    try ShapeCheck.values(count: scales.count, shape: [n, Quantization.blocks(k)])
    return LinearWeight(
      outFeatures: n, inFeatures: k,
      storage: Tensor(shape: [n, k], dtype: .int8, storage: QuantizedHostStorage(int8Values: q)),
      precision: .int8, scales: .host(scales, shape: [n, Quantization.blocks(k)]))
  }

  /// The fp32 weights `[N, K]` a linear layer multiplies by: as stored for fp32, else dequantized
  /// the plain way, element by element (the kernels widen and scale inside the GEMM instead).
  /// `linear` takes it for fp32 only: fp16 / int8 layers read the stored form
  /// (QuantizedLinear+Product.swift), which this stays the definition of.
  func hostWeights(_ weight: LinearWeight) throws -> [Float] {
    switch weight.precision {
    case .fp32: return try weight.storage.hostFloats()
    case .fp16:
      guard let storage = weight.storage.storage as? QuantizedHostStorage else {
        throw PhotonError(.wrongBackend, "expected an fp16 .cpu weight, got \(weight.storage)")
      }
      return Quantization.floats(halfBits: storage.halfBits)
    case .int8:
      guard let storage = weight.storage.storage as? QuantizedHostStorage, let scales = weight.scales else {
        throw PhotonError(.wrongBackend, "expected an int8 .cpu weight with scales, got \(weight.storage)")
      }
      return Quantization.dequantize(
        storage.int8Values, scales: try scales.hostFloats(), rows: weight.outFeatures, columns: weight.inFeatures)
    }
  }
}
