import Foundation
import PhotonCore

extension CPUBackend {
  // q: [B, Tq, C] (or packed [B, T, 3C]); k, v: [B, S, C], read over their first L rows;
  // bias: [NH, P, P']; mask: [B, S]; y: [B, Tq, C]
  // The plain way: an explicit [Tq, L] score matrix per head (bias, mask and the masking rule
  // applied to it, hidden keys left out), then a two-pass softmax — where the kernels fold keys
  // one at a time into an online softmax.
  public func attention(_ call: AttentionCall) throws -> Tensor {
    let s = try ShapeCheck.attention(call)
    let (q, k, v): (View, View, View)
    switch call.input {
    case .packed(let qkv):
      let values = try qkv.hostFloats()
      let stride = 3 * s.channels
      q = View(values: values, offset: 0, rowStride: stride)
      k = View(values: values, offset: s.channels, rowStride: stride)
      v = View(values: values, offset: 2 * s.channels, rowStride: stride)
    case .separate(let query, let key, let value):
      q = View(values: try query.hostFloats(), offset: 0, rowStride: s.queryStride)
      k = View(values: try key.hostFloats(), offset: 0, rowStride: s.channels)
      v = View(values: try value.hostFloats(), offset: 0, rowStride: s.channels)
    }
    let (batch, tq, length, rows, hs, c, heads) = (
      s.batch, s.queryLength, s.keyLength, s.keyRows, s.headSize, s.channels, s.heads
    )
    let (scale, (before, after)) = (call.scale, call.masking.bounds)
    // transformers' additive mask: float32.min, not -inf, so a fully padded row still gets a
    // (uniform) distribution rather than NaN.
    let maskBias =
      try call.mask?.hostInts().map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 }
      ?? [Float](repeating: 0, count: batch * rows)
    let bias = try call.positionBias?.hostFloats() ?? []
    let y = [Float](filling: batch * tq * c) { y in
      guard !y.isEmpty else { return }
      y.initialize(repeating: 0)  // queries that see no key stay 0
      guard length > 0, hs > 0 else { return }
      q.values.withUnsafeBufferPointer { qs in
        k.values.withUnsafeBufferPointer { ks in
          v.values.withUnsafeBufferPointer { vs in
            // Heads are independent: each chunk of (batch, head) pairs has its own score matrix
            // and writes its own columns of y.
            Parallel.forEachChunk(of: batch * heads, grain: 1) { pairs in
              var scores = [Float](repeating: 0, count: tq * length)
              scores.withUnsafeMutableBufferPointer { scores in
                for pair in pairs {
                  let (b, h) = (pair / heads, pair % heads)
                  // Q, K and V of this head read in place: row strides skip the other heads (and
                  // the other two thirds of a packed QKV tensor).
                  let query = qs.baseAddress! + q.offset + b * tq * q.rowStride + h * hs
                  let key = ks.baseAddress! + k.offset + b * rows * k.rowStride + h * hs
                  let value = vs.baseAddress! + v.offset + b * rows * v.rowStride + h * hs
                  // The explicit [Tq, L] score matrix Q·Kᵀ.
                  sgemm(
                    m: tq, n: length, k: hs, query, lda: q.rowStride, key, ldb: k.rowStride,
                    transposeB: true, scores.baseAddress!, ldc: length)
                  for i in 0..<tq {
                    let row = scores.baseAddress! + i * length
                    // The query's position; keys outside [first, last] are left out entirely
                    // (weight exactly 0), as the kernels do.
                    let position = length - tq + i
                    let (first, last) = (max(0, position - before), min(length - 1, position + after))
                    for j in 0..<length where j < first || j > last { row[j] = 0 }
                    guard first <= last else { continue }
                    for j in first...last {
                      var score = row[j] * scale
                      if !bias.isEmpty { score += bias[(h * s.biasRows + position) * s.biasColumns + j] }
                      row[j] = score + maskBias[b * rows + j]
                    }
                    softmaxInPlace(UnsafeMutableBufferPointer(start: row + first, count: last - first + 1))
                  }
                  sgemm(
                    m: tq, n: hs, k: length, scores.baseAddress!, lda: length, value, ldb: v.rowStride,
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

  // qkv: [B, T, 3C]; caches: [B, S, C], written in place at rows start..<start+T
  public func writeKeyValueCache(_ qkv: Tensor, keyCache: Tensor, valueCache: Tensor, at start: Int)
    throws
  {
    let (batch, t, c, s) = try ShapeCheck.writeKeyValueCache(
      qkv, keyCache: keyCache, valueCache: valueCache, at: start)
    let source = try qkv.hostFloats()
    guard let keys = keyCache.storage as? HostStorage,
      let values = valueCache.storage as? HostStorage
    else {
      throw PhotonError(.wrongBackend, "writeKeyValueCache: caches must be .cpu tensors")
    }
    for b in 0..<batch {
      for i in 0..<t {
        let (from, to) = ((b * t + i) * 3 * c, (b * s + start + i) * c)
        for j in 0..<c {
          keys.floats[to + j] = source[from + c + j]
          values.floats[to + j] = source[from + 2 * c + j]
        }
      }
    }
  }

  /// One of Q, K, V inside its tensor: columns from `offset` on, rows `rowStride` apart (a third
  /// of a packed QKV tensor, or a whole separate one).
  struct View {
    let values: [Float]
    let offset: Int
    let rowStride: Int
  }
}
