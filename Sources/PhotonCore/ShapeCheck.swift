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

  /// x `[..., C]` with C > 0; residual as x; the kind's weight and bias `[C]`.
  package static func normalize(_ x: Tensor, residual: Tensor?, _ kind: Normalization) throws {
    let op = "normalize"
    try float(x, "x", op: op)
    let c = x.lastDimension
    try require(x.rank >= 1 && c > 0, "\(op): x \(x.shape) has no channels")
    if let residual {
      try float(residual, "residual", op: op)
      try require(residual.shape == x.shape, "\(op): residual \(residual.shape) vs x \(x.shape)")
    }
    switch kind {
    case .layer(let weight, let bias, _):
      try float(weight, "weight", op: op)
      try float(bias, "bias", op: op)
      try require(weight.shape == [c], "\(op): weight \(weight.shape) vs [\(c)]")
      try require(bias.shape == [c], "\(op): bias \(bias.shape) vs [\(c)]")
    case .rms(let weight, _):
      try float(weight, "weight", op: op)
      try require(weight.shape == [c], "\(op): weight \(weight.shape) vs [\(c)]")
    case .l2: break
    }
  }

  /// Geometry of an attention call: `L` keys read of `S` rows, query rows `queryStride` floats
  /// apart (C, or 3C when they are the first third of a packed QKV tensor).
  package struct AttentionShape: Sendable {
    package var batch: Int, queryLength: Int, keyLength: Int, keyRows: Int, channels: Int, heads: Int
    package var queryStride: Int
    /// The position bias's `(P, P′)`, or (0, 0) without one.
    package var biasRows = 0, biasColumns = 0
    package var headSize: Int { channels / heads }
  }

  package static func attention(_ call: AttentionCall) throws -> AttentionShape {
    let op = "attention"
    let heads = call.heads
    try require(heads > 0, "\(op): heads must be positive, got \(heads)", code: .invalidArgument)
    var shape: AttentionShape
    switch call.input {
    case .packed(let qkv):
      try float(qkv, "qkv", op: op)
      try require(qkv.rank == 3, "\(op): packed qkv must be [B, T, 3C], got \(qkv.shape)")
      try require(qkv.shape[2] % 3 == 0, "\(op): packed qkv last axis \(qkv.shape[2]) is not 3C")
      let c = qkv.shape[2] / 3
      shape = AttentionShape(
        batch: qkv.shape[0], queryLength: qkv.shape[1], keyLength: qkv.shape[1], keyRows: qkv.shape[1],
        channels: c, heads: heads, queryStride: 3 * c)
    case .separate(let q, let k, let v):
      for (t, name) in [(q, "query"), (k, "key"), (v, "value")] {
        try float(t, name, op: op)
        try require(t.rank == 3, "\(op): \(name) must be rank 3, got \(t.shape)")
      }
      try require(k.shape == v.shape, "\(op): key \(k.shape) vs value \(v.shape)")
      let (batch, rows, c) = (k.shape[0], k.shape[1], k.shape[2])
      try require(
        q.shape[0] == batch && (q.shape[2] == c || q.shape[2] == 3 * c),
        "\(op): query \(q.shape) vs [B, Tq, C] or [B, Tq, 3C] with B = \(batch), C = \(c)")
      shape = AttentionShape(
        batch: batch, queryLength: q.shape[1], keyLength: rows, keyRows: rows, channels: c, heads: heads,
        queryStride: q.shape[2])
    }
    try require(
      shape.channels % heads == 0, "\(op): \(shape.channels) channels not divisible by \(heads) heads")
    if let length = call.keyLength {
      try require(
        length >= shape.queryLength && length <= shape.keyRows,
        "\(op): key length \(length) must cover the \(shape.queryLength) queries and fit the \(shape.keyRows) key rows",
        code: .invalidArgument)
      shape.keyLength = length
    }
    if let mask = call.mask {
      try int(mask, "mask", op: op)
      try require(
        mask.shape == [shape.batch, shape.keyRows],
        "\(op): mask \(mask.shape) vs [B, S] = [\(shape.batch), \(shape.keyRows)]")
    }
    if let bias = call.positionBias {
      try float(bias, "position bias", op: op)
      try require(
        shape.queryLength <= shape.keyLength,
        "\(op): a position bias needs the \(shape.queryLength) queries among the \(shape.keyLength) key positions",
        code: .invalidArgument)
      try require(
        bias.rank == 3 && bias.shape[0] == heads && bias.shape[1] >= shape.keyLength
          && bias.shape[2] >= shape.keyLength,
        "\(op): position bias \(bias.shape) vs [NH, P, P'] with NH = \(heads), P, P' ≥ \(shape.keyLength)")
      (shape.biasRows, shape.biasColumns) = (bias.shape[1], bias.shape[2])
    }
    switch call.masking {
    case .window(let radius):
      try require(radius >= 0, "\(op): window radius \(radius) is negative", code: .invalidArgument)
    case .causalWindow(let size):
      try require(size >= 1, "\(op): window size \(size) must be at least 1", code: .invalidArgument)
    case .none, .causal: break
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
