/// Shape rules shared by every backend, so `.cpu` and `.gpu` reject exactly the same inputs.
package enum ShapeCheck {
  package static func require(
    _ condition: Bool, _ message: @autoclosure () -> String, code: PhotonError.Code = .shapeMismatch
  ) throws {
    if !condition { throw PhotonError(code, message()) }
  }

  package static func float(_ t: Tensor, _ name: String, op: String) throws {
    try require(t.dtype == .float32, "\(op): \(name) must be float32, got \(t.dtype)")
  }

  package static func int(_ t: Tensor, _ name: String, op: String) throws {
    try require(t.dtype == .int32, "\(op): \(name) must be int32, got \(t.dtype)")
  }

  /// Values and shape agree, and no axis is negative.
  package static func values(count: Int, shape: [Int]) throws {
    try require(shape.allSatisfy { $0 >= 0 }, "negative size in shape \(shape)", code: .invalidArgument)
    try require(
      count == shape.elementCount, "\(count) values do not fill shape \(shape) (\(shape.elementCount))")
  }

  /// `x: [..., K]`, `W: [N, K]`, `b: [N]` → `[..., N]`.
  package static func linear(_ x: Tensor, _ w: LinearWeight, bias: Tensor?) throws -> [Int] {
    try float(x, "x", op: "linear")
    try require(x.rank >= 1, "linear: x must have at least one axis, got \(x.shape)")
    try require(
      x.lastDimension == w.inFeatures,
      "linear: x \(x.shape) has \(x.lastDimension) features, weight expects \(w.inFeatures) ([\(w.outFeatures), \(w.inFeatures)])"
    )
    if let bias {
      try float(bias, "bias", op: "linear")
      try require(
        bias.shape == [w.outFeatures], "linear: bias \(bias.shape) does not match [\(w.outFeatures)]")
    }
    return x.shape.dropLast() + [w.outFeatures]
  }

  /// Returns (B, M, N, K).
  package static func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeB: Bool) throws -> (
    Int, Int, Int, Int
  ) {
    try float(a, "a", op: "batchedMatmul")
    try float(b, "b", op: "batchedMatmul")
    try require(
      a.rank == 3 && b.rank == 3, "batchedMatmul: a \(a.shape) and b \(b.shape) must be rank 3")
    let (batch, m, k) = (a.shape[0], a.shape[1], a.shape[2])
    let (kb, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
    try require(b.shape[0] == batch, "batchedMatmul: batch \(batch) of a vs \(b.shape[0]) of b")
    try require(
      kb == k, "batchedMatmul: inner sizes differ: a \(a.shape), b \(b.shape), transposeB \(transposeB)")
    return (batch, m, n, k)
  }

  package static func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor) throws {
    try float(x, "x", op: "layerNorm")
    let c = x.lastDimension
    try require(x.rank >= 1 && c > 0, "layerNorm: x \(x.shape) has no channels")
    if let residual {
      try float(residual, "residual", op: "layerNorm")
      try require(residual.shape == x.shape, "layerNorm: residual \(residual.shape) vs x \(x.shape)")
    }
    try require(weight.shape == [c], "layerNorm: weight \(weight.shape) vs [\(c)]")
    try require(bias.shape == [c], "layerNorm: bias \(bias.shape) vs [\(c)]")
  }

  /// Geometry of an attention call.
  package struct AttentionShape: Sendable {
    package var batch: Int, queryLength: Int, keyLength: Int, channels: Int, heads: Int
    package var headSize: Int { channels / heads }
  }

  package static func attention(_ input: AttentionInput, mask: Tensor?, heads: Int) throws
    -> AttentionShape
  {
    let shape: AttentionShape
    switch input {
    case .packed(let qkv):
      try float(qkv, "qkv", op: "attention")
      try require(qkv.rank == 3, "attention: packed qkv must be [B, T, 3C], got \(qkv.shape)")
      try require(qkv.shape[2] % 3 == 0, "attention: packed qkv last axis \(qkv.shape[2]) is not 3C")
      shape = AttentionShape(
        batch: qkv.shape[0], queryLength: qkv.shape[1], keyLength: qkv.shape[1],
        channels: qkv.shape[2] / 3, heads: heads)
    case .separate(let q, let k, let v):
      for (t, name) in [(q, "query"), (k, "key"), (v, "value")] {
        try float(t, name, op: "attention")
        try require(t.rank == 3, "attention: \(name) must be [B, T, C], got \(t.shape)")
      }
      try require(k.shape == v.shape, "attention: key \(k.shape) vs value \(v.shape)")
      try require(
        q.shape[0] == k.shape[0] && q.shape[2] == k.shape[2],
        "attention: query \(q.shape) vs key \(k.shape)")
      shape = AttentionShape(
        batch: q.shape[0], queryLength: q.shape[1], keyLength: k.shape[1], channels: q.shape[2],
        heads: heads)
    }
    try require(heads > 0, "attention: heads must be positive, got \(heads)", code: .invalidArgument)
    try require(
      shape.channels % heads == 0, "attention: \(shape.channels) channels not divisible by \(heads) heads")
    if let mask {
      try int(mask, "mask", op: "attention")
      try require(
        mask.shape == [shape.batch, shape.keyLength],
        "attention: mask \(mask.shape) vs [B, Tk] = [\(shape.batch), \(shape.keyLength)]")
    }
    return shape
  }

  package static func embeddings(
    ids: Tensor, positions: Tensor, tokenTypes: Tensor?, wordTable: Tensor, positionTable: Tensor,
    tokenTypeTable: Tensor?, weight: Tensor, bias: Tensor
  ) throws {
    let op = "embeddings"
    try int(ids, "ids", op: op)
    try int(positions, "positions", op: op)
    try require(ids.rank == 2, "\(op): ids must be [B, T], got \(ids.shape)")
    try require(positions.shape == ids.shape, "\(op): positions \(positions.shape) vs ids \(ids.shape)")
    try require(wordTable.rank == 2, "\(op): word table must be [V, C], got \(wordTable.shape)")
    let c = wordTable.shape[1]
    try require(
      positionTable.rank == 2 && positionTable.shape[1] == c,
      "\(op): position table \(positionTable.shape) vs C = \(c)")
    if let tokenTypes {
      try int(tokenTypes, "tokenTypes", op: op)
      try require(tokenTypes.shape == ids.shape, "\(op): tokenTypes \(tokenTypes.shape) vs ids \(ids.shape)")
      try require(tokenTypeTable != nil, "\(op): tokenTypes given but no token type table")
    }
    if let tokenTypeTable {
      try require(
        tokenTypeTable.rank == 2 && tokenTypeTable.shape[1] == c,
        "\(op): token type table \(tokenTypeTable.shape) vs C = \(c)")
    }
    try require(weight.shape == [c] && bias.shape == [c], "\(op): norm weight/bias vs [\(c)]")
  }

  /// Ids must index inside their tables: checked on the host before any device work, because an
  /// out-of-range gather on a GPU reads garbage instead of failing.
  package static func indices(_ values: [Int32], below limit: Int, what: String) throws {
    if let (i, v) = values.enumerated().first(where: { $0.element < 0 || Int($0.element) >= limit }) {
      throw PhotonError(
        .invalidInput, "embeddings: \(what) \(v) at flat index \(i) is outside [0, \(limit))")
    }
  }

  /// `x: [B, T, C]`, `mask: [B, T]`.
  package static func pool(_ x: Tensor, mask: Tensor) throws {
    try float(x, "x", op: "pool")
    try int(mask, "mask", op: "pool")
    try require(x.rank == 3, "pool: x must be [B, T, C], got \(x.shape)")
    try require(mask.shape == Array(x.shape.prefix(2)), "pool: mask \(mask.shape) vs x \(x.shape)")
  }
}
