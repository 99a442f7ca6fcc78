import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  /// Work-items per row of `argmax_rows` (a power of two).
  static let argmaxGroup = 64

  private func decodeKernel(_ name: String, defines: String = "") throws -> Kernel {
    try kernel(name, in: KernelSource.decode, file: "decode.cl", defines: defines)
  }

  // y: shape, all zero
  public func zeros(shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: shape.elementCount, shape: shape)
    let y = try allocate(shape, for: "zeros \(shape)")
    try decodeKernel("fill_zero").launch(
      on: device, [.buffer(try y.deviceBuffer(of: self)), .int(y.count)], global: [y.count],
      local: [64])
    return y
  }

  // a, b, y: same shape
  public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try ShapeCheck.add(a, b)
    let y = try allocate(a.shape, for: "add output \(a.shape)")
    try decodeKernel("add_elementwise").launch(
      on: device,
      [
        .buffer(try a.deviceBuffer(of: self)), .buffer(try b.deviceBuffer(of: self)),
        .buffer(try y.deviceBuffer(of: self)), .int(a.count),
      ], global: [a.count], local: [64])
    return y
  }

  // ids: [B, T]; tables: [rows, C]; y: [B, T, C] = word[ids] + position[first + t]
  public func tokenEmbeddings(
    ids: Tensor, wordTable: Tensor, positionTable: Tensor, firstPosition: Int
  )
    throws -> Tensor
  {
    try ShapeCheck.tokenEmbeddings(
      ids: ids, wordTable: wordTable, positionTable: positionTable, firstPosition: firstPosition)
    let (batch, t, c) = (ids.shape[0], ids.shape[1], wordTable.shape[1])
    let y = try allocate([batch, t, c], for: "tokenEmbeddings output")
    try decodeKernel("token_embeddings").launch(
      on: device,
      [
        .buffer(try ids.deviceBuffer(of: self)), .buffer(try wordTable.deviceBuffer(of: self)),
        .buffer(try positionTable.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
        .int(t), .int(c), .int(wordTable.shape[0]), .int(positionTable.shape[0]),
        .int(firstPosition),
      ], global: [c, t, batch], local: [max(1, min(c, 64)), 1, 1])
    return y
  }

  // qkv: [B, T, 3C]; caches: [B, S, C], written in place at rows start..<start+T
  public func writeKeyValueCache(_ qkv: Tensor, keyCache: Tensor, valueCache: Tensor, at start: Int)
    throws
  {
    let (batch, t, c, s) = try ShapeCheck.writeKeyValueCache(
      qkv, keyCache: keyCache, valueCache: valueCache, at: start)
    try decodeKernel("kv_cache_write").launch(
      on: device,
      [
        .buffer(try qkv.deviceBuffer(of: self)), .buffer(try keyCache.deviceBuffer(of: self)),
        .buffer(try valueCache.deviceBuffer(of: self)), .int(t), .int(c), .int(s), .int(start),
      ], global: [c, t, batch], local: [max(1, min(c, 64)), 1, 1])
  }

  // query: [B, Tq, C] or packed [B, Tq, 3C]; caches: [B, S, C]; mask: [B, S]; y: [B, Tq, C]
  public func cachedAttention(
    query: Tensor, keyCache: Tensor, valueCache: Tensor, length: Int, mask: Tensor?, heads: Int,
    scale: Float
  ) throws -> Tensor {
    let (shape, s, queryStride) = try ShapeCheck.cachedAttention(
      query: query, keyCache: keyCache, valueCache: valueCache, length: length, mask: mask,
      heads: heads)
    if shape.queryLength == 1, length >= Self.splitAttentionMinimumKeys, shape.batch > 0 {
      // A decode step over a long context: split across the keys (SplitAttention.swift).
      return try splitAttention(
        query: query, keys: keyCache, values: valueCache, length: length, positionBias: nil,
        mask: mask, heads: heads, headSize: shape.headSize, queryStride: queryStride,
        scale: scale, splits: Self.splitAttentionSplits(length: length))
    }
    let y = try allocate(
      [shape.batch, shape.queryLength, shape.channels], for: "cachedAttention output")
    guard shape.batch > 0, shape.queryLength > 0 else { return y }
    try decodeKernel("cached_attention", defines: "-DHEAD_DIM=\(shape.headSize)").launch(
      on: device,
      [
        .buffer(try query.deviceBuffer(of: self)), .buffer(try keyCache.deviceBuffer(of: self)),
        .buffer(try valueCache.deviceBuffer(of: self)), .buffer(try mask?.deviceBuffer(of: self)),
        .buffer(try y.deviceBuffer(of: self)), .int(shape.queryLength), .int(length), .int(s),
        .int(heads), .int(queryStride), .float(scale),
      ],
      // CPU devices: one work-item per group, else PoCL makes all Tq·NH·B items one group, which
      // runs on one core (GPT-2 small decode: 12 heads on one of 2 cores).
      global: [shape.queryLength, heads, shape.batch], local: device.info.isCPU ? [1, 1, 1] : nil)
    return y
  }

  // x: [B, T, C] → [B, 1, C]
  public func selectPosition(_ x: Tensor, _ position: Int) throws -> Tensor {
    try ShapeCheck.selectPosition(x, position)
    let (batch, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let y = try allocate([batch, 1, c], for: "selectPosition output")
    try decodeKernel("select_position").launch(
      on: device,
      [
        .buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(t),
        .int(c),
        .int(position),
      ], global: [c, batch], local: [max(1, min(c, 64)), 1])
    return y
  }

  // x: [..., V] → [...] int32
  public func argmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.argmax(x)
    let y = try allocate(Array(x.shape.dropLast()), .int32, for: "argmax output")
    try decodeKernel("argmax_rows", defines: "-DROW_WG=\(Self.argmaxGroup)").launch(
      on: device,
      [
        .buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
        .int(x.lastDimension),
      ],
      global: [Self.argmaxGroup, x.rows], local: [Self.argmaxGroup, 1])
    return y
  }

  // x, y: [..., C]; weight: [C]
  public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
    try ShapeCheck.rmsNorm(x, weight: weight)
    let y = try allocate(x.shape, for: "rmsNorm output \(x.shape)")
    try decodeKernel("rms_norm", defines: "-DROW_WG=\(Self.argmaxGroup)").launch(
      on: device,
      [
        .buffer(try x.deviceBuffer(of: self)), .buffer(try weight.deviceBuffer(of: self)),
        .buffer(try y.deviceBuffer(of: self)), .int(x.lastDimension), .float(eps),
      ], global: [Self.argmaxGroup, x.rows], local: [Self.argmaxGroup, 1])
    return y
  }
}
