import PhotonCore

/// Embedding ops: the fused gather and layer norm of encoders, a plain gather (plus positions),
/// and one position's row.
extension CPUBackend {
  // ids, positions, tokenTypes: [B, T]; tables: [rows, C]; y: [B, T, C]
  public func embeddings(
    ids: Tensor, positions: Tensor, tokenTypes: Tensor?, wordTable: Tensor, positionTable: Tensor,
    tokenTypeTable: Tensor?, weight: Tensor, bias: Tensor, eps: Float
  ) throws -> Tensor {
    try ShapeCheck.embeddings(
      ids: ids, positions: positions, tokenTypes: tokenTypes, wordTable: wordTable,
      positionTable: positionTable, tokenTypeTable: tokenTypeTable, weight: weight, bias: bias)
    let c = wordTable.shape[1]
    let idValues = try ids.hostInts()
    let positionValues = try positions.hostInts()
    let typeValues = try tokenTypes?.hostInts() ?? [Int32](repeating: 0, count: idValues.count)
    try ShapeCheck.indices(idValues, below: wordTable.shape[0], what: "token id")
    try ShapeCheck.indices(positionValues, below: positionTable.shape[0], what: "position")
    if let tokenTypeTable {
      try ShapeCheck.indices(typeValues, below: tokenTypeTable.shape[0], what: "token type")
    }
    let word = try wordTable.hostFloats()
    let position = try positionTable.hostFloats()
    let type = try tokenTypeTable?.hostFloats()
    let (g, b) = (try weight.hostFloats(), try bias.hostFloats())
    let y = [Float](filling: idValues.count * c) { y in
      Parallel.forEachChunk(of: c > 0 ? idValues.count : 0, grain: 16) { tokens in
        for token in tokens {
          let (w, p, t) = (Int(idValues[token]), Int(positionValues[token]), Int(typeValues[token]))
          let row = UnsafeMutableBufferPointer(rebasing: y[(token * c)..<((token + 1) * c)])
          for j in 0..<c {
            var v = word[w * c + j] + position[p * c + j]
            if let type { v += type[t * c + j] }
            row[j] = v
          }
          layerNormRow(row, weight: g, bias: b, eps: eps)
        }
      }
    }
    return .host(y, shape: ids.shape + [c])
  }

  // ids: [B, T]; tables: [rows, C]; y: [B, T, C] = table[ids] (+ position[first + t])
  public func gather(_ table: Tensor, ids: Tensor, positionTable: Tensor?, firstPosition: Int) throws
    -> Tensor
  {
    let c = try ShapeCheck.gather(table, ids: ids, positionTable: positionTable, firstPosition: firstPosition)
    let idValues = try ids.hostInts()
    try ShapeCheck.indices(idValues, below: table.shape[0], what: "token id")
    let rows = try table.hostFloats()
    let positions = try positionTable?.hostFloats()
    let t = max(ids.shape[1], 1)
    var y = [Float](repeating: 0, count: idValues.count * c)
    for (token, id) in idValues.enumerated() {
      for j in 0..<c { y[token * c + j] = rows[Int(id) * c + j] }
      if let positions {
        let p = firstPosition + token % t
        for j in 0..<c { y[token * c + j] += positions[p * c + j] }
      }
    }
    return .host(y, shape: ids.shape + [c])
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
}
