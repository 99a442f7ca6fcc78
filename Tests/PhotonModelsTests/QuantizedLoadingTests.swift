import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import Testing

/// A `photon quantize` weight reaches the backend as stored: q and scales, not dequantized and
/// quantized again (which would change them whenever a block's largest |q| is not 127).
@Suite struct QuantizedLoadingTests {
  @Test func storedInt8WeightsReachTheBackendUnchanged() throws {
    let (n, k) = (3, 40)  // 2 blocks per row, the second short (8 inputs)
    // Largest |q| of each block is 100, so re-quantizing would rescale it to 127.
    let q: [Int8] = (0..<(n * k)).map { (i: Int) -> Int8 in
      let column = i % k
      return column == 0 || column == 32 ? 100 : Int8((i * 37) % 199 - 99)
    }
    let scales: [Float] = [0.0123, 0.5, 1e-3, 0.031, 0.25, 7e-4]
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("photon-q-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("model.safetensors")
    var writer = SafeTensorsWriter()
    try writer.add("dense.weight", dtype: .int8, shape: [n, k]) { SafeTensorsWriter.bytes(of: q) }
    try writer.add("dense.weight_scale", dtype: .float32, shape: [n, 2]) { SafeTensorsWriter.bytes(of: scales) }
    try writer.add("dense.bias", dtype: .float32, shape: [n]) {
      SafeTensorsWriter.bytes(of: [Float](repeating: 0, count: n))
    }
    try writer.write(to: url)
    let weights = try ModelWeights(url: url, quantization: QuantizationConfig(precision: .int8))
    let stored = Quantization.dequantize(q, scales: scales, rows: n, columns: k)
    let requantized = Quantization.int8Blocks(stored, rows: n, columns: k)
    #expect(requantized.values != q, "the test would not tell the two paths apart")

    var identity = [Float](repeating: 0, count: k * k)
    for i in 0..<k { identity[i * k + i] = 1 }
    for backend in try Backends.all() {
      let linear = try Linear(
        Parameters(scope: weights.scope(), backend: backend, precision: .int8), "dense", in: k, out: n)
      #expect(linear.weight.precision == .int8)
      // x = I: y[i, j] = W[j, i] = q·scale, one exact product each.
      let y = try backend.floats(linear(try backend.tensor(identity, shape: [k, k]), on: backend))
      var transposed = [Float](repeating: 0, count: k * n)
      for row in 0..<n { for column in 0..<k { transposed[column * n + row] = stored[row * k + column] } }
      #expect(y == transposed, "\(backend.kind): weights were not used as stored")
    }
  }
}
