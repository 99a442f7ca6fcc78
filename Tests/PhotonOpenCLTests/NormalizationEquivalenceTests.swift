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

@Suite("Normalisation and element-wise equivalence: OpenCL vs the CPU reference")
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

  @Test(arguments: [1, 33, 384])
  func embeddingsGatherAndNorm(channels: Int) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(channels))
    let (batch, length, vocab, positions, types) = (3, 7, 50, 40, 2)
    let ids = random.ints(batch * length, below: Int32(vocab))
    let positionIds = (0..<batch).flatMap { b in (0..<length).map { Int32($0 + b) } }
    let typeIds = random.ints(batch * length, below: Int32(types))
    let word = random.floats(vocab * channels)
    let position = random.floats(positions * channels)
    let type = random.floats(types * channels)
    let g = random.floats(channels, in: 0.5...1.5)
    let b = random.floats(channels)
    for withTypes in [false, true] {
      func run(_ backend: any Backend) throws -> [Float] {
        try backend.floats(
          backend.embeddings(
            ids: backend.tensor(ints: ids, shape: [batch, length]),
            positions: backend.tensor(ints: positionIds, shape: [batch, length]),
            tokenTypes: withTypes ? backend.tensor(ints: typeIds, shape: [batch, length]) : nil,
            wordTable: backend.tensor(word, shape: [vocab, channels]),
            positionTable: backend.tensor(position, shape: [positions, channels]),
            tokenTypeTable: withTypes ? backend.tensor(type, shape: [types, channels]) : nil,
            weight: backend.tensor(g, shape: [channels]), bias: backend.tensor(b, shape: [channels]), eps: 1e-12))
      }
      expectClose(try run(gpu), try run(TestBackends.cpu), atol: 1e-4, rtol: 1e-5, "C=\(channels) types=\(withTypes)")
    }
  }

  @Test(arguments: RowShape.all)
  func softmaxTanhAndL2(shape: RowShape) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(shape.rows + shape.channels))
    let x = random.floats(shape.rows * shape.channels, in: -30...30)
    let s = [shape.rows, shape.channels]
    expectClose(
      try gpu.floats(gpu.softmax(gpu.tensor(x, shape: s))),
      try TestBackends.cpu.floats(TestBackends.cpu.softmax(TestBackends.cpu.tensor(x, shape: s))),
      atol: 1e-6, rtol: 1e-5, "softmax")
    expectClose(
      try gpu.floats(gpu.unary(.tanh, gpu.tensor(x, shape: s))),
      try TestBackends.cpu.floats(TestBackends.cpu.unary(.tanh, TestBackends.cpu.tensor(x, shape: s))),
      atol: 1e-6, "tanh")
    expectClose(
      try gpu.floats(gpu.normalize(gpu.tensor(x, shape: s), residual: nil, .l2)),
      try TestBackends.cpu.floats(TestBackends.cpu.normalize(TestBackends.cpu.tensor(x, shape: s), residual: nil, .l2)),
      atol: 1e-6, "l2")
  }

  @Test("softmax, tanh and l2 by hand, with extreme inputs")
  func elementwiseByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let softmax = try backend.floats(backend.softmax(backend.tensor([0, 1, 1e4, 1e4], shape: [2, 2])))
      expectClose(softmax, [0.2689414, 0.7310586, 0.5, 0.5], atol: 1e-6, "\(backend.kind) softmax")
      let tanh = try backend.floats(backend.unary(.tanh, backend.tensor([-300, 0, 0.5, 300], shape: [4])))
      expectClose(tanh, [-1, 0, 0.46211716, 1], atol: 1e-6, "\(backend.kind) tanh")
      let l2 = try backend.floats(backend.normalize(backend.tensor([3, 4, 0, 0], shape: [2, 2]), residual: nil, .l2))
      expectClose(l2, [0.6, 0.8, 0, 0], atol: 1e-6, "\(backend.kind) l2")
    }
  }

  @Test(arguments: Pooling.allCases)
  func poolingUnderMask(mode: Pooling) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: 5)
    let (batch, length, channels) = (4, 9, smallShapesOnly ? 33 : 384)
    let x = random.floats(batch * length * channels, in: -3...3)
    // Row 1 keeps only [CLS]; row 3 is all padding.
    let kept = [9, 1, 5, 0]
    let mask = kept.flatMap { n in (0..<length).map { Int32($0 < n ? 1 : 0) } }
    func run(_ backend: any Backend) throws -> [Float] {
      try backend.floats(
        backend.pool(
          backend.tensor(x, shape: [batch, length, channels]),
          mask: backend.tensor(ints: mask, shape: [batch, length]),
          mode: mode))
    }
    expectClose(try run(gpu), try run(TestBackends.cpu), atol: 1e-6, "\(mode)")
    // By hand: mean of [1, 3] (second position padded) = 2; max = 3; cls = 1.
    for backend: any Backend in [gpu, TestBackends.cpu] {
      let y = try backend.floats(
        backend.pool(
          backend.tensor([1, 3, 100], shape: [1, 3, 1]), mask: backend.tensor(ints: [1, 1, 0], shape: [1, 3]),
          mode: mode))
      let expected: Float = mode == .mean ? 2 : mode == .max ? 3 : 1
      #expect(y == [expected], "\(backend.kind) \(mode)")
    }
  }
}
