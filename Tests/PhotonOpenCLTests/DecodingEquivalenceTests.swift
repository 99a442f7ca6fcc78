import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

/// Decode geometry: batch, tokens already cached, new tokens, cache capacity, heads, head size.
struct DecodeShape: CustomTestStringConvertible, Sendable {
  let batch: Int, cached: Int, new: Int, capacity: Int, heads: Int, headSize: Int
  var channels: Int { heads * headSize }
  var length: Int { cached + new }
  var testDescription: String {
    "B\(batch) cached\(cached)+\(new) S\(capacity) \(heads)×\(headSize)"
  }

  static let small = [
    DecodeShape(batch: 1, cached: 0, new: 1, capacity: 1, heads: 1, headSize: 1),
    DecodeShape(batch: 2, cached: 0, new: 5, capacity: 9, heads: 2, headSize: 8),
    DecodeShape(batch: 3, cached: 6, new: 1, capacity: 11, heads: 4, headSize: 16),
  ]
  static let large = [
    DecodeShape(batch: 2, cached: 127, new: 1, capacity: 160, heads: 12, headSize: 64),
    DecodeShape(batch: 1, cached: 0, new: 33, capacity: 64, heads: 4, headSize: 16),
    DecodeShape(batch: 3, cached: 40, new: 7, capacity: 50, heads: 3, headSize: 32),
  ]
  static var all: [DecodeShape] { smallShapesOnly ? small : small + large }
}

