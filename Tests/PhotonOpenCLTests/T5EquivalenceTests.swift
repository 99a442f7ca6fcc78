import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

@Suite("T5 ops equivalence: biased attention, gather, multiply — OpenCL vs the CPU reference")
struct T5EquivalenceTests {
  /// Random keys in a cache, new queries (separate and packed), a position bias larger than
  /// needed (indexing by absolute position), with and without the causal rule and a mask.
  @Test(arguments: DecodeShape.all)
  func biasedAttention(shape: DecodeShape) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(shape.batch * 131 + shape.cached * 11 + shape.new))
    let (b, s, c, length) = (shape.batch, shape.capacity, shape.channels, shape.length)
    let keys = random.floats(b * s * c, in: -2...2)
    let values = random.floats(b * s * c, in: -2...2)
    let packed = random.floats(b * shape.new * 3 * c, in: -2...2)
    let query = random.floats(b * shape.new * c, in: -2...2)
    let (rows, columns) = (length + 1, s + 2)
    let bias = random.floats(shape.heads * rows * columns, in: -3...3)
    // Row 1 pads its first key (when it has another to attend).
    let mask = (0..<b).flatMap { r in
      (0..<s).map { j -> Int32 in r == 1 && j == 0 && length > 1 ? 0 : 1 }
    }
    for (causal, masked, usePacked) in [
      (true, false, true), (false, false, false), (true, true, false), (false, true, true),
    ] {
      func run(_ backend: any Backend) throws -> [Float] {
        let q =
          usePacked
          ? try backend.tensor(packed, shape: [b, shape.new, 3 * c])
          : try backend.tensor(query, shape: [b, shape.new, c])
        let y = try backend.attention(
          AttentionCall(
            .separate(
              query: q, key: backend.tensor(keys, shape: [b, s, c]), value: backend.tensor(values, shape: [b, s, c])),
            heads: shape.heads, scale: 1, keyLength: length,
            mask: masked ? backend.tensor(ints: mask, shape: [b, s]) : nil, masking: (causal ? .causal : .none),
            positionBias: backend.tensor(bias, shape: [shape.heads, rows, columns])))
        #expect(y.shape == [b, shape.new, c])
        return try backend.floats(y)
      }
      expectClose(
        try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5,
        "\(shape.testDescription) causal=\(causal) masked=\(masked) packed=\(usePacked)")
    }
  }

  /// With a zero bias and the causal rule, biased attention over a cache is cached attention.
  @Test func zeroBiasEqualsCachedAttention() throws {
    var random = SeededGenerator(seed: 5)
    let (batch, t, heads, hs, capacity) = (2, 7, 3, 8, 11)
    let c = heads * hs
    let qkv = random.floats(batch * t * 3 * c)
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let packed = try backend.tensor(qkv, shape: [batch, t, 3 * c])
      let keys = try backend.zeros(shape: [batch, capacity, c])
      let values = try backend.zeros(shape: [batch, capacity, c])
      try backend.writeKeyValueCache(packed, keyCache: keys, valueCache: values, at: 0)
      let cached = try backend.attention(
        AttentionCall(
          .separate(query: packed, key: keys, value: values), heads: heads, scale: 0.5, keyLength: t, masking: .causal))
      let biased = try backend.attention(
        AttentionCall(
          .separate(query: packed, key: keys, value: values), heads: heads, scale: 0.5, keyLength: t, masking: .causal,
          positionBias: backend.zeros(shape: [heads, t, t])))
      expectClose(
        try backend.floats(biased), try backend.floats(cached), atol: 1e-6, "\(backend.kind)")
    }
  }

  /// One head of size 1, keys [1, 0], values [1, 3], queries [1, 2], bias [[0, 5], [0, ln 3]],
  /// scale 1. Causal: query 0 sees key 0 only → 1; query 1 has scores [2, ln 3] → weights
  /// [e², 3] → (e² + 9)/(e² + 3) = 1.5775308. Not causal, query 0 has scores [1, 5] →
  /// (e + 3e⁵)/(e + e⁵) = 2.9640276. Key 0 masked: every query gives 3.
  @Test("biased attention, hand-computed")
  func biasedAttentionByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let keys = try backend.tensor([1, 0], shape: [1, 2, 1])
      let values = try backend.tensor([1, 3], shape: [1, 2, 1])
      let query = try backend.tensor([1, 2], shape: [1, 2, 1])
      let bias = try backend.tensor([0, 5, 0, 1.0986123], shape: [1, 2, 2])
      func run(causal: Bool, mask: Tensor? = nil, query: Tensor, length: Int = 2) throws
        -> [Float]
      {
        try backend.floats(
          backend.attention(
            AttentionCall(
              .separate(query: query, key: keys, value: values), heads: 1, scale: 1, keyLength: length, mask: mask,
              masking: (causal ? .causal : .none), positionBias: bias)))
      }
      expectClose(
        try run(causal: true, query: query), [1, 1.5775308], atol: 2e-6, "\(backend.kind) causal")
      expectClose(
        try run(causal: false, query: query), [2.9640276, 1.5775308], atol: 2e-6,
        "\(backend.kind) bidirectional")
      let mask = try backend.tensor(ints: [0, 1], shape: [1, 2])
      expectClose(
        try run(causal: false, mask: mask, query: query), [3, 3], atol: 2e-6,
        "\(backend.kind) masked")
      // A decode step: only the last query (position 1), as with a KV cache.
      let step = try backend.tensor([2], shape: [1, 1, 1])
      expectClose(try run(causal: true, query: step), [1.5775308], atol: 2e-6, "\(backend.kind) step")
      // Prefix of the keys: length 1, the query at position 0.
      expectClose(
        try run(causal: true, query: step, length: 1), [1], atol: 0, "\(backend.kind) length 1")
      #expect(throws: PhotonError.self) {
        try run(causal: true, query: query, length: 1)  // 2 queries, 1 position
      }
      #expect(throws: PhotonError.self) {
        try backend.attention(
          AttentionCall(
            .separate(query: query, key: keys, value: values), heads: 1, scale: 1, keyLength: 2, masking: .causal,
            positionBias: backend.tensor([0, 0], shape: [1, 1, 2])))
      }
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
