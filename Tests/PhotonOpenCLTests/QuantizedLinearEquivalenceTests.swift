import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

/// fp16 and int8 weights: `gemm_quant.cl` (every GEMM variant's family) against the CPU reference,
/// which dequantizes the plain way and multiplies in fp32. Both start from the same quantized
/// weights, so the tolerance is the fp32 one; the quantization error itself is checked by the
/// round-trip tests and, on a real model, by the accuracy gates (PipelineTests).
@Suite("Quantized linear equivalence: fp16 / int8 weight GEMMs vs the CPU reference")
struct QuantizedLinearEquivalenceTests {
  static let precisions: [Precision] = [.fp16, .int8]

  @Test(arguments: GEMMShape.all, TestBackends.gemmVariants)
  func quantizedLinearWithBiasAndActivations(shape: GEMMShape, variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    var random = SeededGenerator(seed: UInt64(shape.m * 1_000_003 + shape.k * 1009 + shape.n + 17))
    let x = random.floats(shape.m * shape.k)
    let w = random.floats(shape.n * shape.k, in: -0.2...0.2)
    let b = random.floats(shape.n)
    for precision in Self.precisions {
      for activation in Activation.allCases {
        func run(_ backend: any Backend) throws -> [Float] {
          let weight = try backend.linearWeight(w, outFeatures: shape.n, inFeatures: shape.k, precision: precision)
          #expect(weight.precision == precision)
          let y = try backend.linear(
            backend.tensor(x, shape: [shape.m, shape.k]), weight,
            bias: backend.tensor(b, shape: [shape.n]), activation: activation)
          #expect(y.shape == [shape.m, shape.n])
          return try backend.floats(y)
        }
        expectClose(
          try run(gpu), try run(TestBackends.cpu), atol: 1e-4, rtol: 1e-5,
          "\(precision) \(variant) \(shape.testDescription) \(activation)")
      }
    }
  }

  /// From `widenedGEMMRows` rows on, panel-rows widens the weight panels once (`widen_*_panels`)
  /// and runs the fp32 panel GEMM: the same products, checked at the threshold and past it, with
  /// a short last int8 block (K = 130) and a partial last panel (N = 45).
  @Test("quantized linear past the widening threshold")
  func widenedPanels() throws {
    let gpu = try TestBackends.gpu(gemm: .panelRows)
    let threshold = OpenCLBackend.widenedGEMMRows
    let shapes =
      [GEMMShape(m: threshold, k: 130, n: 45), GEMMShape(m: threshold + 3, k: 40, n: 33)]
      + (smallShapesOnly ? [] : [GEMMShape(m: 300, k: 1536, n: 384), GEMMShape(m: 512, k: 384, n: 1536)])
    for shape in shapes {
      var random = SeededGenerator(seed: UInt64(shape.m + shape.k + shape.n))
      let x = random.floats(shape.m * shape.k)
      let w = random.floats(shape.n * shape.k, in: -0.2...0.2)
      let b = random.floats(shape.n)
      for precision in Self.precisions {
        func run(_ backend: any Backend) throws -> [Float] {
          let weight = try backend.linearWeight(w, outFeatures: shape.n, inFeatures: shape.k, precision: precision)
          return try backend.floats(
            backend.linear(
              backend.tensor(x, shape: [shape.m, shape.k]), weight, bias: backend.tensor(b, shape: [shape.n]),
              activation: .gelu))
        }
        expectClose(
          try run(gpu), try run(TestBackends.cpu), atol: 1e-4, rtol: 1e-5, "\(precision) \(shape.testDescription)")
      }
    }
  }

  /// One row of x (a decode step): the panel kernels with one row per work-item (fp32, fp16) and
  /// int8's `gemm_q8_panel_gemv` against the CPU reference, and against the same row computed
  /// inside a multi-row GEMM (the panel kernels with 4–8 rows per work-item). K covers full and
  /// short blocks; N partial panels; GPT-2's decode shapes at full size.
  static var gemvShapes: [GEMMShape] {
    let small = [
      GEMMShape(m: 1, k: 33, n: 127), GEMMShape(m: 1, k: 64, n: 96), GEMMShape(m: 1, k: 130, n: 161),
      GEMMShape(m: 1, k: 7, n: 32),
    ]
    return smallShapesOnly
      ? small
      : small + [GEMMShape(m: 1, k: 768, n: 2304), GEMMShape(m: 1, k: 3072, n: 768), GEMMShape(m: 1, k: 768, n: 5003)]
  }

