import Foundation
import PhotonCore

extension CPUBackend {
  // x, residual, y: [T, C]; weight, bias: [C]
  public func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, eps: Float)
    throws -> Tensor
  {
    try ShapeCheck.layerNorm(x, residual: residual, weight: weight, bias: bias)
    var values = try x.hostFloats()
    if let residual {
      let r = try residual.hostFloats()
      for i in values.indices { values[i] += r[i] }
    }
    let (g, b) = (try weight.hostFloats(), try bias.hostFloats())
    let c = x.lastDimension
    for row in 0..<x.rows {
      layerNormRow(&values[(row * c)..<((row + 1) * c)], weight: g, bias: b, eps: eps)
    }
    return .host(values, shape: x.shape)
  }

  /// Two passes: mean, then variance of the centred values (biased, as PyTorch).
  func layerNormRow(_ row: inout ArraySlice<Float>, weight: [Float], bias: [Float], eps: Float) {
    let c = row.count
    let start = row.startIndex
    var mean = 0.0
    for v in row { mean += Double(v) }
    mean /= Double(c)
    var variance = 0.0
    for v in row { variance += (Double(v) - mean) * (Double(v) - mean) }
    variance /= Double(c)
    let inverse = 1 / (variance + Double(eps)).squareRoot()
    for j in 0..<c {
      row[start + j] = Float((Double(row[start + j]) - mean) * inverse) * weight[j] + bias[j]
    }
  }

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
    var y = [Float](repeating: 0, count: idValues.count * c)
    for token in idValues.indices {
      let (w, p, t) = (Int(idValues[token]), Int(positionValues[token]), Int(typeValues[token]))
      for j in 0..<c {
        var v = word[w * c + j] + position[p * c + j]
        if let type { v += type[t * c + j] }
        y[token * c + j] = v
      }
      layerNormRow(&y[(token * c)..<((token + 1) * c)], weight: g, bias: b, eps: eps)
    }
    return .host(y, shape: ids.shape + [c])
  }

  // x, y: [..., C]
  public func l2Normalize(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "l2Normalize")
    var values = try x.hostFloats()
    let c = x.lastDimension
    for row in 0..<x.rows {
      var sum = 0.0
      for j in 0..<c { sum += Double(values[row * c + j]) * Double(values[row * c + j]) }
      let norm = max(sum.squareRoot(), 1e-12)
      for j in 0..<c { values[row * c + j] = Float(Double(values[row * c + j]) / norm) }
    }
    return .host(values, shape: x.shape)
  }
}
