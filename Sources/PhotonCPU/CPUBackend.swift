import PhotonCore

/// The reference backend: each op computed the plain way, in readable Swift, so the OpenCL kernels
/// are checked against a different algorithm (explicit score matrix, two-pass softmax). Large
/// matrix products go through `cblas_sgemm` so that tests on real models stay fast. Ops run their
/// rows in parallel chunks on every core, with OpenBLAS single-threaded inside (see ``Parallel``).
///
/// Each op lives in its own file (`Linear.swift`, `Attention.swift`, …) next to its kernel's name.
public final class CPUBackend: Backend, @unchecked Sendable {
  public let kind = BackendKind.cpu
  public var deviceName: String { "CPU reference (Swift + OpenBLAS)" }

  public init() { Parallel.singleThreadedBLAS }

  public func tensor(_ values: [Float], shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: values.count, shape: shape)
    return .host(values, shape: shape)
  }

  public func tensor(ints values: [Int32], shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: values.count, shape: shape)
    return Tensor(shape: shape, dtype: .int32, storage: HostStorage(ints: values))
  }

  public func floats(_ tensor: Tensor) throws -> [Float] { try tensor.hostFloats() }
  public func ints(_ tensor: Tensor) throws -> [Int32] { try tensor.hostInts() }

  public func linearWeight(_ values: [Float], outFeatures: Int, inFeatures: Int) throws
    -> LinearWeight
  {
    // Kept in HF's [out, in] layout; sgemm reads it transposed.
    LinearWeight(
      outFeatures: outFeatures, inFeatures: inFeatures,
      storage: try tensor(values, shape: [outFeatures, inFeatures]))
  }
}
