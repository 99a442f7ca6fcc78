/// Shape rules of the decoding ops (see the `Decoding` section of ``Backend``), shared by every
/// backend so `.cpu` and `.gpu` reject exactly the same inputs.
extension ShapeCheck {
  package static func add(_ a: Tensor, _ b: Tensor) throws {
    try float(a, "a", op: "add")
    try float(b, "b", op: "add")
    try require(a.shape == b.shape, "add: a \(a.shape) vs b \(b.shape)")
  }

  /// ids `[B, T]`, tables `[rows, C]`; positions `first..<first + T` must be inside the table.
  package static func tokenEmbeddings(
    ids: Tensor, wordTable: Tensor, positionTable: Tensor, firstPosition: Int
  ) throws {
    let op = "tokenEmbeddings"
    try int(ids, "ids", op: op)
    try float(wordTable, "word table", op: op)
    try float(positionTable, "position table", op: op)
    try require(ids.rank == 2, "\(op): ids must be [B, T], got \(ids.shape)")
    try require(wordTable.rank == 2, "\(op): word table must be [V, C], got \(wordTable.shape)")
    try require(
      positionTable.rank == 2 && positionTable.shape[1] == wordTable.shape[1],
      "\(op): position table \(positionTable.shape) vs C = \(wordTable.shape[1])")
    let length = ids.shape[1]
    try require(
      firstPosition >= 0 && firstPosition + length <= positionTable.shape[0],
      "\(op): positions \(firstPosition)..<\(firstPosition + length) are outside the \(positionTable.shape[0]) rows of the position table",
      code: .invalidInput)
  }

  /// Returns (B, T, C, S).
  package static func writeKeyValueCache(
    _ qkv: Tensor, keyCache: Tensor, valueCache: Tensor, at start: Int
  ) throws -> (Int, Int, Int, Int) {
    let op = "writeKeyValueCache"
    try float(qkv, "qkv", op: op)
    try float(keyCache, "key cache", op: op)
    try float(valueCache, "value cache", op: op)
    try require(keyCache.rank == 3, "\(op): key cache must be [B, S, C], got \(keyCache.shape)")
    try require(
      keyCache.shape == valueCache.shape,
      "\(op): key cache \(keyCache.shape) vs value cache \(valueCache.shape)")
    let (batch, capacity, c) = (keyCache.shape[0], keyCache.shape[1], keyCache.shape[2])
    try require(
      qkv.rank == 3 && qkv.shape[0] == batch && qkv.shape[2] == 3 * c,
      "\(op): qkv \(qkv.shape) vs [B, T, 3C] = [\(batch), T, \(3 * c)]")
    let length = qkv.shape[1]
    try require(
      start >= 0 && start + length <= capacity,
      "\(op): rows \(start)..<\(start + length) do not fit a cache of \(capacity) positions",
      code: .invalidArgument)
    return (batch, length, c, capacity)
  }

  /// Returns the geometry; `queryStride` is C or 3C (packed QKV).
  package static func cachedAttention(
    query: Tensor, keyCache: Tensor, valueCache: Tensor, length: Int, mask: Tensor?, heads: Int
  ) throws -> (shape: AttentionShape, capacity: Int, queryStride: Int) {
    try queryAgainstCache(
      "cachedAttention", query: query, keys: keyCache, values: valueCache, names: ("key cache", "value cache"),
      length: length, mask: mask, heads: heads)
  }

  /// The rules of a block of Tq queries against the first `length` of S cached key/value rows
  /// (`cachedAttention`, T5's `biasedAttention`): query `[B, Tq, C]` or packed `[B, Tq, 3C]`, keys
  /// and values `[B, S, C]`, `Tq ≤ length ≤ S`, mask `[B, S]` int32. Returns the geometry, S and
  /// the query row stride.
  package static func queryAgainstCache(
    _ op: String, query: Tensor, keys: Tensor, values: Tensor, names: (keys: String, values: String),
    length: Int, mask: Tensor?, heads: Int
  ) throws -> (shape: AttentionShape, capacity: Int, queryStride: Int) {
    try float(query, "query", op: op)
    try float(keys, names.keys, op: op)
    try float(values, names.values, op: op)
    try require(keys.rank == 3, "\(op): \(names.keys) must be [B, S, C], got \(keys.shape)")
    try require(
      keys.shape == values.shape, "\(op): \(names.keys) \(keys.shape) vs \(names.values) \(values.shape)")
    let (batch, capacity, c) = (keys.shape[0], keys.shape[1], keys.shape[2])
    try require(
      query.rank == 3 && query.shape[0] == batch
        && (query.shape[2] == c || query.shape[2] == 3 * c),
      "\(op): query \(query.shape) vs [B, Tq, C] or [B, Tq, 3C] with B = \(batch), C = \(c)")
    try require(heads > 0, "\(op): heads must be positive, got \(heads)", code: .invalidArgument)
    try require(c % heads == 0, "\(op): \(c) channels not divisible by \(heads) heads")
    let tq = query.shape[1]
    try require(
      length >= tq && length <= capacity,
      "\(op): length \(length) must cover the \(tq) new queries and fit the \(capacity) cached positions",
      code: .invalidArgument)
    if let mask {
      try int(mask, "mask", op: op)
      try require(
        mask.shape == [batch, capacity],
        "\(op): mask \(mask.shape) vs [B, S] = [\(batch), \(capacity)]")
    }
    return (
      AttentionShape(batch: batch, queryLength: tq, keyLength: length, channels: c, heads: heads),
      capacity, query.shape[2]
    )
  }

  /// x `[B, T, C]`, `0 ≤ position < T`.
  package static func selectPosition(_ x: Tensor, _ position: Int) throws {
    try float(x, "x", op: "selectPosition")
    try require(x.rank == 3, "selectPosition: x must be [B, T, C], got \(x.shape)")
    try require(
      position >= 0 && position < x.shape[1],
      "selectPosition: position \(position) is outside [0, \(x.shape[1]))", code: .invalidArgument)
  }

  /// x `[..., V]` with V > 0.
  package static func argmax(_ x: Tensor) throws {
    try float(x, "x", op: "argmax")
    try require(x.rank >= 1 && x.lastDimension > 0, "argmax: x \(x.shape) has an empty last axis")
  }

  /// x `[..., C]` with C > 0, weight `[C]`.
  package static func rmsNorm(_ x: Tensor, weight: Tensor) throws {
    try float(x, "x", op: "rmsNorm")
    try float(weight, "weight", op: "rmsNorm")
    try require(x.rank >= 1 && x.lastDimension > 0, "rmsNorm: x \(x.shape) has no channels")
    try require(
      weight.shape == [x.lastDimension], "rmsNorm: weight \(weight.shape) vs [\(x.lastDimension)]")
  }
}
