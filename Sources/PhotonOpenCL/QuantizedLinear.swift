import COpenCL
import PhotonCore
import PhotonKernels

/// fp16 and int8 linear weights on OpenCL (kernels in `Kernels/gemm_quant.cl`). Two kernel
/// families, as for fp32: the CPU-like GEMM variants (`panelRows`, `packedRows`) get column-panel
/// kernels (`gemm_f16_panel_rows`, `gemm_q8_panel_rows`), the others (`tiledLocal`, `clblast`:
/// CLBlast has no reduced-precision weight input) the local-memory tiles (`gemm_*_tiled_local`).
/// One row per work-item (M = 1, or `PHOTON_GEMM_TUNING=rows=1`): fp16 runs its panel kernel with
/// one row, int8 the GEMV `gemm_q8_panel_gemv` (one multiply by the scales per block).
extension OpenCLBackend {
  /// Whether this backend's quantized GEMMs use column panels (CPU family) or tiles (GPU family).
  var quantizedUsesPanels: Bool { gemmVariant == .panelRows || gemmVariant == .packedRows }

  /// An fp16 weight from half bit patterns `[N, K]` (HF order; quantized at load, or a
  /// `photon quantize` folder), packed here; pad columns hold +0.
  public func linearWeight(halfBits: [UInt16], outFeatures n: Int, inFeatures k: Int) throws -> LinearWeight {
    try ShapeCheck.values(count: halfBits.count, shape: [n, k])
    let (packed, shape) = pack(halfBits, rows: n, columns: k, pad: 0)
    return LinearWeight(
      outFeatures: n, inFeatures: k, storage: try upload(packed, shape: shape, .float16), precision: .fp16)
  }

  /// An int8 weight from values already quantized (at load, or a `photon quantize` folder).
  /// q: `[N, K]`, scales: `[N, ceil(K/32)]`, both HF-ordered; packed here like the weights.
  public func linearWeight(int8 q: [Int8], scales: [Float], outFeatures n: Int, inFeatures k: Int) throws
    -> LinearWeight
  {
    try ShapeCheck.values(count: q.count, shape: [n, k])
    let kb = Quantization.blocks(k)
    try ShapeCheck.values(count: scales.count, shape: [n, kb])
    let (packedQ, shape) = pack(q, rows: n, columns: k, pad: 0)
    let (packedScales, scaleShape) = pack(scales, rows: n, columns: kb, pad: 0)
    return LinearWeight(
      outFeatures: n, inFeatures: k, storage: try upload(packedQ, shape: shape, .int8), precision: .int8,
      scales: try upload(packedScales, shape: scaleShape, .float32))
  }

  /// HF `[rows (N), columns (K)]` → this backend's GEMM layout, for every precision: column
  /// panels `[NP/P, K, P]` (P = 16·panel vectors of the device) or transposed `[K, NP]` (NP = N
  /// rounded up to 32); pad columns hold `pad`. `panels`: nil for the quantized kernels' choice.
  func pack<T>(_ values: [T], rows n: Int, columns k: Int, pad: T, panels: Bool? = nil) -> ([T], [Int]) {
    if panels ?? quantizedUsesPanels {
      let p = 16 * GEMMPanelTuning.panelVectors(for: device.info)
      let panels = (n + p - 1) / p
      var packed = [T](repeating: pad, count: panels * k * p)
      for row in 0..<n {
        let base = row / p * k * p + row % p
        for column in 0..<k { packed[base + column * p] = values[row * k + column] }
      }
      return (packed, [panels, k, p])
    }
    let np = (n + Self.packedColumnMultiple - 1) / Self.packedColumnMultiple * Self.packedColumnMultiple
    var packed = [T](repeating: pad, count: k * np)
    for row in 0..<n {
      for column in 0..<k { packed[column * np + row] = values[row * k + column] }
    }
    return (packed, [k, np])
  }

  /// A device tensor of `dtype` holding the raw elements of `values` (blocking write: weights are
  /// uploaded once, at load).
  private func upload<T>(_ values: [T], shape: [Int], _ dtype: DType) throws -> Tensor {
    precondition(MemoryLayout<T>.stride == dtype.byteSize, "element size of \(T.self) vs \(dtype)")
    let tensor = try allocate(shape, dtype, for: "a \(dtype) linear weight \(shape)")
    guard !values.isEmpty else { return tensor }
    let buffer = try tensor.deviceBuffer(of: self)
    try device.lock.withLock {
      device.countersStorage.uploads += 1
      device.countersStorage.bytesHostToDevice += values.count * MemoryLayout<T>.stride
      try values.withUnsafeBytes { raw in
        try check(
          clEnqueueWriteBuffer(device.queue, buffer.mem, cl_bool(CL_TRUE), 0, raw.count, raw.baseAddress, 0, nil, nil),
          "clEnqueueWriteBuffer", "\(raw.count) bytes of a \(dtype) weight")
      }
    }
    return tensor
  }

