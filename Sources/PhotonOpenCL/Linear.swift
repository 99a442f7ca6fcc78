import COpenCL
import Foundation
import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  /// Columns of a packed weight are padded to a multiple of this (two float16 per k in
  /// `gemm_packed_rows_x32`, one 32-wide tile in `gemm_tiled_local`).
  static let packedColumnMultiple = 32
  static let gemmRows = 6

  /// Packs HF's W [N, K] once at load, in the layout this backend's GEMM variant streams:
  /// - `panelRows`: column panels Wp [NP/P, K, P] (P = 16·`vecs` columns, NP = N rounded up to P,
  ///   zero padding): panel p is Wᵀ[:, p·P ..< (p+1)·P], k-major and contiguous.
  /// - the others: Wt [K, NP] (transposed, NP = N rounded up to 32, zero padding), contiguous
  ///   weight rows along N (CLBlast reads it as a row-major K×N matrix with ldb = NP).
  public func linearWeight(_ values: [Float], outFeatures n: Int, inFeatures k: Int) throws
    -> LinearWeight
  {
    try ShapeCheck.values(count: values.count, shape: [n, k])
    let (packed, shape) = pack(values, rows: n, columns: k, pad: 0, panels: gemmVariant == .panelRows)
    return LinearWeight(outFeatures: n, inFeatures: k, storage: try tensor(packed, shape: shape))
  }

  // x: [T, K], w: [N, K] (HF [out, in], packed as [K, NP]), b: [N], y: [T, N]
  public func linear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation)
    throws -> Tensor
  {
    // fp16 / int8 weights: QuantizedLinear.swift (kernels in gemm_quant.cl).
    if weight.precision != .fp32 { return try quantizedLinear(x, weight, bias: bias, activation: activation) }
    let shape = try ShapeCheck.linear(x, weight, bias: bias)
    let (m, n, k) = (x.rows, weight.outFeatures, weight.inFeatures)
    // Wp [NP/P, K, P] for panelRows, Wt [K, NP] otherwise (see linearWeight).
    let panelWidth = weight.storage.shape.count == 3 ? weight.storage.shape[2] : nil
    guard (gemmVariant == .panelRows) == (panelWidth != nil) else {
      throw PhotonError(
        .invalidArgument,
        "linear weight \(weight.storage.shape) is not packed for GEMM variant \(gemmVariant.rawValue); pack it with linearWeight of this backend"
      )
    }
    let np = panelWidth.map { weight.storage.shape[0] * $0 } ?? weight.storage.shape[1]
    let y = try allocate(shape, for: "linear output \(shape)")
    guard m > 0, n > 0 else { return y }
    let (xb, wb, yb) = (
      try x.deviceBuffer(of: self), try weight.storage.deviceBuffer(of: self),
      try y.deviceBuffer(of: self)
    )
    let bb = try bias?.deviceBuffer(of: self)
    let act = activation.kernelCode
    let arguments: [KernelArgument] = [
      .buffer(xb), .buffer(wb), .buffer(bb), .buffer(yb), .int(m), .int(n), .int(k), .int(np),
      .int(act),
    ]
    switch gemmVariant {
    case .packedRows:
      try kernel(
        "gemm_packed_rows_x32", in: KernelSource.gemm, file: "gemm.cl",
        defines: "-DGEMM_ROWS=\(Self.gemmRows)"
      )
      .launch(
        on: device, arguments, global: [np / 32, (m + Self.gemmRows - 1) / Self.gemmRows],
        local: [1, 16])
    case .panelRows:
      let p = panelWidth ?? 32
      let tuning = GEMMPanelTuning.choose(
        m: m, n: n, k: k, panelVectors: p / 16, device: device.info)
      try kernel("gemm_panel_rows", in: KernelSource.gemm, file: "gemm.cl", defines: tuning.defines)
        .launch(
          on: device, arguments, global: [np / p, (m + tuning.rows - 1) / tuning.rows],
          local: tuning.local)
    case .tiledLocal:
      try kernel(
        "gemm_tiled_local", in: KernelSource.gemm, file: "gemm.cl",
        defines: "-DGEMM_ROWS=\(Self.gemmRows)"
      )
      .launch(
        on: device, arguments, global: [(n + 31) / 32 * 8, (m + 31) / 32 * 8], local: [8, 8])
    case .clblast:
      try clblastGEMM(x: xb, wt: wb, y: yb, m: m, n: n, k: k, np: np)
      if bias != nil || activation != .identity {
        try kernel(
          "bias_activation", in: KernelSource.gemm, file: "gemm.cl",
          defines: "-DGEMM_ROWS=\(Self.gemmRows)"
        )
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
        device.countersStorage.kernelLaunches += 1
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
}

/// Knobs of `gemm_panel_rows`: the `-D` defines (part of the program cache key) and the work-group.
/// The panel width is fixed when the weight is packed; rows and work-group are chosen per launch.
/// `PHOTON_GEMM_TUNING` (e.g. `rows=6,vecs=2,local=1x16,unroll=4`, any subset) overrides the
/// defaults, for `photon bench-gemm` sweeps.
struct GEMMPanelTuning: Equatable {
  /// GEMM_ROWS: rows of y per work-item.
  var rows: Int
  /// GEMM_PANEL_VECS: float16 vectors per row (the panel is 16·vecs columns).
  var vecs: Int
  /// GEMM_K_UNROLL.
  var unroll: Int
  /// The work-group (panels, row blocks). PoCL builds the kernel again for each distinct size.
  var local: [Int]

  var defines: String { "-DGEMM_ROWS=\(rows) -DGEMM_PANEL_VECS=\(vecs) -DGEMM_K_UNROLL=\(unroll)" }

  /// Whether the device's float16 is one register (AVX-512: 32 of them) rather than two (AVX2:
  /// 16 registers). PoCL names its CPU device after the LLVM target (`pthread-skylake-avx512-…`,
  /// `pthread-haswell-…`); unknown names get the narrow panel, which measured as fast on Zen 4.
  static func hasWideVectors(_ device: DeviceInfo) -> Bool {
    let wide = [
      "avx512", "znver4", "znver5", "icelake", "tigerlake", "cascadelake", "cooperlake",
      "sapphirerapids", "graniterapids", "emeraldrapids", "cannonlake", "rocketlake",
    ]
    return wide.contains { device.name.contains($0) }
  }

  /// Panel width in float16 vectors, fixed at load for the device. Measured on PoCL (Zen 4, 2 cores,
  /// ≈ 205–220 GFLOP/s per CPU-second·2 for every block below at 4096×1536×384): 6×32 and 6×16 tie
  /// with AVX-512; with AVX2 code (`POCL_LLVM_CPU_NAME=haswell`) 6×32 needs 24 of 16 ymm registers,
  /// spills and halves (113 vs 209 GFLOP/s), so such devices get 16-column panels.
  static func panelVectors(for device: DeviceInfo) -> Int {
    if let vecs = override?.vecs { return vecs }
    return hasWideVectors(device) ? 2 : 1
  }

  /// Rows per work-item: the candidate that leaves the fewest rows computed and thrown away
  /// (M = 16: 8 rows, no waste, vs 6 rows, 2 wasted: +15% at M = 16), larger first on ties.
  /// Candidates keep rows·vecs float16 accumulators within the register file (see panelVectors).
  /// Work-group 1×1: on PoCL every shape measured alike (1×1, 4×4, 16×1, 1×16 within noise), and one
  /// local size means one compile per defines.
  static func choose(m: Int, n: Int, k: Int, panelVectors: Int, device: DeviceInfo)
    -> GEMMPanelTuning
  {
    // M = 1 (a decode step) is a GEMV: one row per work-item. Larger blocks would compute M-1
    // clamped copies of row 0 and made fp32 decode compute-bound (GPT-2 small on PoCL, Zen 4:
    // 23.1 → 17.6 ms of GEMMs per step with rows 4 → 1).
    let candidates = m == 1 ? [1] : panelVectors >= 2 ? [8, 6, 4] : [6, 4, 3]
    let rows = candidates.min { a, b in
      let (wasteA, wasteB) = ((m + a - 1) / a * a - m, (m + b - 1) / b * b - m)
      return wasteA != wasteB ? wasteA < wasteB : a > b
    }!
    var tuning = GEMMPanelTuning(rows: rows, vecs: panelVectors, unroll: 4, local: [1, 1])
    if let override {
      tuning.rows = override.rows ?? tuning.rows
      tuning.unroll = override.unroll ?? tuning.unroll
      tuning.local = override.local ?? tuning.local
    }
    return tuning
  }

  /// `PHOTON_GEMM_TUNING`, parsed once; malformed entries are ignored.
  static let override: (rows: Int?, vecs: Int?, unroll: Int?, local: [Int]?)? = {
    guard let text = ProcessInfo.processInfo.environment["PHOTON_GEMM_TUNING"], !text.isEmpty else {
      return nil
    }
    var result: (rows: Int?, vecs: Int?, unroll: Int?, local: [Int]?) = (nil, nil, nil, nil)
    for entry in text.split(separator: ",") {
      let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { continue }
      let value = Int(parts[1])
      switch parts[0] {
      case "rows": result.rows = value.flatMap { (1...32).contains($0) ? $0 : nil }
      case "vecs": result.vecs = value.flatMap { (1...4).contains($0) ? $0 : nil }
      case "unroll": result.unroll = value.flatMap { (1...64).contains($0) ? $0 : nil }
      case "local":
        let sizes = parts[1].split(separator: "x").compactMap { Int($0) }.filter { $0 > 0 }
        if sizes.count == 2 { result.local = sizes }
      default: continue
      }
    }
    return result
  }()
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
