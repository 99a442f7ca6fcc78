import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  private func t5Kernel(_ name: String, defines: String = "") throws -> Kernel {
    try kernel(name, in: KernelSource.t5, file: "t5.cl", defines: defines)
  }

  // ids: [B, T]; table: [rows, C]; y: [B, T, C] = table[ids]
  public func gather(_ table: Tensor, ids: Tensor) throws -> Tensor {
    let c = try ShapeCheck.gather(table, ids: ids)
    let (batch, t) = (ids.shape[0], ids.shape[1])
    let y = try allocate([batch, t, c], for: "gather output")
    guard y.count > 0 else { return y }
    try t5Kernel("gather_rows").launch(
      on: device,
      [
        .buffer(try ids.deviceBuffer(of: self)), .buffer(try table.deviceBuffer(of: self)),
        .buffer(try y.deviceBuffer(of: self)), .int(t), .int(c), .int(table.shape[0]),
      ], global: [c, t, batch], local: [max(1, min(c, 64)), 1, 1])
    return y
  }

  // a, b, y: same shape
  public func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    try ShapeCheck.multiply(a, b)
    let y = try allocate(a.shape, for: "multiply output \(a.shape)")
    guard y.count > 0 else { return y }
    try t5Kernel("multiply_elementwise").launch(
      on: device,
      [
        .buffer(try a.deviceBuffer(of: self)), .buffer(try b.deviceBuffer(of: self)),
        .buffer(try y.deviceBuffer(of: self)), .int(a.count),
      ], global: [a.count], local: [64])
    return y
  }

  // query: [B, Tq, C] or packed [B, Tq, 3C]; keys, values: [B, S, C]; positionBias: [NH, P, P'];
  // mask: [B, S]; y: [B, Tq, C]
  public func biasedAttention(
    query: Tensor, keys: Tensor, values: Tensor, length: Int, positionBias: Tensor, mask: Tensor?,
    causal: Bool, heads: Int, scale: Float
  ) throws -> Tensor {
    let (shape, s, queryStride, biasRows, biasColumns) = try ShapeCheck.biasedAttention(
      query: query, keys: keys, values: values, length: length, positionBias: positionBias,
      mask: mask, heads: heads)
    if shape.queryLength == 1, length >= Self.splitAttentionMinimumKeys, shape.batch > 0 {
      // A decode step over a long context: split across the keys (SplitAttention.swift). With
      // one query at position L − 1 the causal rule excludes nothing.
      return try splitAttention(
        query: query, keys: keys, values: values, length: length, positionBias: positionBias,
        mask: mask, heads: heads, headSize: shape.headSize, queryStride: queryStride,
        scale: scale, splits: Self.splitAttentionSplits(length: length))
    }
    let y = try allocate(
      [shape.batch, shape.queryLength, shape.channels], for: "biasedAttention output")
    guard shape.batch > 0, shape.channels > 0 else { return y }
    try t5Kernel("biased_attention", defines: "-DHEAD_DIM=\(shape.headSize)").launch(
      on: device,
      [
        .buffer(try query.deviceBuffer(of: self)), .buffer(try keys.deviceBuffer(of: self)),
        .buffer(try values.deviceBuffer(of: self)),
        .buffer(try positionBias.deviceBuffer(of: self)),
        .buffer(try mask?.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
        .int(shape.queryLength), .int(length), .int(s), .int(heads), .int(queryStride),
        .int(biasRows), .int(biasColumns), .float(scale), .int(causal ? 1 : 0),
      ], global: [shape.queryLength, heads, shape.batch], local: nil)
    return y
  }
}
