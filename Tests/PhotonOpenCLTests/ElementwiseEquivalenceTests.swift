import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

@Suite("Element-wise equivalence: unary, binary, softmax, pooling, argmax — OpenCL vs the CPU reference")
struct ElementwiseEquivalenceTests {
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

  @Test(arguments: [1, 7, 531, 4099])
  func addSelectAndArgmax(vocab: Int) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(vocab))
    let rows = 5
    var x = random.floats(rows * vocab, in: -30...30)
    // Row 1: a tie between two maxima (the first must win); row 2: a large logit at the end.
    if vocab > 3 {
      x[vocab + 1] = 100
      x[vocab + vocab - 2] = 100
      x[2 * vocab + vocab - 1] = 1e30
    }
    let b = random.floats(rows * vocab)
    func run(_ backend: any Backend) throws -> ([Float], [Float], [Int32]) {
      let (xt, bt) = (
        try backend.tensor(x, shape: [1, rows, vocab]),
        try backend.tensor(b, shape: [1, rows, vocab])
      )
      let sum = try backend.binary(.add, xt, bt)
      let picked = try backend.selectPosition(xt, rows - 1)
      let ids = try backend.argmax(xt)
      #expect(ids.shape == [1, rows] && ids.dtype == .int32)
      return (try backend.floats(sum), try backend.floats(picked), try backend.ints(ids))
    }
    let (g, r) = (try run(gpu), try run(TestBackends.cpu))
    expectClose(g.0, r.0, atol: 0, "add V=\(vocab)")
    expectClose(g.1, r.1, atol: 0, "selectPosition V=\(vocab)")
    #expect(g.2 == r.2, "argmax V=\(vocab)")
    if vocab > 3 { #expect(r.2[1] == 1 && r.2[2] == Int32(vocab - 1)) }
  }

  @Test("argmax, hand-computed")
  func argmaxByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let x = try backend.tensor(
        [
          0, 3, 1, 3, -1, -2, -0.5, -9, -Float.infinity, -Float.infinity, -Float.infinity,
          -Float.infinity,
        ], shape: [3, 4])
      #expect(try backend.ints(backend.argmax(x)) == [1, 2, 0], "\(backend.kind)")
      #expect(throws: PhotonError.self) { try backend.argmax(backend.tensor([], shape: [2, 0])) }
    }
  }
}
