import PhotonCore

/// Host memory behind a `.cpu` tensor.
final class HostStorage: TensorStorage, @unchecked Sendable {
  var floats: [Float]
  var ints: [Int32]

  init(floats: [Float]) {
    self.floats = floats
    self.ints = []
  }

  init(ints: [Int32]) {
    self.floats = []
    self.ints = ints
  }
}

extension Tensor {
  /// The float values of a `.cpu` tensor.
  func hostFloats() throws -> [Float] {
    guard let storage = storage as? HostStorage, dtype == .float32 else {
      throw PhotonError(.wrongBackend, "expected a float32 .cpu tensor, got \(self) from another backend")
    }
    return storage.floats
  }

  func hostInts() throws -> [Int32] {
    guard let storage = storage as? HostStorage, dtype == .int32 else {
      throw PhotonError(.wrongBackend, "expected an int32 .cpu tensor, got \(self) from another backend")
    }
    return storage.ints
  }

  static func host(_ values: [Float], shape: [Int]) -> Tensor {
    Tensor(shape: shape, dtype: .float32, storage: HostStorage(floats: values))
  }
}

extension Array where Element == Float {
  /// An array of `count` floats that `fill` writes entirely (no zeroing pass first).
  init(filling count: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
    self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
      fill(buffer)
      initialized = count
    }
  }
}
