/// Shape rules of T5's ops (see the `T5` section of ``Backend``), shared by every backend.
extension ShapeCheck {
  /// ids `[B, T]` int32, table `[rows, C]`; returns C.
  package static func gather(_ table: Tensor, ids: Tensor) throws -> Int {
    try float(table, "table", op: "gather")
    try int(ids, "ids", op: "gather")
    try require(table.rank == 2, "gather: table must be [rows, C], got \(table.shape)")
    try require(ids.rank == 2, "gather: ids must be [B, T], got \(ids.shape)")
    return table.shape[1]
  }

  package static func multiply(_ a: Tensor, _ b: Tensor) throws {
    try float(a, "a", op: "multiply")
    try float(b, "b", op: "multiply")
    try require(a.shape == b.shape, "multiply: a \(a.shape) vs b \(b.shape)")
  }

  /// Returns the geometry, the key rows S, the query row stride (C or 3C) and the bias's (P, P′).
  package static func biasedAttention(
    query: Tensor, keys: Tensor, values: Tensor, length: Int, positionBias: Tensor, mask: Tensor?,
    heads: Int
  ) throws -> (
    shape: AttentionShape, capacity: Int, queryStride: Int, biasRows: Int, biasColumns: Int
  ) {
    let op = "biasedAttention"
    try float(query, "query", op: op)
    try float(keys, "keys", op: op)
    try float(values, "values", op: op)
    try float(positionBias, "position bias", op: op)
    try require(keys.rank == 3, "\(op): keys must be [B, S, C], got \(keys.shape)")
    try require(keys.shape == values.shape, "\(op): keys \(keys.shape) vs values \(values.shape)")
    let (batch, capacity, c) = (keys.shape[0], keys.shape[1], keys.shape[2])
    try require(
      query.rank == 3 && query.shape[0] == batch
        && (query.shape[2] == c || query.shape[2] == 3 * c),
      "\(op): query \(query.shape) vs [B, Tq, C] or [B, Tq, 3C] with B = \(batch), C = \(c)")
    try require(heads > 0, "\(op): heads must be positive, got \(heads)", code: .invalidArgument)
    try require(c % heads == 0, "\(op): \(c) channels not divisible by \(heads) heads")
    let tq = query.shape[1]
    try require(
      tq >= 1 && length >= tq && length <= capacity,
      "\(op): length \(length) must cover the \(tq) queries and fit the \(capacity) key rows",
      code: .invalidArgument)
    try require(
      positionBias.rank == 3 && positionBias.shape[0] == heads && positionBias.shape[1] >= length
        && positionBias.shape[2] >= length,
      "\(op): position bias \(positionBias.shape) vs [NH, P, P'] with NH = \(heads), P, P' ≥ \(length)"
    )
    if let mask {
      try int(mask, "mask", op: op)
      try require(
        mask.shape == [batch, capacity],
        "\(op): mask \(mask.shape) vs [B, S] = [\(batch), \(capacity)]")
    }
    return (
      AttentionShape(batch: batch, queryLength: tq, keyLength: length, channels: c, heads: heads),
      capacity, query.shape[2], positionBias.shape[1], positionBias.shape[2]
    )
  }
}