  @Test(arguments: gemvShapes, TestBackends.gemmVariants)
  func gemvEquivalence(shape: GEMMShape, variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    var random = SeededGenerator(seed: UInt64(shape.k * 1009 + shape.n + 29))
    let rows = 7
    let xs = random.floats(rows * shape.k)
    let x = Array(xs[(3 * shape.k)..<(4 * shape.k)])  // row 3 of the batch
    let w = random.floats(shape.n * shape.k, in: -0.2...0.2)
    let b = random.floats(shape.n)
    for precision in Precision.allCases {
      for activation in [Activation.identity, .geluTanh] {
        func run(_ backend: any Backend, _ input: [Float], m: Int) throws -> [Float] {
          let weight = try backend.linearWeight(w, outFeatures: shape.n, inFeatures: shape.k, precision: precision)
          return try backend.floats(
            backend.linear(
              backend.tensor(input, shape: [m, shape.k]), weight, bias: backend.tensor(b, shape: [shape.n]),
              activation: activation))
        }
        let label = "\(precision) \(variant) \(shape.testDescription) \(activation)"
        let single = try run(gpu, x, m: 1)
        expectClose(single, try run(TestBackends.cpu, x, m: 1), atol: 1e-4, rtol: 1e-5, label + " vs cpu")
        let batched = try run(gpu, xs, m: rows)
        expectClose(
          single, Array(batched[(3 * shape.n)..<(4 * shape.n)]), atol: 1e-4, rtol: 1e-5, label + " vs row 3 of M=7")
      }
    }
  }

  @Test("quantized linear without bias keeps leading axes", arguments: TestBackends.gemmVariants)
  func rank3WithoutBias(variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    var random = SeededGenerator(seed: 8)
    let x = random.floats(2 * 5 * 24)
    let w = random.floats(40 * 24)
    for precision in Self.precisions {
      func run(_ backend: any Backend) throws -> [Float] {
        let y = try backend.linear(
          backend.tensor(x, shape: [2, 5, 24]),
          backend.linearWeight(w, outFeatures: 40, inFeatures: 24, precision: precision),
          bias: nil, activation: .identity)
        #expect(y.shape == [2, 5, 40])
        return try backend.floats(y)
      }
      expectClose(try run(gpu), try run(TestBackends.cpu), atol: 1e-5, "\(precision) \(variant)")
    }
  }

  /// q8_0 worked by hand, on both backends. Row 0 (K = 3, one short block): max 1.27 → scale
  /// 0.01, q = [127, round(−63.5) = −64, 1] → [1.27, −0.64, 0.01]; x = [1, 1, 1] → 0.64.
  /// Row 1 (K = 33 below): 32 ones then 0.5 → two blocks, scales 1/127 and 0.5/127, both exact →
  /// 32.5. Row 2: [2, 0.3] in the first block, scale 2/127, round(19.05) = 19 → 2 + 38/127.
  @Test("int8 linear, hand-computed", arguments: TestBackends.gemmVariants)
  func handComputedInt8(variant: OpenCLBackend.GEMMVariant) throws {
    for backend: any Backend in [try TestBackends.gpu(gemm: variant), TestBackends.cpu] {
      let short = try backend.linearWeight([1.27, -0.635, 0.01], outFeatures: 1, inFeatures: 3, precision: .int8)
      let y = try backend.floats(
        backend.linear(backend.tensor([1, 1, 1], shape: [1, 3]), short, bias: nil, activation: .identity))
      expectClose(y, [0.64], atol: 1e-6, "\(backend.kind) K=3")

      var rows = [Float](repeating: 1, count: 32) + [0.5]
      rows += [2, 0.3] + [Float](repeating: 0, count: 31)
      let two = try backend.linearWeight(rows, outFeatures: 2, inFeatures: 33, precision: .int8)
      let bias = try backend.tensor([0, -1], shape: [2])
      let out = try backend.floats(
        backend.linear(
          backend.tensor([Float](repeating: 1, count: 33), shape: [1, 33]), two, bias: bias, activation: .identity))
      expectClose(out, [32.5, 2 + 38.0 / 127 - 1], atol: 1e-5, "\(backend.kind) K=33")
    }
  }

