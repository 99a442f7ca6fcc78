import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  /// Work-items per row in the reduction kernels (a power of two).
  static let rowGroup = 64

  /// Rows per work-group in `layer_norm_rows` (PoCL runs a group's items on one core).
  static let normRowsGroup = 16

  var normDefines: String { "-DNORM_WG=\(Self.rowGroup) -DROW_WG=\(Self.rowGroup)" }

  // x, residual, y: [..., C]; weight, bias: [C]
  public func normalize(_ x: Tensor, residual: Tensor?, _ kind: Normalization) throws -> Tensor {
    try ShapeCheck.normalize(x, residual: residual, kind)
    let y = try allocate(x.shape, for: "normalize output \(x.shape)")
    guard x.rows > 0 else { return y }
    let (xb, rb, yb) = (
      try x.deviceBuffer(of: self), try residual?.deviceBuffer(of: self), try y.deviceBuffer(of: self)
    )
    func normKernel(_ name: String) throws -> Kernel {
      try kernel(name, in: KernelSource.norm, file: "norm.cl", defines: normDefines)
    }
    let rowGroups = (global: [Self.rowGroup, x.rows], local: [Self.rowGroup, 1])
    switch kind {
    case .layer(let weight, let bias, let eps):
      let buffers: [KernelArgument] = [
        .buffer(xb), .buffer(rb), .buffer(try weight.deviceBuffer(of: self)),
        .buffer(try bias.deviceBuffer(of: self)), .buffer(yb), .int(x.lastDimension),
      ]
      switch normVariant {
      case .group:
        try normKernel("layer_norm").launch(
          on: device, buffers + [.float(eps)], global: rowGroups.global, local: rowGroups.local)
      case .rows:
        try normKernel("layer_norm_rows").launch(
          on: device, buffers + [.int(x.rows), .float(eps)], global: [x.rows], local: [Self.normRowsGroup])
      }
    case .rms(let weight, let eps):
      try normKernel("rms_norm").launch(
        on: device,
        [
          .buffer(xb), .buffer(rb), .buffer(try weight.deviceBuffer(of: self)), .buffer(yb), .int(x.lastDimension),
          .float(eps),
        ],
        global: rowGroups.global, local: rowGroups.local)
    case .l2:
      try normKernel("l2_norm").launch(
        on: device, [.buffer(xb), .buffer(rb), .buffer(yb), .int(x.lastDimension)], global: rowGroups.global,
        local: rowGroups.local)
    }
    return y
  }
}
