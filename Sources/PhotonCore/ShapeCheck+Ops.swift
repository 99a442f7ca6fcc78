/// Shape rules of the element-wise, gather and KV-cache ops, shared by every backend so `.cpu` and
/// `.gpu` reject exactly the same inputs.
extension ShapeCheck {
  package static func binary(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor) throws {
    try float(a, "a", op: op.rawValue)
    try float(b, "b", op: op.rawValue)
    try require(a.shape == b.shape, "\(op.rawValue): a \(a.shape) vs b \(b.shape)")
  }

  /// ids `[B, T]` int32, table `[rows, C]`; positions `first..<first + T` must be inside the
  /// position table. Returns C.
  package static func gather(
    _ table: Tensor, ids: Tensor, positionTable: Tensor?, firstPosition: Int
  ) throws -> Int {
    let op = "gather"
    try int(ids, "ids", op: op)
    try float(table, "table", op: op)
    try require(ids.rank == 2, "\(op): ids must be [B, T], got \(ids.shape)")
    try require(table.rank == 2, "\(op): table must be [rows, C], got \(table.shape)")
    let c = table.shape[1]
    if let positionTable {
      try float(positionTable, "position table", op: op)
      try require(
        positionTable.rank == 2 && positionTable.shape[1] == c,
        "\(op): position table \(positionTable.shape) vs C = \(c)")
      let length = ids.shape[1]
      try require(
        firstPosition >= 0 && firstPosition + length <= positionTable.shape[0],
        "\(op): positions \(firstPosition)..<\(firstPosition + length) are outside the \(positionTable.shape[0]) rows of the position table",
        code: .invalidInput)
    }
    return c
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

}
