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
    let (shape, capacity, queryStride) = try queryAgainstCache(
      op, query: query, keys: keys, values: values, names: ("keys", "values"), length: length, mask: mask,
      heads: heads)
    try require(shape.queryLength >= 1, "\(op): no queries in \(query.shape)", code: .invalidArgument)
    try float(positionBias, "position bias", op: op)
    try require(
      positionBias.rank == 3 && positionBias.shape[0] == heads && positionBias.shape[1] >= length
        && positionBias.shape[2] >= length,
      "\(op): position bias \(positionBias.shape) vs [NH, P, P'] with NH = \(heads), P, P' ≥ \(length)"
    )
    return (shape, capacity, queryStride, positionBias.shape[1], positionBias.shape[2])
  }
}
