import Foundation
import PhotonCore

extension CPUBackend {
  // x, residual, y: [..., C]; weight, bias: [C]
  public func normalize(_ x: Tensor, residual: Tensor?, _ kind: Normalization) throws -> Tensor {
    try ShapeCheck.normalize(x, residual: residual, kind)
    var values = try x.hostFloats()
    if let residual {
      let r = try residual.hostFloats()
      for i in values.indices { values[i] += r[i] }
    }
    let c = x.lastDimension
    switch kind {
    case .layer(let weight, let bias, let eps):
      let (g, b) = (try weight.hostFloats(), try bias.hostFloats())
      values.withUnsafeMutableBufferPointer { values in
        Parallel.forEachChunk(of: x.rows, grain: 16) { rows in
          for row in rows {
            layerNormRow(.init(rebasing: values[(row * c)..<((row + 1) * c)]), weight: g, bias: b, eps: eps)
          }
        }
      }
    // T5LayerNorm: the mean of squares in Double, no centring.
    case .rms(let weight, let eps):
      let g = try weight.hostFloats()
      for row in 0..<x.rows {
        var squares = 0.0
        for j in 0..<c { squares += Double(values[row * c + j]) * Double(values[row * c + j]) }
        let inverse = 1 / (squares / Double(c) + Double(eps)).squareRoot()
        for j in 0..<c { values[row * c + j] = Float(Double(values[row * c + j]) * inverse) * g[j] }
      }
    // Clamped below at 1e-12, as PyTorch's F.normalize.
    case .l2:
      for row in 0..<x.rows {
        var sum = 0.0
        for j in 0..<c { sum += Double(values[row * c + j]) * Double(values[row * c + j]) }
        let norm = max(sum.squareRoot(), 1e-12)
        for j in 0..<c { values[row * c + j] = Float(Double(values[row * c + j]) / norm) }
      }
    }
    return .host(values, shape: x.shape)
  }

  /// Two passes: mean, then variance of the centred values (biased, as PyTorch). Each sum runs in
  /// eight fp32 lanes: a few dozen terms per lane, so rounding stays far below the tolerances,
  /// and the loop is not one long chain of dependent additions.
  func layerNormRow(_ row: UnsafeMutableBufferPointer<Float>, weight: [Float], bias: [Float], eps: Float) {
    let c = row.count
    let mean = Self.laneSum(row) { $0 } / Float(c)
    let variance = Self.laneSum(row) { ($0 - mean) * ($0 - mean) } / Float(c)
    let inverse = 1 / (variance + eps).squareRoot()
    weight.withUnsafeBufferPointer { weight in
      bias.withUnsafeBufferPointer { bias in
        for j in 0..<c { row[j] = (row[j] - mean) * inverse * weight[j] + bias[j] }
      }
    }
  }

  /// `Σ term(x)` over `values`, accumulated in eight lanes.
  @inline(__always)
  static func laneSum(
    _ values: UnsafeMutableBufferPointer<Float>, _ term: (SIMD8<Float>) -> SIMD8<Float>
  ) -> Float {
    let whole = values.count / 8 * 8
    var lanes = SIMD8<Float>()
    let raw = UnsafeRawPointer(values.baseAddress!)
    for j in stride(from: 0, to: whole, by: 8) {
      lanes += term(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self))
    }
    var sum = lanes.sum()
    // The last `count % 8` values, one lane each.
    for j in whole..<values.count { sum += term(SIMD8(repeating: values[j]))[0] }
    return sum
  }
}