  /// The decision for K % 32 != 0: the last block is short, which must equal padding the weights
  /// (and x) with zeros up to a whole block — same scales, same products, on every variant.
  @Test("int8: a short last block equals a zero-padded one", arguments: TestBackends.gemmVariants)
  func shortBlockEqualsZeroPadding(variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    var random = SeededGenerator(seed: 33)
    let (m, k, n, kp) = (5, 37, 19, 64)
    let x = random.floats(m * k)
    let w = random.floats(n * k)
    var xPadded = [Float](repeating: 0, count: m * kp)
    var wPadded = [Float](repeating: 0, count: n * kp)
    for r in 0..<m { for c in 0..<k { xPadded[r * kp + c] = x[r * k + c] } }
    for r in 0..<n { for c in 0..<k { wPadded[r * kp + c] = w[r * k + c] } }
    let (q, scales) = Quantization.int8Blocks(w, rows: n, columns: k)
    let (qPadded, scalesPadded) = Quantization.int8Blocks(wPadded, rows: n, columns: kp)
    #expect(scales == scalesPadded)
    for r in 0..<n { #expect(Array(q[(r * k)..<(r * k + k)]) == Array(qPadded[(r * kp)..<(r * kp + k)])) }
    for backend: any Backend in [gpu, TestBackends.cpu] {
      let y = try backend.floats(
        backend.linear(
          backend.tensor(x, shape: [m, k]), backend.linearWeight(w, outFeatures: n, inFeatures: k, precision: .int8),
          bias: nil, activation: .identity))
      let yPadded = try backend.floats(
        backend.linear(
          backend.tensor(xPadded, shape: [m, kp]),
          backend.linearWeight(wPadded, outFeatures: n, inFeatures: kp, precision: .int8), bias: nil,
          activation: .identity))
      expectClose(y, yPadded, atol: 1e-5, "\(backend.kind) \(variant)")
    }
  }

  @Test("fp16 round trip: exact for halves, within half an ulp otherwise")
  func fp16RoundTrip() {
    let exact: [Float] = [0, -0, 1, -2, 0.5, 65504, -65504, 6.1035156e-05, 0.333251953125]
    #expect(Quantization.floats(halfBits: Quantization.halfBits(exact)) == exact)
    var random = SeededGenerator(seed: 5)
    let values = random.floats(4096, in: -4...4)
    let back = Quantization.floats(halfBits: Quantization.halfBits(values))
    for (v, r) in zip(values, back) {
      // half has 11 significant bits: relative error ≤ 2⁻¹¹ (plus subnormal spacing 2⁻²⁴).
      #expect(abs(v - r) <= abs(v) * 0x1p-11 + 0x1p-24, "\(v) → \(r)")
    }
  }

  @Test("int8 round trip: within half a step of each block's scale; block maxima exact")
  func int8RoundTrip() {
    var random = SeededGenerator(seed: 6)
    let (rows, columns) = (7, 70)  // 3 blocks per row, the last of 6
    var values = random.floats(rows * columns, in: -3...3)
    for c in 0..<32 { values[c] = 0 }  // an all-zero block: scale 0, values 0
    let (q, scales) = Quantization.int8Blocks(values, rows: rows, columns: columns)
    #expect(scales.count == rows * 3)
    #expect(scales[0] == 0)
    let back = Quantization.dequantize(q, scales: scales, rows: rows, columns: columns)
    for row in 0..<rows {
      for column in 0..<columns {
        let i = row * columns + column
        let scale = scales[row * 3 + column / 32]
        #expect(abs(back[i] - values[i]) <= scale / 2 * 1.0001, "[\(row), \(column)]")
      }
    }
    #expect(q.allSatisfy { $0 >= -127 })  // symmetric: −128 never used
    #expect(q.contains(127) || q.contains(-127))
  }

  @Test("non-finite weights are a typed error at fp16 and int8", arguments: TestBackends.gemmVariants)
  func nonFiniteWeights(variant: OpenCLBackend.GEMMVariant) throws {
    for backend: any Backend in [try TestBackends.gpu(gemm: variant), TestBackends.cpu] {
      for precision in Self.precisions {
        for bad: Float in [.nan, .infinity] {
          #expect(throws: PhotonError.self) {
            try backend.linearWeight([1, bad], outFeatures: 1, inFeatures: 2, precision: precision)
          }
        }
      }
      #expect(throws: PhotonError.self) {
        try backend.linearWeight([1e6], outFeatures: 1, inFeatures: 1, precision: .fp16)
      }
    }
  }

  @Test("device bytes: fp16 half of fp32, int8 a quarter plus scales", arguments: TestBackends.gemmVariants)
  func deviceBytes(variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    let w = [Float](repeating: 0.25, count: 384 * 384)
    func bytes(_ weight: LinearWeight) throws -> Int {
      try weight.storage.deviceBuffer(of: gpu).byteCount
        + (weight.scales.map { try $0.deviceBuffer(of: gpu).byteCount } ?? 0)
    }
    let fp32 = try bytes(gpu.linearWeight(w, outFeatures: 384, inFeatures: 384, precision: .fp32))
    let fp16 = try bytes(gpu.linearWeight(w, outFeatures: 384, inFeatures: 384, precision: .fp16))
    let int8 = try bytes(gpu.linearWeight(w, outFeatures: 384, inFeatures: 384, precision: .int8))
    #expect(fp32 == 384 * 384 * 4)
    #expect(fp16 * 2 == fp32)
    #expect(int8 == 384 * 384 + 384 * 12 * 4)
  }
}
