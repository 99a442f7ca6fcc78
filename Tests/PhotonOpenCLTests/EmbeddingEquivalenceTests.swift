import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

@Suite("Embedding equivalence: gathers with and without the layer norm — OpenCL vs the CPU reference")
struct EmbeddingEquivalenceTests {
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

  @Test(arguments: [1, 33, 64])
  func tokenEmbeddingsGather(channels: Int) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(channels) + 5)
    let (batch, length, vocab, positions, first) = (3, 5, 40, 12, 6)
    let ids = random.ints(batch * length, below: Int32(vocab))
    let word = random.floats(vocab * channels)
    let position = random.floats(positions * channels)
    func run(_ backend: any Backend) throws -> [Float] {
      try backend.floats(
        backend.gather(
          backend.tensor(word, shape: [vocab, channels]), ids: backend.tensor(ints: ids, shape: [batch, length]),
          positionTable: backend.tensor(position, shape: [positions, channels]), firstPosition: first))
    }
    expectClose(try run(gpu), try run(TestBackends.cpu), atol: 0, "C=\(channels)")
  }

  @Test("token embeddings and add, hand-computed")
  func tokenEmbeddingsByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let word = try backend.tensor([1, 2, 10, 20, 100, 200], shape: [3, 2])
      let position = try backend.tensor([0.5, 0.25, 0.125, 0.0625], shape: [2, 2])
      // ids [2, 0] at positions 0, 1; then id 1 alone at position 1.
      let y = try backend.gather(
        word, ids: backend.tensor(ints: [2, 0], shape: [1, 2]), positionTable: position, firstPosition: 0)
      expectClose(
        try backend.floats(y), [100.5, 200.25, 1.125, 2.0625], atol: 0, "\(backend.kind) prompt")
      let step = try backend.gather(
        word, ids: backend.tensor(ints: [1], shape: [1, 1]), positionTable: position, firstPosition: 1)
      expectClose(try backend.floats(step), [10.125, 20.0625], atol: 0, "\(backend.kind) step")
      #expect(throws: PhotonError.self) {
        try backend.gather(
          word, ids: backend.tensor(ints: [1], shape: [1, 1]), positionTable: position, firstPosition: 2)
      }
      let sum = try backend.binary(
        .add, backend.tensor([1, -2, 3], shape: [3]), backend.tensor([0.5, 2, -4], shape: [3]))
      expectClose(try backend.floats(sum), [1.5, 0, -1], atol: 0, "\(backend.kind) add")
      let picked = try backend.selectPosition(
        backend.tensor([1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 2, 2]), 1)
      #expect(picked.shape == [2, 1, 2])
      expectClose(
        try backend.floats(picked), [3, 4, 7, 8], atol: 0, "\(backend.kind) selectPosition")
    }
  }

  @Test(arguments: [1, 7, 64, 97])
  func gatherAndMultiply(channels: Int) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(channels) + 19)
    let (batch, length, vocab) = (3, 5, 41)
    let ids = random.ints(batch * length, below: Int32(vocab))
    let table = random.floats(vocab * channels)
    let (a, b) = (random.floats(channels * 13, in: -9...9), random.floats(channels * 13))
    func run(_ backend: any Backend) throws -> ([Float], [Float]) {
      let rows = try backend.gather(
        backend.tensor(table, shape: [vocab, channels]),
        ids: backend.tensor(ints: ids, shape: [batch, length]))
      #expect(rows.shape == [batch, length, channels])
      let product = try backend.binary(
        .multiply, backend.tensor(a, shape: [13, channels]), backend.tensor(b, shape: [13, channels]))
      return (try backend.floats(rows), try backend.floats(product))
    }
    let (g, r) = (try run(gpu), try run(TestBackends.cpu))
    expectClose(g.0, r.0, atol: 0, "gather C=\(channels)")
    expectClose(g.1, r.1, atol: 0, "multiply C=\(channels)")
  }

  @Test("gather and multiply, hand-computed")
  func gatherAndMultiplyByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let table = try backend.tensor([1, 2, 10, 20, 100, 200], shape: [3, 2])
      let rows = try backend.gather(table, ids: backend.tensor(ints: [2, 0, 2], shape: [1, 3]))
      expectClose(
        try backend.floats(rows), [100, 200, 1, 2, 100, 200], atol: 0, "\(backend.kind) gather")
      let product = try backend.binary(
        .multiply, backend.tensor([1, -2, 3], shape: [3]), backend.tensor([0.5, 2, -4], shape: [3]))
      expectClose(try backend.floats(product), [0.5, -4, -12], atol: 0, "\(backend.kind) multiply")
      // The host checks ids against the table (the device only clamps: it cannot throw).
      if backend.kind == .cpu {
        #expect(throws: PhotonError.self) {
          try backend.gather(table, ids: backend.tensor(ints: [3], shape: [1, 1]))
        }
      }
      #expect(throws: PhotonError.self) {
        try backend.binary(.multiply, backend.tensor([1], shape: [1]), backend.tensor([1, 2], shape: [2]))
      }
    }
  }
}
