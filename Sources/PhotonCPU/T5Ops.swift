import PhotonCore

extension CPUBackend {
  // ids: [B, T]; table: [rows, C]; y: [B, T, C] = table[ids]
  public func gather(_ table: Tensor, ids: Tensor) throws -> Tensor {
    let c = try ShapeCheck.gather(table, ids: ids)
    let idValues = try ids.hostInts()
    try ShapeCheck.indices(idValues, below: table.shape[0], what: "token id")
    let rows = try table.hostFloats()
    let y = idValues.flatMap { id in rows[(Int(id) * c)..<(Int(id) * c + c)] }
    return .host(y, shape: ids.shape + [c])
  }

  // a, b, y: same shape
  public func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try ShapeCheck.multiply(a, b)
    let (x, y) = (try a.hostFloats(), try b.hostFloats())
    return .host((0..<x.count).map { x[$0] * y[$0] }, shape: a.shape)
  }

  // query: [B, Tq, C] or packed [B, Tq, 3C]; keys, values: [B, S, C]; positionBias: [NH, P, P'];
  // mask: [B, S]; y: [B, Tq, C]
  // The plain way: an explicit score row per (query, head) with the bias and mask added, hidden
  // keys left out, then the two-pass softmax and the weighted sum of values.
  public func biasedAttention(
    query: Tensor, keys: Tensor, values: Tensor, length: Int, positionBias: Tensor, mask: Tensor?,
    causal: Bool, heads: Int, scale: Float
  ) throws -> Tensor {
    let (shape, s, queryStride, biasRows, biasColumns) = try ShapeCheck.biasedAttention(
      query: query, keys: keys, values: values, length: length, positionBias: positionBias,
      mask: mask, heads: heads)
    let (batch, tq, c, hs) = (shape.batch, shape.queryLength, shape.channels, shape.headSize)
    let (q, k, v) = (try query.hostFloats(), try keys.hostFloats(), try values.hostFloats())
    let bias = try positionBias.hostFloats()
    let maskValues = try mask?.hostInts()
    var y = [Float](repeating: 0, count: batch * tq * c)
    for b in 0..<batch {
      for h in 0..<heads {
        for i in 0..<tq {
          let position = length - tq + i
          let visible = causal ? position + 1 : length
          var scores = [Float](repeating: 0, count: visible)[...]
          for j in 0..<visible {
            var dot: Float = 0
            for d in 0..<hs {
              dot += q[(b * tq + i) * queryStride + h * hs + d] * k[(b * s + j) * c + h * hs + d]
            }
            var score = dot * scale + bias[(h * biasRows + position) * biasColumns + j]
            // transformers' additive float32.min, as in `attention`.
            if let maskValues, maskValues[b * s + j] == 0 {
              score += -Float.greatestFiniteMagnitude
            }
            scores[j] = score
          }
          scores.withUnsafeMutableBufferPointer { softmaxInPlace($0) }
          for d in 0..<hs {
            var sum: Float = 0
            for j in 0..<visible { sum += scores[j] * v[(b * s + j) * c + h * hs + d] }
            y[(b * tq + i) * c + h * hs + d] = sum
          }
        }
      }
    }
    return .host(y, shape: [batch, tq, c])
  }
}
