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
    let maskValues = try mask?.hostInts()
    let (tq, tk, hs) = (s.queryLength, s.keyLength, s.headSize)
    var y = [Float](repeating: 0, count: s.batch * tq * s.channels)
    // Heads are independent: each (batch, head) pair runs on its own thread with its own scratch
    // and writes its own columns of y.
    y.withUnsafeMutableBufferPointer { output in
      let output = SendableBuffer(output)
      DispatchQueue.concurrentPerform(iterations: s.batch * heads) { pair in
        let (b, h) = (pair / heads, pair % heads)
        var qh = [Float](repeating: 0, count: tq * hs)
        var kh = [Float](repeating: 0, count: tk * hs)
        var vh = [Float](repeating: 0, count: tk * hs)
        var scores = [Float](repeating: 0, count: tq * tk)
        var yh = [Float](repeating: 0, count: tq * hs)
        for i in 0..<tq { for d in 0..<hs { qh[i * hs + d] = q[b * tq + i, h * hs + d] } }
        for j in 0..<tk {
          for d in 0..<hs {
            kh[j * hs + d] = k[b * tk + j, h * hs + d]
            vh[j * hs + d] = v[b * tk + j, h * hs + d]
          }
        }
        // The explicit [Tq, Tk] score matrix Q·Kᵀ.
        matmul(qh, kh, into: &scores, m: tq, n: tk, k: hs, transposeB: true)
        for i in 0..<tq {
          for j in 0..<tk {
            var score = scores[i * tk + j] * scale
            // Additive masks as transformers builds them: float32.min, not -inf, so a fully
            // padded row still gets a (uniform) distribution rather than NaN.
            if let maskValues, maskValues[b * tk + j] == 0 { score += -Float.greatestFiniteMagnitude }
            scores[i * tk + j] = score
          }
          // Causally hidden keys are left out entirely (weight exactly 0), as the kernels do.
          let visible = causal ? max(0, min(tk, i + tk - tq + 1)) : tk
          for j in visible..<tk { scores[i * tk + j] = 0 }
          softmaxInPlace(&scores[(i * tk)..<(i * tk + visible)])
        }
        matmul(scores, vh, into: &yh, m: tq, n: hs, k: tk, transposeB: false)
        for i in 0..<tq {
          for d in 0..<hs { output[(b * tq + i) * s.channels + h * hs + d] = yh[i * hs + d] }
        }
      }
    }
    return .host(y, shape: [s.batch, tq, s.channels])
  }

  /// A buffer that concurrent iterations write at disjoint indices.
  struct SendableBuffer: @unchecked Sendable {
    let base: UnsafeMutableBufferPointer<Float>
    init(_ base: UnsafeMutableBufferPointer<Float>) { self.base = base }
    subscript(index: Int) -> Float {
      get { base[index] }
      nonmutating set { base[index] = newValue }
    }
  }

  /// A strided window onto a row-major matrix (one of Q, K, V inside a packed QKV tensor).
  struct View {
    let values: [Float]
    let offset: Int
    let rowStride: Int
    subscript(row: Int, column: Int) -> Float { values[row * rowStride + offset + column] }
  }

  // x, y: [..., C]
  public func softmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "softmax")
    var values = try x.hostFloats()
    let c = x.lastDimension
    for row in 0..<x.rows { softmaxInPlace(&values[(row * c)..<((row + 1) * c)]) }
    return .host(values, shape: x.shape)
  }

  /// Two passes: the row maximum, then exponentials normalised by their sum.
  func softmaxInPlace(_ row: inout ArraySlice<Float>) {
    guard let maximum = row.max() else { return }
    var sum = 0.0
    for i in row.indices {
      row[i] = Foundation.exp(row[i] - maximum)
      sum += Double(row[i])
    }
    for i in row.indices { row[i] = Float(Double(row[i]) / sum) }
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
    for b in 0..<batch {
      let kept = (0..<t).filter { m[b * t + $0] != 0 }
      for j in 0..<c {
        let column = kept.map { values[(b * t + $0) * c + j] }
        switch mode {
        case .cls: y[b * c + j] = t > 0 ? values[(b * t) * c + j] : 0
        // sentence-transformers divides by the mask sum clamped to 1e-9: an all-padding row is 0.
        case .mean: y[b * c + j] = column.reduce(0, +) / Float(max(column.count, 1))
        // …and fills padding with -1e9 before the max: an all-padding row gives -1e9.
        case .max: y[b * c + j] = column.max() ?? -1e9
        }
      }
    }
    return .host(y, shape: [batch, c])
  }
}
