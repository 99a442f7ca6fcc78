import Foundation
import PhotonCore

extension CPUBackend {
  // q: [B, Tq, C], k, v: [B, Tk, C] (or packed [B, T, 3C]); mask: [B, Tk]; y: [B, Tq, C]
  // The plain way: an explicit [Tq, Tk] score matrix per head, then a two-pass softmax.
  public func attention(
    _ input: AttentionInput, mask: Tensor?, causal: Bool, heads: Int, scale: Float
  ) throws -> Tensor {
    let s = try ShapeCheck.attention(input, mask: mask, heads: heads)
    let (q, k, v): (View, View, View)
    switch input {
    case .packed(let qkv):
      let values = try qkv.hostFloats()
      let stride = 3 * s.channels
      q = View(values: values, offset: 0, rowStride: stride)
      k = View(values: values, offset: s.channels, rowStride: stride)
      v = View(values: values, offset: 2 * s.channels, rowStride: stride)
    case .separate(let query, let key, let value):
      q = View(values: try query.hostFloats(), offset: 0, rowStride: s.channels)
      k = View(values: try key.hostFloats(), offset: 0, rowStride: s.channels)
      v = View(values: try value.hostFloats(), offset: 0, rowStride: s.channels)
    }
    let (batch, tq, tk, hs, c) = (s.batch, s.queryLength, s.keyLength, s.headSize, s.channels)
    // transformers' additive mask: float32.min, not -inf, so a fully padded row still gets a
    // (uniform) distribution rather than NaN.
    let maskBias = try mask?.hostInts().map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 }
      ?? [Float](repeating: 0, count: batch * tk)
    let y = [Float](filling: batch * tq * c) { y in
      guard !y.isEmpty else { return }
      guard tk > 0, hs > 0 else { return y.initialize(repeating: 0) }
      q.values.withUnsafeBufferPointer { qs in
        k.values.withUnsafeBufferPointer { ks in
          v.values.withUnsafeBufferPointer { vs in
            // Heads are independent: each chunk of (batch, head) pairs has its own score matrix
            // and writes its own columns of y.
            Parallel.forEachChunk(of: batch * heads, grain: 1) { pairs in
              var scores = [Float](repeating: 0, count: tq * tk)
              scores.withUnsafeMutableBufferPointer { scores in
                for pair in pairs {
                  let (b, h) = (pair / heads, pair % heads)
                  // Q, K and V of this head read in place: row strides skip the other heads (and
                  // the other two thirds of a packed QKV tensor).
                  let query = qs.baseAddress! + q.offset + b * tq * q.rowStride + h * hs
                  let key = ks.baseAddress! + k.offset + b * tk * k.rowStride + h * hs
                  let value = vs.baseAddress! + v.offset + b * tk * v.rowStride + h * hs
                  // The explicit [Tq, Tk] score matrix Q·Kᵀ.
                  sgemm(
                    m: tq, n: tk, k: hs, query, lda: q.rowStride, key, ldb: k.rowStride,
                    transposeB: true, scores.baseAddress!, ldc: tk)
                  maskBias.withUnsafeBufferPointer { maskBias in
                    for i in 0..<tq {
                      let row = scores.baseAddress! + i * tk
                      // Causally hidden keys are left out entirely (weight exactly 0), as the
                      // kernels do.
                      let visible = causal ? max(0, min(tk, i + tk - tq + 1)) : tk
                      for j in 0..<visible { row[j] = row[j] * scale + maskBias[b * tk + j] }
                      for j in visible..<tk { row[j] = 0 }
                      softmaxInPlace(UnsafeMutableBufferPointer(start: row, count: visible))
                    }
                  }
                  sgemm(
                    m: tq, n: hs, k: tk, scores.baseAddress!, lda: tk, value, ldb: v.rowStride,
                    transposeB: false, y.baseAddress! + b * tq * c + h * hs, ldc: c)
                }
              }
            }
          }
        }
      }
    }
    return .host(y, shape: [batch, tq, c])
  }

  /// One of Q, K, V inside its tensor: columns from `offset` on, rows `rowStride` apart (a third
  /// of a packed QKV tensor, or a whole separate one).
  struct View {
    let values: [Float]
    let offset: Int
    let rowStride: Int
  }

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

  public func tanh(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "tanh")
    return .host(try x.hostFloats().map { Foundation.tanh($0) }, shape: x.shape)
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
}
