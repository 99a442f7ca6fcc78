import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  /// Work-items per row in the reduction kernels (a power of two).
  static let rowGroup = 64

  /// Rows per work-group in `layer_norm_rows` (PoCL runs a group's items on one core).
  static let normRowsGroup = 16

  var normDefines: String { "-DNORM_WG=\(Self.rowGroup) -DROW_WG=\(Self.rowGroup)" }

  // x, residual, y: [T, C]; weight, bias: [C]
  public func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, eps: Float)
    throws -> Tensor
  {
    try ShapeCheck.layerNorm(x, residual: residual, weight: weight, bias: bias)
    let y = try allocate(x.shape, for: "layerNorm output \(x.shape)")
    let buffers: [KernelArgument] = [
      .buffer(try x.deviceBuffer(of: self)), .buffer(try residual?.deviceBuffer(of: self)),
      .buffer(try weight.deviceBuffer(of: self)), .buffer(try bias.deviceBuffer(of: self)),
      .buffer(try y.deviceBuffer(of: self)), .int(x.lastDimension),
    ]
    switch normVariant {
    case .group:
      try kernel("layer_norm", in: KernelSource.norm, file: "norm.cl", defines: normDefines).launch(
        on: device, buffers + [.float(eps)], global: [Self.rowGroup, x.rows], local: [Self.rowGroup, 1])
    case .rows:
      try kernel("layer_norm_rows", in: KernelSource.norm, file: "norm.cl", defines: normDefines).launch(
        on: device, buffers + [.int(x.rows), .float(eps)], global: [x.rows], local: [Self.normRowsGroup])
    }
    return y
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
    let y = try allocate(ids.shape + [c], for: "embeddings output")
    try kernel("embeddings_layer_norm", in: KernelSource.norm, file: "norm.cl", defines: normDefines)
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

  // x, y: [..., C]
  public func l2Normalize(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "l2Normalize")
    let y = try allocate(x.shape, for: "l2Normalize output")
    try kernel("l2_normalize", in: KernelSource.norm, file: "norm.cl", defines: normDefines).launch(
      on: device,
      [.buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(x.lastDimension)],
      global: [Self.rowGroup, x.rows], local: [Self.rowGroup, 1])
    return y
  }

  // x, y: [..., C]
  public func softmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "softmax")
    let y = try allocate(x.shape, for: "softmax output")
    try kernel("softmax_rows", in: KernelSource.elementwise, file: "elementwise.cl", defines: normDefines)
      .launch(
        on: device,
        [.buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(x.lastDimension)],
        global: [Self.rowGroup, x.rows], local: [Self.rowGroup, 1])
    return y
  }

  public func tanh(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "tanh")
    let y = try allocate(x.shape, for: "tanh output")
    try kernel("tanh_elementwise", in: KernelSource.elementwise, file: "elementwise.cl", defines: normDefines)
      .launch(
        on: device,
        [.buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(x.count)],
        global: [x.count], local: [64])
    return y
  }

  // x: [B, T, C], mask: [B, T], y: [B, C]
  public func pool(_ x: Tensor, mask: Tensor, mode: Pooling) throws -> Tensor {
    try ShapeCheck.pool(x, mask: mask)
    let (batch, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let y = try allocate([batch, c], for: "pool output")
    let code: Int
    switch mode {
    case .mean: code = 0
    case .cls: code = 1
    case .max: code = 2
    }
    try kernel("pool_masked", in: KernelSource.elementwise, file: "elementwise.cl", defines: normDefines)
      .launch(
        on: device,
        [
          .buffer(try x.deviceBuffer(of: self)), .buffer(try mask.deviceBuffer(of: self)),
          .buffer(try y.deviceBuffer(of: self)), .int(t), .int(c), .int(code),
        ], global: [c, batch], local: [16, 1])
    return y
  }
}
