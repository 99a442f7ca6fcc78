import PhotonCore
import PhotonKernels

/// Embedding ops (kernels in embedding.cl).
extension OpenCLBackend {
  // ids, positions, tokenTypes: [B, T]; tables: [rows, C]; y: [B, T, C]
  public func embeddings(
    ids: Tensor, positions: Tensor, tokenTypes: Tensor?, wordTable: Tensor, positionTable: Tensor,
    tokenTypeTable: Tensor?, weight: Tensor, bias: Tensor, eps: Float
  ) throws -> Tensor {
    try ShapeCheck.embeddings(
      ids: ids, positions: positions, tokenTypes: tokenTypes, wordTable: wordTable,
      positionTable: positionTable, tokenTypeTable: tokenTypeTable, weight: weight, bias: bias)
    let c = wordTable.shape[1]
    let y = try allocate(ids.shape + [c], for: "embeddings output")
    try kernel("embeddings_layer_norm", in: KernelSource.embedding, file: "embedding.cl", defines: normDefines)
      .launch(
        on: device,
        [
          .buffer(try ids.deviceBuffer(of: self)), .buffer(try positions.deviceBuffer(of: self)),
          .buffer(try tokenTypes?.deviceBuffer(of: self)),
          .buffer(try wordTable.deviceBuffer(of: self)),
          .buffer(try positionTable.deviceBuffer(of: self)),
          .buffer(try tokenTypeTable?.deviceBuffer(of: self)),
          .buffer(try weight.deviceBuffer(of: self)), .buffer(try bias.deviceBuffer(of: self)),
          .buffer(try y.deviceBuffer(of: self)), .int(c), .int(wordTable.shape[0]),
          .int(positionTable.shape[0]), .int(tokenTypeTable?.shape[0] ?? 1), .float(eps),
        ], global: [Self.rowGroup, ids.count], local: [Self.rowGroup, 1])
    return y
  }

  // ids: [B, T]; table: [rows, C]; y: [B, T, C] = table[ids] (+ position[first + t])
  public func gather(_ table: Tensor, ids: Tensor, positionTable: Tensor?, firstPosition: Int) throws
    -> Tensor
  {
    let c = try ShapeCheck.gather(table, ids: ids, positionTable: positionTable, firstPosition: firstPosition)
    let (batch, t) = (ids.shape[0], ids.shape[1])
    let y = try allocate([batch, t, c], for: "gather output")
    guard y.count > 0 else { return y }
    try kernel("gather_rows", in: KernelSource.embedding, file: "embedding.cl").launch(
      on: device,
      [
        .buffer(try ids.deviceBuffer(of: self)), .buffer(try table.deviceBuffer(of: self)),
        .buffer(try positionTable?.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
        .int(t), .int(c), .int(table.shape[0]), .int(positionTable?.shape[0] ?? 1), .int(firstPosition),
      ], global: [c, t, batch], local: [max(1, min(c, 64)), 1, 1])
    return y
  }

  // x: [B, T, C] → [B, 1, C]
  public func selectPosition(_ x: Tensor, _ position: Int) throws -> Tensor {
    try ShapeCheck.selectPosition(x, position)
    let (batch, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let y = try allocate([batch, 1, c], for: "selectPosition output")
    guard y.count > 0 else { return y }
    try kernel("select_position", in: KernelSource.embedding, file: "embedding.cl").launch(
      on: device,
      [.buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(t), .int(c), .int(position)],
      global: [c, batch], local: [max(1, min(c, 64)), 1])
    return y
  }
}
