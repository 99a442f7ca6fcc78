import COpenCL
import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  /// Columns of a packed weight are padded to a multiple of this (two float16 per k in
  /// `gemm_packed_rows_x32`, one 32-wide tile in `gemm_tiled_local`).
  static let packedColumnMultiple = 32
  static let gemmRows = 6

  /// Packs HF's W [N, K] as Wt [K, NP] (transposed, NP = N rounded up to 32, zero padding), once
  /// at load: every GEMM variant then streams contiguous weight rows along N.
  public func linearWeight(_ values: [Float], outFeatures n: Int, inFeatures k: Int) throws
    -> LinearWeight
  {
    try ShapeCheck.values(count: values.count, shape: [n, k])
    let np = (n + Self.packedColumnMultiple - 1) / Self.packedColumnMultiple * Self.packedColumnMultiple
    var packed = [Float](repeating: 0, count: k * np)
    for row in 0..<n {
      for column in 0..<k { packed[column * np + row] = values[row * k + column] }
    }
    return LinearWeight(outFeatures: n, inFeatures: k, storage: try tensor(packed, shape: [k, np]))
  }

  // x: [T, K], w: [N, K] (HF [out, in], packed as [K, NP]), b: [N], y: [T, N]
  public func linear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation)
    throws -> Tensor
  {
    let shape = try ShapeCheck.linear(x, weight, bias: bias)
    let (m, n, k) = (x.rows, weight.outFeatures, weight.inFeatures)
    let np = weight.storage.shape[1]
    let y = try allocate(shape, for: "linear output \(shape)")
    guard m > 0, n > 0 else { return y }
    let (xb, wb, yb) = (try x.deviceBuffer(of: self), try weight.storage.deviceBuffer(of: self), try y.deviceBuffer(of: self))
    let bb = try bias?.deviceBuffer(of: self)
    let act = activation.kernelCode
    let arguments: [KernelArgument] = [
      .buffer(xb), .buffer(wb), .buffer(bb), .buffer(yb), .int(m), .int(n), .int(k), .int(np), .int(act),
    ]
    switch gemmVariant {
    case .packedRows:
      try kernel("gemm_packed_rows_x32", in: KernelSource.gemm, file: "gemm.cl", defines: "-DGEMM_ROWS=\(Self.gemmRows)")
        .launch(
          on: device, arguments, global: [np / 32, (m + Self.gemmRows - 1) / Self.gemmRows],
          local: [1, 16])
    case .tiledLocal:
      try kernel("gemm_tiled_local", in: KernelSource.gemm, file: "gemm.cl", defines: "-DGEMM_ROWS=\(Self.gemmRows)")
        .launch(on: device, arguments, global: [(n + 31) / 32 * 8, (m + 31) / 32 * 8], local: [8, 8])
    case .clblast:
      try clblastGEMM(x: xb, wt: wb, y: yb, m: m, n: n, k: k, np: np)
      if bias != nil || activation != .identity {
        try kernel("bias_activation", in: KernelSource.gemm, file: "gemm.cl", defines: "-DGEMM_ROWS=\(Self.gemmRows)")
          .launch(
            on: device, [.buffer(yb), .buffer(bb), .int(m), .int(n), .int(act)],
            global: [n, m], local: [8, 8])
      }
    }
    return y
  }

  /// y = x · Wt[:, :N] through CLBlast (row-major, ldb = NP skips the pad columns).
  private func clblastGEMM(
    x: DeviceBuffer, wt: DeviceBuffer, y: DeviceBuffer, m: Int, n: Int, k: Int, np: Int
  ) throws {
    try ProgramCompiler.buildLock.withLock {
      try device.lock.withLock {
      var queue: cl_command_queue? = device.queue
      let status = CLBlastSgemm(
        CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, m, n, k, 1,
        x.mem, 0, k, wt.mem, 0, np, 0, y.mem, 0, n, &queue, nil)
      guard status == CLBlastSuccess else {
        throw PhotonError(
          .openCL, "CLBlastSgemm failed with status \(status.rawValue) for M=\(m) N=\(n) K=\(k)",
          cause: OpenCLFailure(call: "CLBlastSgemm", status: status.rawValue))
      }
      }
    }
  }

  // a: [B, M, K], b: [B, K, N] or [B, N, K], c: [B, M, N]
  public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeB: Bool) throws -> Tensor {
    let (batch, m, n, k) = try ShapeCheck.batchedMatmul(a, b, transposeB: transposeB)
    let c = try allocate([batch, m, n], for: "batchedMatmul output")
    try kernel("batched_matmul", in: KernelSource.gemm, file: "gemm.cl", defines: "-DGEMM_ROWS=\(Self.gemmRows)")
      .launch(
        on: device,
        [
          .buffer(try a.deviceBuffer(of: self)), .buffer(try b.deviceBuffer(of: self)),
          .buffer(try c.deviceBuffer(of: self)), .int(m), .int(n), .int(k), .int(transposeB ? 1 : 0),
        ], global: [n, m, batch], local: [8, 8, 1])
    return c
  }
}

extension Activation {
  /// The `ACT_*` code of `common.cl`.
  var kernelCode: Int {
    switch self {
    case .identity: 0
    case .gelu: 1
    case .geluTanh: 2
    case .relu: 3
    }
  }
}
