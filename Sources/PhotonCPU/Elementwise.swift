import Foundation
import PhotonCore

/// Element-wise ops (unary, binary, zeros) and the row-at-a-time ones (softmax, pooling, argmax).
extension CPUBackend {
  // x, y: [..., C]
  public func softmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "softmax")
    var values = try x.hostFloats()
    let c = x.lastDimension
    values.withUnsafeMutableBufferPointer { values in
      Parallel.forEachChunk(of: c > 0 ? x.rows : 0, grain: 16) { rows in
        for row in rows { softmaxInPlace(.init(rebasing: values[(row * c)..<((row + 1) * c)])) }
      }
    }
    return .host(values, shape: x.shape)
  }

  /// Two passes: the row maximum, then exponentials (four lanes at a time, ``VectorMath``)
  /// normalised by their sum (kept in Double). The maximum and the sum run in lanes of their own,
  /// apart from the exp calls: one chain of dependent `max`es or additions would cost more than
  /// the exps, and a call in the loop would spill the lanes to the stack.
  func softmaxInPlace(_ row: UnsafeMutableBufferPointer<Float>) {
    guard let first = row.first else { return }
    let (values, whole) = (row.baseAddress!, row.count / 4 * 4)
    var maxima = SIMD4(repeating: first)
    for j in stride(from: 0, to: whole, by: 4) {
      // A compare and a blend (`pointwiseMax` goes lane by lane, for IEEE NaN rules).
      let v = values.lanes(at: j)
      maxima.replace(with: v, where: v .> maxima)
    }
    var maximum = maxima.max()
    for j in whole..<row.count { maximum = max(maximum, row[j]) }
    for j in stride(from: 0, to: whole, by: 4) {
      values.setLanes(VectorMath.exp(values.lanes(at: j) - maximum), at: j)
    }
    for j in whole..<row.count { row[j] = VectorMath.exp(SIMD4(repeating: row[j] - maximum))[0] }
    var (low, high) = (SIMD2<Double>(), SIMD2<Double>())
    for j in stride(from: 0, to: whole, by: 4) {
      low += SIMD2(Double(values[j]), Double(values[j + 1]))
      high += SIMD2(Double(values[j + 2]), Double(values[j + 3]))
    }
    var sum = (low + high).sum()
    for j in whole..<row.count { sum += Double(row[j]) }
    let inverse = Float(1 / sum)
    for i in row.indices { row[i] *= inverse }
  }

  // x, y: same shape
  public func unary(_ op: UnaryOperation, _ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: op.rawValue)
    let values = try x.hostFloats()
    switch op {
    case .tanh: return .host(values.map { Foundation.tanh($0) }, shape: x.shape)
    case .gelu: return .host(values.map { Activation.gelu.apply($0) }, shape: x.shape)
    case .geluTanh: return .host(values.map { Activation.geluTanh.apply($0) }, shape: x.shape)
    case .relu: return .host(values.map { Activation.relu.apply($0) }, shape: x.shape)
    }
  }

  // a, b, y: same shape
  public func binary(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    try ShapeCheck.binary(op, a, b)
    let (x, y) = (try a.hostFloats(), try b.hostFloats())
    switch op {
    case .add: return .host((0..<x.count).map { x[$0] + y[$0] }, shape: a.shape)
    case .multiply: return .host((0..<x.count).map { x[$0] * y[$0] }, shape: a.shape)
    }
  }

  public func zeros(shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: shape.elementCount, shape: shape)
    return .host([Float](repeating: 0, count: shape.elementCount), shape: shape)
  }

  // x: [B, T, C], mask: [B, T], y: [B, C]
  public func pool(_ x: Tensor, mask: Tensor, mode: Pooling) throws -> Tensor {
    try ShapeCheck.pool(x, mask: mask)
    let (batch, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let values = try x.hostFloats()
    let m = try mask.hostInts()
    var y = [Float](repeating: 0, count: batch * c)
    // Row by row (each position's vector is contiguous), summing in position order.
    for b in 0..<batch {
      let kept = (0..<t).filter { m[b * t + $0] != 0 }
      let out = b * c
      switch mode {
      case .cls:
        if t > 0 { for j in 0..<c { y[out + j] = values[b * t * c + j] } }
      // sentence-transformers divides by the mask sum clamped to 1e-9: an all-padding row is 0.
      case .mean:
        for position in kept { for j in 0..<c { y[out + j] += values[(b * t + position) * c + j] } }
        for j in 0..<c { y[out + j] /= Float(max(kept.count, 1)) }
      // …and fills padding with -1e9 before the max: an all-padding row gives -1e9.
      case .max:
        for j in 0..<c { y[out + j] = kept.isEmpty ? -1e9 : -Float.infinity }
        for position in kept {
          for j in 0..<c { y[out + j] = max(y[out + j], values[(b * t + position) * c + j]) }
        }
      }
    }
    return .host(y, shape: [batch, c])
  }

  // x: [..., V] → [...] int32
  public func argmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.argmax(x)
    let values = try x.hostFloats()
    let v = x.lastDimension
    let ids = (0..<x.rows).map { row -> Int32 in
      var best = 0
      for j in 1..<v where values[row * v + j] > values[row * v + best] { best = j }
      return Int32(best)
    }
    return Tensor(shape: Array(x.shape.dropLast()), dtype: .int32, storage: HostStorage(ints: ids))
  }
}
