import PhotonCore

extension CPUBackend {
  public func zeros(shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: shape.elementCount, shape: shape)
    return .host([Float](repeating: 0, count: shape.elementCount), shape: shape)
  }

  // a, b, y: same shape
  public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try ShapeCheck.add(a, b)
    let (x, y) = (try a.hostFloats(), try b.hostFloats())
    return .host((0..<x.count).map { x[$0] + y[$0] }, shape: a.shape)
  }

  // ids: [B, T]; tables: [rows, C]; y: [B, T, C] = word[ids] + position[first + t]
  public func tokenEmbeddings(
    ids: Tensor, wordTable: Tensor, positionTable: Tensor, firstPosition: Int
  )
    throws -> Tensor
  {
    try ShapeCheck.tokenEmbeddings(
      ids: ids, wordTable: wordTable, positionTable: positionTable, firstPosition: firstPosition)
    let idValues = try ids.hostInts()
    try ShapeCheck.indices(idValues, below: wordTable.shape[0], what: "token id")
    let (word, position) = (try wordTable.hostFloats(), try positionTable.hostFloats())
    let (t, c) = (ids.shape[1], wordTable.shape[1])
    var y = [Float](repeating: 0, count: idValues.count * c)
    for token in idValues.indices {
      let (w, p) = (Int(idValues[token]), firstPosition + token % max(t, 1))
      for j in 0..<c { y[token * c + j] = word[w * c + j] + position[p * c + j] }
    }
    return .host(y, shape: ids.shape + [c])
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

  // query: [B, Tq, C] or packed [B, Tq, 3C]; caches: [B, S, C]; mask: [B, S]; y: [B, Tq, C]
  // The plain way again: copy the visible rows out of the cache and call the explicit-score
  // attention, with the mask cut to the first `length` columns.
  public func cachedAttention(
    query: Tensor, keyCache: Tensor, valueCache: Tensor, length: Int, mask: Tensor?, heads: Int,
    scale: Float
  ) throws -> Tensor {
    let (shape, s, queryStride) = try ShapeCheck.cachedAttention(
      query: query, keyCache: keyCache, valueCache: valueCache, length: length, mask: mask,
      heads: heads)
    let (batch, tq, c) = (shape.batch, shape.queryLength, shape.channels)
    let q = try query.hostFloats()
    let queryRows = (0..<(batch * tq)).flatMap { row in
      q[(row * queryStride)..<(row * queryStride + c)]
    }
    func visible(_ cache: Tensor) throws -> Tensor {
      let values = try cache.hostFloats()
      return .host(
        (0..<batch).flatMap { b in values[(b * s * c)..<((b * s + length) * c)] },
        shape: [batch, length, c])
    }
    var cutMask: Tensor?
    if let mask {
      let m = try mask.hostInts()
      cutMask = Tensor(
        shape: [batch, length], dtype: .int32,
        storage: HostStorage(ints: (0..<batch).flatMap { b in m[(b * s)..<(b * s + length)] }))
    }
    return try attention(
      .separate(
        query: .host(queryRows, shape: [batch, tq, c]), key: visible(keyCache),
        value: visible(valueCache)),
      mask: cutMask, causal: true, heads: heads, scale: scale)
  }

  // x: [B, T, C] → [B, 1, C]
  public func selectPosition(_ x: Tensor, _ position: Int) throws -> Tensor {
    try ShapeCheck.selectPosition(x, position)
    let values = try x.hostFloats()
    let (batch, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let start = { (b: Int) in (b * t + position) * c }
    return .host(
      (0..<batch).flatMap { b in values[start(b)..<(start(b) + c)] }, shape: [batch, 1, c])
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

  // x, y: [..., C]; weight: [C]. T5LayerNorm: the mean of squares in Double, no centring.
  public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
    try ShapeCheck.rmsNorm(x, weight: weight)
    var values = try x.hostFloats()
    let g = try weight.hostFloats()
    let c = x.lastDimension
    for row in 0..<x.rows {
      var squares = 0.0
      for j in 0..<c { squares += Double(values[row * c + j]) * Double(values[row * c + j]) }
      let inverse = 1 / (squares / Double(c) + Double(eps)).squareRoot()
      for j in 0..<c { values[row * c + j] = Float(Double(values[row * c + j]) * inverse) * g[j] }
    }
    return .host(values, shape: x.shape)
  }
}