@Suite(
  "Decoding equivalence: KV cache, cached attention, embeddings, argmax — OpenCL vs the CPU reference"
)
struct DecodingEquivalenceTests {
  /// Writes a prefix and then the new rows into the caches, attends with the new queries, and
  /// compares both the caches (guard rows beyond `length` must stay zero) and the output.
  @Test(arguments: DecodeShape.all)
  func cacheWriteAndCachedAttention(shape: DecodeShape) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(shape.batch * 101 + shape.cached * 7 + shape.new))
    let c = shape.channels
    let prefix = random.floats(shape.batch * shape.cached * 3 * c, in: -2...2)
    let step = random.floats(shape.batch * shape.new * 3 * c, in: -2...2)
    let mask = (0..<shape.batch).flatMap { b in
      (0..<shape.capacity).map { j -> Int32 in b == 1 && j == 0 && shape.length > 1 ? 0 : 1 }
    }
    let scale = 1 / Float(shape.headSize).squareRoot()
    for masked in [false, true] {
      func run(_ backend: any Backend) throws -> (keys: [Float], values: [Float], y: [Float]) {
        let keys = try backend.zeros(shape: [shape.batch, shape.capacity, c])
        let values = try backend.zeros(shape: [shape.batch, shape.capacity, c])
        if shape.cached > 0 {
          try backend.writeKeyValueCache(
            backend.tensor(prefix, shape: [shape.batch, shape.cached, 3 * c]), keyCache: keys,
            valueCache: values,
            at: 0)
        }
        let qkv = try backend.tensor(step, shape: [shape.batch, shape.new, 3 * c])
        try backend.writeKeyValueCache(qkv, keyCache: keys, valueCache: values, at: shape.cached)
        let y = try backend.attention(
          AttentionCall(
            .separate(query: qkv, key: keys, value: values), heads: shape.heads, scale: scale, keyLength: shape.length,
            mask: masked ? backend.tensor(ints: mask, shape: [shape.batch, shape.capacity]) : nil, masking: .causal))
        #expect(y.shape == [shape.batch, shape.new, c])
        return (try backend.floats(keys), try backend.floats(values), try backend.floats(y))
      }
      let (g, r) = (try run(gpu), try run(TestBackends.cpu))
      expectClose(g.keys, r.keys, atol: 0, "\(shape.testDescription) key cache")
      expectClose(g.values, r.values, atol: 0, "\(shape.testDescription) value cache")
      expectClose(g.y, r.y, atol: 1e-5, rtol: 1e-5, "\(shape.testDescription) masked=\(masked)")
      // Rows past `length` were never written.
      for b in 0..<shape.batch {
        let (from, to): (Int, Int) = (
          (b * shape.capacity + shape.length) * c, (b + 1) * shape.capacity * c
        )
        #expect(g.keys[from..<to].allSatisfy { $0 == 0 }, "cache rows past length untouched")
      }
    }
  }

  /// The cached path equals the fused causal attention over the same keys (a prefill).
  @Test func cachedAttentionEqualsCausalAttention() throws {
    var random = SeededGenerator(seed: 77)
    let (batch, t, heads, hs, capacity) = (
      2, smallShapesOnly ? 6 : 29, 3, 8, smallShapesOnly ? 8 : 40
    )
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
      let fused = try backend.attention(AttentionCall(.packed(packed), heads: heads, scale: 0.5, masking: .causal))
      expectClose(
        try backend.floats(cached), try backend.floats(fused), atol: 1e-6, "\(backend.kind)")
    }
  }

  /// One head, three cached keys, one new query, by hand: scores q·k = [1, 0, 1] → softmax
  /// [e, 1, e]/(2e + 1), times values [1, 2, 4] = (e + 2 + 4e)/(2e + 1) = 2.4223188.
  @Test("cached attention and cache write, hand-computed")
  func cachedAttentionByHand() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let keys = try backend.zeros(shape: [1, 4, 1])
      let values = try backend.zeros(shape: [1, 4, 1])
      // Rows of [q, k, v]: the prompt (2 tokens), then one new token.
      try backend.writeKeyValueCache(
        backend.tensor([9, 1, 1, 9, 0, 2], shape: [1, 2, 3]), keyCache: keys, valueCache: values,
        at: 0)
      let step = try backend.tensor([1, 1, 4], shape: [1, 1, 3])
      try backend.writeKeyValueCache(step, keyCache: keys, valueCache: values, at: 2)
      expectClose(try backend.floats(keys), [1, 0, 1, 0], atol: 0, "\(backend.kind) keys")
      expectClose(try backend.floats(values), [1, 2, 4, 0], atol: 0, "\(backend.kind) values")
      let y = try backend.attention(
        AttentionCall(
          .separate(query: step, key: keys, value: values), heads: 1, scale: 1, keyLength: 3, masking: .causal))
      expectClose(try backend.floats(y), [2.4223188], atol: 2e-6, "\(backend.kind) attention")
      // Key 0 padded: values [2, 4] weighted by [1, e]/(1 + e) = 3.4621172.
      let mask = try backend.tensor(ints: [0, 1, 1, 1], shape: [1, 4])
      let masked = try backend.attention(
        AttentionCall(
          .separate(query: step, key: keys, value: values), heads: 1, scale: 1, keyLength: 3, mask: mask,
          masking: .causal))
      expectClose(try backend.floats(masked), [3.4621172], atol: 2e-6, "\(backend.kind) masked")
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

  @Test func badShapesAreRejected() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let cache = try backend.zeros(shape: [1, 4, 2])
      let qkv = try backend.tensor([Float](repeating: 0, count: 12), shape: [1, 2, 6])
      #expect(throws: PhotonError.self) {
        try backend.writeKeyValueCache(qkv, keyCache: cache, valueCache: cache, at: 3)
      }
      #expect(throws: PhotonError.self) {
        try backend.attention(
          AttentionCall(
            .separate(query: qkv, key: cache, value: cache), heads: 1, scale: 1, keyLength: 5, masking: .causal))
      }
      #expect(throws: PhotonError.self) {
        try backend.attention(
          AttentionCall(
            .separate(query: qkv, key: cache, value: cache), heads: 1, scale: 1, keyLength: 1, masking: .causal))
      }
      #expect(throws: PhotonError.self) { try backend.selectPosition(qkv, 2) }
    }
  }

  @Test(arguments: [
    RowShape(rows: 1, channels: 1), RowShape(rows: 7, channels: 33),
    RowShape(rows: 5, channels: 512),
  ])
  func rmsNormRows(shape: RowShape) throws {
    let gpu = try TestBackends.gpu()
    var random = SeededGenerator(seed: UInt64(shape.rows * 17 + shape.channels))
    let x = random.floats(shape.rows * shape.channels, in: -4...4)
    let g = random.floats(shape.channels, in: 0.5...1.5)
    func run(_ backend: any Backend) throws -> [Float] {
      try backend.floats(
        backend.normalize(
          backend.tensor(x, shape: [shape.rows, shape.channels]), residual: nil,
          .rms(weight: backend.tensor(g, shape: [shape.channels]), eps: 1e-6)))
    }
    expectClose(
      try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5, shape.testDescription)
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
