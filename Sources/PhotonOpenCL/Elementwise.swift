import PhotonCore
import PhotonKernels

/// Element-wise ops and the ones that take a row at a time (kernels in elementwise.cl).
extension OpenCLBackend {
  /// A kernel of elementwise.cl; ROW_WG is the work-group of the row kernels.
  private func elementwiseKernel(_ name: String) throws -> Kernel {
    try kernel(name, in: KernelSource.elementwise, file: "elementwise.cl", defines: "-DROW_WG=\(Self.rowGroup)")
  }

  // x, y: [..., C]
  public func softmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: "softmax")
    let y = try allocate(x.shape, for: "softmax output")
    try elementwiseKernel("softmax_rows")
      .launch(
        on: device,
        [.buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(x.lastDimension)],
        global: [Self.rowGroup, x.rows], local: [Self.rowGroup, 1])
    return y
  }

  // x, y: same shape
  public func unary(_ op: UnaryOperation, _ x: Tensor) throws -> Tensor {
    try ShapeCheck.float(x, "x", op: op.rawValue)
    let y = try allocate(x.shape, for: "\(op.rawValue) output")
    guard y.count > 0 else { return y }
    try elementwiseKernel("unary_elementwise").launch(
      on: device,
      [
        .buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(x.count),
        .int(op.kernelCode),
      ],
      global: [x.count], local: [64])
    return y
  }

  // a, b, y: same shape
  public func binary(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    try ShapeCheck.binary(op, a, b)
    let y = try allocate(a.shape, for: "\(op.rawValue) output \(a.shape)")
    guard y.count > 0 else { return y }
    try elementwiseKernel("binary_elementwise").launch(
      on: device,
      [
        .buffer(try a.deviceBuffer(of: self)), .buffer(try b.deviceBuffer(of: self)),
        .buffer(try y.deviceBuffer(of: self)), .int(a.count), .int(op == .multiply ? 1 : 0),
      ], global: [a.count], local: [64])
    return y
  }

  // y: shape, all zero
  public func zeros(shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: shape.elementCount, shape: shape)
    let y = try allocate(shape, for: "zeros \(shape)")
    guard y.count > 0 else { return y }
    try elementwiseKernel("fill_zero").launch(
      on: device, [.buffer(try y.deviceBuffer(of: self)), .int(y.count)], global: [y.count], local: [64])
    return y
  }

  // x: [..., V] → [...] int32
  public func argmax(_ x: Tensor) throws -> Tensor {
    try ShapeCheck.argmax(x)
    let y = try allocate(Array(x.shape.dropLast()), .int32, for: "argmax output")
    guard y.count > 0 else { return y }
    try elementwiseKernel("argmax_rows").launch(
      on: device,
      [.buffer(try x.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(x.lastDimension)],
      global: [Self.rowGroup, x.rows], local: [Self.rowGroup, 1])
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
    try elementwiseKernel("pool_masked")
      .launch(
        on: device,
        [
          .buffer(try x.deviceBuffer(of: self)), .buffer(try mask.deviceBuffer(of: self)),
          .buffer(try y.deviceBuffer(of: self)), .int(t), .int(c), .int(code),
        ], global: [c, batch], local: [16, 1])
    return y
  }
}

extension UnaryOperation {
  /// The op code of `unary_elementwise`: common.cl's ACT_* for the activations, UNARY_TANH.
  var kernelCode: Int {
    switch self {
    case .gelu: Activation.gelu.kernelCode
    case .geluTanh: Activation.geluTanh.kernelCode
    case .relu: Activation.relu.kernelCode
    case .tanh: 4
    }
  }
}
