import Foundation
import PhotonCore

extension CPUBackend {
  // x, residual, y: [T, C]; weight, bias: [C]
  public func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, eps: Float)
    throws -> Tensor
  {
    try ShapeCheck.layerNorm(x, residual: residual, weight: weight, bias: bias)
    let (xs, rs) = (try x.hostFloats(), try residual?.hostFloats() ?? [])
    let (g, b) = (try weight.hostFloats(), try bias.hostFloats())
    let c = x.lastDimension
    let y = [Float](filling: xs.count) { y in
      xs.withUnsafeBufferPointer { xs in
        rs.withUnsafeBufferPointer { rs in
          Parallel.forEachChunk(of: c > 0 ? x.rows : 0, grain: 16) { rows in
            for row in rows {
              let start = row * c
              let values = UnsafeMutableBufferPointer(rebasing: y[start..<(start + c)])
              if rs.isEmpty {
                for j in 0..<c { values[j] = xs[start + j] }
              } else {
                for j in 0..<c { values[j] = xs[start + j] + rs[start + j] }
              }
              layerNormRow(values, weight: g, bias: b, eps: eps)
            }
          }
        }
      }
    }
    return .host(y, shape: x.shape)
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
