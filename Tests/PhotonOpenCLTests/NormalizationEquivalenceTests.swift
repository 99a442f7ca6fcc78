import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

struct RowShape: CustomTestStringConvertible, Sendable {
  let rows: Int, channels: Int
  var testDescription: String { "\(rows)×\(channels)" }
  static let small = [
    RowShape(rows: 1, channels: 1), RowShape(rows: 7, channels: 33), RowShape(rows: 5, channels: 100),
    RowShape(rows: 17, channels: 48),
  ]
  static let large = [RowShape(rows: 127, channels: 384), RowShape(rows: 33, channels: 1536)]
  static var all: [RowShape] { smallShapesOnly ? small : small + large }
}

@Suite("Normalisation equivalence: layer, RMS and L2 norms — OpenCL vs the CPU reference")
struct NormalizationEquivalenceTests {
  @Test(arguments: RowShape.all, OpenCLBackend.NormVariant.allCases)
  func layerNormWithAndWithoutResidual(shape: RowShape, variant: OpenCLBackend.NormVariant) throws {
    let gpu = try TestBackends.gpu(norm: variant)
    var random = SeededGenerator(seed: UInt64(shape.rows * 131 + shape.channels))
    let x = random.floats(shape.rows * shape.channels, in: -4...4)
    let r = random.floats(shape.rows * shape.channels)
    let g = random.floats(shape.channels, in: 0.5...1.5)
    let b = random.floats(shape.channels)
    for withResidual in [false, true] {
      func run(_ backend: any Backend) throws -> [Float] {
        try backend.floats(
          backend.normalize(
            backend.tensor(x, shape: [shape.rows, shape.channels]),
            residual: withResidual ? backend.tensor(r, shape: [shape.rows, shape.channels]) : nil,
            .layer(
              weight: backend.tensor(g, shape: [shape.channels]), bias: backend.tensor(b, shape: [shape.channels]),
              eps: 1e-12)))
      }
      expectClose(
        try run(gpu), try run(TestBackends.cpu), atol: 1e-4, rtol: 1e-5,
        "\(variant) \(shape.testDescription) residual=\(withResidual)")
    }
  }

  @Test("layer norm, hand-computed")
  func layerNormByHand() throws {
    let gpus = try OpenCLBackend.NormVariant.allCases.map { try TestBackends.gpu(norm: $0) }
    for backend: any Backend in gpus + [TestBackends.cpu] {
      // mean 2.5, variance 1.25: (x − 2.5)/√1.25
      let y = try backend.floats(
        backend.normalize(
          backend.tensor([1, 2, 3, 4], shape: [1, 4]), residual: nil,
          .layer(
            weight: backend.tensor([1, 1, 1, 1], shape: [4]), bias: backend.tensor([0, 0, 0, 0], shape: [4]), eps: 0)))
      expectClose(y, [-1.3416408, -0.4472136, 0.4472136, 1.3416408], atol: 1e-6, "\(backend.kind)")
    }
  }

  @Test(arguments: [
    RowShape(rows: 1, channels: 1), RowShape(rows: 7, channels: 33),
    RowShape(rows: 5, channels: 512),
  ])
  func rmsAndL2NormRows(shape: RowShape) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(shape.rows * 17 + shape.channels))
    let x = random.floats(shape.rows * shape.channels, in: -4...4)
    let r = random.floats(shape.rows * shape.channels, in: -1...1)
    let g = random.floats(shape.channels, in: 0.5...1.5)
    for (rms, withResidual) in [(true, false), (true, true), (false, true)] {
      func run(_ backend: any Backend) throws -> [Float] {
        let kind: Normalization = rms ? .rms(weight: try backend.tensor(g, shape: [shape.channels]), eps: 1e-6) : .l2
        return try backend.floats(
          backend.normalize(
            backend.tensor(x, shape: [shape.rows, shape.channels]),
            residual: withResidual ? backend.tensor(r, shape: [shape.rows, shape.channels]) : nil, kind))
      }
      expectClose(
        try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5,
        "\(shape.testDescription) rms=\(rms) residual=\(withResidual)")
    }
  }

  @Test("RMS norm, hand-computed")
  func rmsNormByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      // mean of squares of [3, 4] is 12.5: [3, 4]/√12.5 · [1, 2] = [0.8485281, 2.2627417]
      let y = try backend.normalize(
        backend.tensor([3, 4], shape: [1, 2]), residual: nil, .rms(weight: backend.tensor([1, 2], shape: [2]), eps: 0))
      expectClose(try backend.floats(y), [0.8485281, 2.2627417], atol: 1e-6, "\(backend.kind)")
      #expect(throws: PhotonError.self) {
        try backend.normalize(
          backend.tensor([3, 4], shape: [1, 2]), residual: nil, .rms(weight: backend.tensor([1], shape: [1]), eps: 0))
      }
    }
  }
}