  /// From this many rows of x on, a CPU-family fp16/int8 linear widens its weight panels once into
  /// a pooled fp32 buffer (`widen_*_panels`) and runs the fp32 `gemm_panel_rows`, instead of
  /// widening per row block inside `gemm_*_panel_rows`. Measured on PoCL (AVX-512, 4096×1536×384):
  /// the int8 panel kernel costs 1.19× the fp32 one (a convert and a scale per weight vector for 8
  /// rows of FMAs), the widening pass 0.6 MB·4 of writes; the crossing point is near 200 rows.
  /// Decode steps and short inputs stay on the direct kernels, which read 1–2 bytes per weight.
  static let widenedGEMMRows = 256

  /// `linear` through an fp32 copy of the weight panels that lives for this call only.
  private func widenedLinear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation) throws
    -> Tensor
  {
    let (panels, k, p) = (weight.storage.shape[0], weight.storage.shape[1], weight.storage.shape[2])
    let widened = try allocate([panels, k, p], for: "widened \(weight.precision.rawValue) weight panels")
    var arguments: [KernelArgument] = [.buffer(try weight.storage.deviceBuffer(of: self))]
    if let scales = weight.scales { arguments.append(.buffer(try scales.deviceBuffer(of: self))) }
    arguments += [.buffer(try widened.deviceBuffer(of: self)), .int(k)]
    let name = weight.precision == .int8 ? "widen_q8_panels" : "widen_f16_panels"
    try kernel(name, in: KernelSource.gemmQuant, file: "gemm_quant.cl", defines: "-DGEMM_PANEL_VECS=\(p / 16)")
      .launch(on: device, arguments, global: [k, panels], local: nil)
    let fp32 = LinearWeight(outFeatures: weight.outFeatures, inFeatures: k, storage: widened)
    return try linear(x, fp32, bias: bias, activation: activation)
  }

  // x: [T, K], w: [N, K] (HF [out, in], fp16 or int8, packed as above), b: [N], y: [T, N]
  /// `linear` for fp16 and int8 weights (`linear` in Linear.swift hands them here).
  func quantizedLinear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation) throws -> Tensor {
    let shape = try ShapeCheck.linear(x, weight, bias: bias)
    let (m, n, k) = (x.rows, weight.outFeatures, weight.inFeatures)
    let int8 = weight.precision == .int8
    let expected: DType = int8 ? .int8 : .float16
    let panels = weight.storage.rank == 3
    guard weight.storage.dtype == expected, panels == quantizedUsesPanels, !int8 || weight.scales != nil else {
      throw PhotonError(
        .invalidArgument,
        "\(weight.precision.rawValue) linear weight \(weight.storage) is not packed for GEMM variant \(gemmVariant.rawValue); pack it with linearWeight of this backend"
      )
    }
    let np = panels ? weight.storage.shape[0] * weight.storage.shape[2] : weight.storage.shape[1]
    let y = try allocate(shape, for: "linear output \(shape)")
    guard m > 0, n > 0 else { return y }
    var arguments: [KernelArgument] = [
      .buffer(try x.deviceBuffer(of: self)), .buffer(try weight.storage.deviceBuffer(of: self)),
    ]
    if int8, let scales = weight.scales { arguments.append(.buffer(try scales.deviceBuffer(of: self))) }
    arguments += [
      .buffer(try bias?.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)), .int(m), .int(n), .int(k),
      .int(np), .int(activation.kernelCode),
    ]
    let type = int8 ? "q8" : "f16"
    if panels && gemmVariant == .panelRows && m >= Self.widenedGEMMRows {
      return try widenedLinear(x, weight, bias: bias, activation: activation)
    }
    if panels {
      let p = weight.storage.shape[2]
      let tuning = GEMMPanelTuning.choose(m: m, n: n, k: k, panelVectors: p / 16, device: device.info)
      if int8 && tuning.rows == 1 {
        // One row per work-item (M = 1, a decode step): the GEMV that scales once per block.
        try kernel("gemm_q8_panel_gemv", in: KernelSource.gemmQuant, file: "gemm_quant.cl", defines: tuning.defines)
          .launch(on: device, arguments, global: [np / p, m], local: tuning.local)
        return y
      }
      try kernel("gemm_\(type)_panel_rows", in: KernelSource.gemmQuant, file: "gemm_quant.cl", defines: tuning.defines)
        .launch(on: device, arguments, global: [np / p, (m + tuning.rows - 1) / tuning.rows], local: tuning.local)
    } else {
      try kernel("gemm_\(type)_tiled_local", in: KernelSource.gemmQuant, file: "gemm_quant.cl")
        .launch(on: device, arguments, global: [(n + 31) / 32 * 8, (m + 31) / 32 * 8], local: [8, 8])
    }
    return y
  }
}
