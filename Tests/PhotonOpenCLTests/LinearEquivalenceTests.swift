import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

/// GEMM shapes (M, K, N): 1, primes, MiniLM's sizes and sizes off every tile (3, 4, 6, 8 rows;
/// 16, 32 columns). M picks the rows of `gemm_panel_rows` (1 → 4, 7 → 8, 33 → 6, 9 → 3 or 4 …).
struct GEMMShape: CustomTestStringConvertible, Sendable {
  let m: Int, k: Int, n: Int
  var testDescription: String { "\(m)×\(k)→\(n)" }
  static let small = [
    GEMMShape(m: 1, k: 1, n: 1), GEMMShape(m: 7, k: 33, n: 127), GEMMShape(m: 33, k: 17, n: 45),
    GEMMShape(m: 6, k: 32, n: 32), GEMMShape(m: 13, k: 64, n: 96), GEMMShape(m: 9, k: 5, n: 17),
    GEMMShape(m: 17, k: 130, n: 161),
  ]
  static let large = [
    GEMMShape(m: 127, k: 384, n: 384), GEMMShape(m: 128, k: 384, n: 1536),
    GEMMShape(m: 128, k: 1536, n: 384), GEMMShape(m: 37, k: 384, n: 1152),
  ]
  static var all: [GEMMShape] { smallShapesOnly ? small : small + large }
}

@Suite("Linear equivalence: OpenCL GEMM variants vs the CPU reference")
struct LinearEquivalenceTests {
  @Test(arguments: GEMMShape.all, TestBackends.gemmVariants)
  func linearWithBiasAndActivations(shape: GEMMShape, variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    var random = SeededGenerator(seed: UInt64(shape.m * 1_000_003 + shape.k * 1009 + shape.n))
    let x = random.floats(shape.m * shape.k)
    let w = random.floats(shape.n * shape.k, in: -0.2...0.2)
    let b = random.floats(shape.n)
    for activation in Activation.allCases {
      func run(_ backend: any Backend) throws -> [Float] {
        let weight = try backend.linearWeight(w, outFeatures: shape.n, inFeatures: shape.k)
        let y = try backend.linear(
          backend.tensor(x, shape: [shape.m, shape.k]), weight,
          bias: backend.tensor(b, shape: [shape.n]), activation: activation)
        #expect(y.shape == [shape.m, shape.n])
        return try backend.floats(y)
      }
      // fp32 sums over K ≤ 1536 of O(1) terms: 1e-4 absolute, 1e-5 relative where values are large.
      expectClose(
        try run(gpu), try run(TestBackends.cpu), atol: 1e-4, rtol: 1e-5,
        "\(variant) \(shape.testDescription) \(activation)")
    }
  }

  @Test("linear without bias keeps leading axes", arguments: TestBackends.gemmVariants)
  func rank3WithoutBias(variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    var random = SeededGenerator(seed: 7)
    let x = random.floats(2 * 5 * 24)
    let w = random.floats(40 * 24)
    func run(_ backend: any Backend) throws -> [Float] {
      let y = try backend.linear(
        backend.tensor(x, shape: [2, 5, 24]),
        backend.linearWeight(w, outFeatures: 40, inFeatures: 24),
        bias: nil, activation: .identity)
      #expect(y.shape == [2, 5, 40])
      return try backend.floats(y)
    }
    expectClose(try run(gpu), try run(TestBackends.cpu), atol: 1e-5, "\(variant)")
  }

  /// A case small enough to work out by hand, so a mistake shared by both backends is caught.
  @Test("linear, hand-computed", arguments: TestBackends.gemmVariants)
  func handComputed(variant: OpenCLBackend.GEMMVariant) throws {
    for backend: any Backend in [try TestBackends.gpu(gemm: variant), TestBackends.cpu] {
      // x = [1, 2]; W = [[1, 0], [0, 1], [1, 1]] (HF [out, in]); b = [0.5, 0, -1]
      let weight = try backend.linearWeight([1, 0, 0, 1, 1, 1], outFeatures: 3, inFeatures: 2)
      let x = try backend.tensor([1, 2], shape: [1, 2])
      let bias = try backend.tensor([0.5, 0, -1], shape: [3])
      let y = try backend.floats(backend.linear(x, weight, bias: bias, activation: .identity))
      expectClose(y, [1.5, 2, 2], atol: 1e-6, "\(backend.kind) identity")
      // GELU(1) = 0.841344746 (erf), 0.841191990 (tanh); ReLU(-1) = 0.
      let one = try backend.tensor([1], shape: [1, 1])
      let unit = try backend.linearWeight([1], outFeatures: 1, inFeatures: 1)
      let minusTwo = try backend.tensor([-2], shape: [1])
      expectClose(
        try backend.floats(backend.linear(one, unit, bias: nil, activation: .gelu)), [0.841344746],
        atol: 2e-6, "\(backend.kind) gelu")
      expectClose(
        try backend.floats(backend.linear(one, unit, bias: nil, activation: .geluTanh)),
        [0.841191990],
        atol: 2e-6, "\(backend.kind) gelu_tanh")
      expectClose(
        try backend.floats(backend.linear(one, unit, bias: minusTwo, activation: .relu)), [0],
        atol: 0, "\(backend.kind) relu")
    }
  }

  /// No input features: the product is empty, y = act(b) in every row (the CPU reference once
  /// read its output buffer uninitialised here).
  @Test("linear with K = 0 on the CPU reference")
  func emptyProduct() throws {
    let cpu = TestBackends.cpu
    let weight = try cpu.linearWeight([], outFeatures: 3, inFeatures: 0)
    let y = try cpu.floats(
      cpu.linear(
        cpu.tensor([], shape: [2, 0]), weight, bias: cpu.tensor([0.5, -1, 2], shape: [3]), activation: .relu))
    #expect(y == [0.5, 0, 2, 0.5, 0, 2])
  }

  /// GELU far out in both tails: no NaN or overflow from erf/tanh of ±212.
  @Test("activations at ±300", arguments: TestBackends.gemmVariants)
  func extremeActivations(variant: OpenCLBackend.GEMMVariant) throws {
    let gpu = try TestBackends.gpu(gemm: variant)
    let x: [Float] = [-300, -30, -3, 0, 3, 30, 300]
    for activation in Activation.allCases {
      func run(_ backend: any Backend) throws -> [Float] {
        try backend.floats(
          backend.linear(
            backend.tensor(x, shape: [7, 1]),
            backend.linearWeight([1], outFeatures: 1, inFeatures: 1),
            bias: nil, activation: activation))
      }
      let cpu = try run(TestBackends.cpu)
      expectClose(try run(gpu), cpu, atol: 1e-5, rtol: 1e-6, "\(variant) \(activation)")
      if activation != .identity { #expect(cpu[0] == 0 && cpu[6] == 300, "\(activation)") }
    }
  }
}
