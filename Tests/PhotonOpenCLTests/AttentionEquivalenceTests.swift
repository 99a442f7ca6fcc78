import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

/// Attention geometry: batch, query length, key length, heads, head size.
struct AttentionShape: CustomTestStringConvertible, Sendable {
  let batch: Int, queryLength: Int, keyLength: Int, heads: Int, headSize: Int
  var channels: Int { heads * headSize }
  var testDescription: String { "B\(batch) Tq\(queryLength) Tk\(keyLength) \(heads)×\(headSize)" }

  static let small = [
    AttentionShape(batch: 1, queryLength: 1, keyLength: 1, heads: 1, headSize: 1),
    AttentionShape(batch: 3, queryLength: 7, keyLength: 7, heads: 2, headSize: 8),
    AttentionShape(batch: 2, queryLength: 33, keyLength: 33, heads: 3, headSize: 16),
    // keys-x16's full work-groups (≥ 128 query rows) and a second key chunk (> 128 keys).
    AttentionShape(batch: 1, queryLength: 130, keyLength: 130, heads: 1, headSize: 16),
  ]
  static let large = [
    AttentionShape(batch: 3, queryLength: 127, keyLength: 127, heads: 12, headSize: 32),
    AttentionShape(batch: 2, queryLength: 128, keyLength: 128, heads: 12, headSize: 32),
    AttentionShape(batch: 2, queryLength: 40, keyLength: 40, heads: 4, headSize: 64),
    AttentionShape(batch: 2, queryLength: 300, keyLength: 300, heads: 4, headSize: 32),
  ]
  static var all: [AttentionShape] { smallShapesOnly ? small : small + large }
}

@Suite("Attention equivalence: fused OpenCL kernels vs the explicit-score CPU reference")
struct AttentionEquivalenceTests {
  /// A mask whose rows have different amounts of padding; row 1 keeps only its first key (the
  /// [CLS] position), the rest of it fully padded.
  static func paddingMask(batch: Int, length: Int) -> [Int32] {
    (0..<batch).flatMap { b -> [Int32] in
      let kept = b == 1 ? 1 : max(1, length - b * length / (batch + 1))
      return (0..<length).map { $0 < kept ? 1 : 0 }
    }
  }

  @Test(arguments: AttentionShape.all, OpenCLBackend.AttentionVariant.allCases)
  func packedSelfAttention(shape: AttentionShape, variant: OpenCLBackend.AttentionVariant) throws {
    let gpu = try TestBackends.gpu(attention: variant)
    var random = SeededGenerator(seed: UInt64(shape.batch * 7919 + shape.queryLength * 31 + shape.heads))
    let qkv = random.floats(shape.batch * shape.queryLength * 3 * shape.channels, in: -2...2)
    let mask = Self.paddingMask(batch: shape.batch, length: shape.keyLength)
    let scale = 1 / Float(shape.headSize).squareRoot()
    for (masked, causal) in [(false, false), (true, false), (false, true), (true, true)] {
      func run(_ backend: any Backend) throws -> [Float] {
        let input = try backend.tensor(qkv, shape: [shape.batch, shape.queryLength, 3 * shape.channels])
        let maskTensor = masked ? try backend.tensor(ints: mask, shape: [shape.batch, shape.keyLength]) : nil
        let y = try backend.attention(
          AttentionCall(
            .packed(input), heads: shape.heads, scale: scale, mask: maskTensor, masking: (causal ? .causal : .none)))
        #expect(y.shape == [shape.batch, shape.queryLength, shape.channels])
        return try backend.floats(y)
      }
      expectClose(
        try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5,
        "\(variant) \(shape.testDescription) masked=\(masked) causal=\(causal)")
    }
  }

  /// Separate Q, K, V with Tq ≠ Tk: cross-attention, and a causal decode-style query block.
  @Test(arguments: OpenCLBackend.AttentionVariant.allCases)
  func separateCrossAttention(variant: OpenCLBackend.AttentionVariant) throws {
    let gpu = try TestBackends.gpu(attention: variant)
    var random = SeededGenerator(seed: 4242)
    let (batch, tq, tk, heads, hs) = (2, 5, smallShapesOnly ? 9 : 140, 2, 16)
    let c = heads * hs
    let q = random.floats(batch * tq * c)
    let k = random.floats(batch * tk * c)
    let v = random.floats(batch * tk * c)
    let mask = Self.paddingMask(batch: batch, length: tk)
    for causal in [false, true] {
      func run(_ backend: any Backend) throws -> [Float] {
        try backend.floats(
          backend.attention(
            AttentionCall(
              .separate(
                query: backend.tensor(q, shape: [batch, tq, c]), key: backend.tensor(k, shape: [batch, tk, c]),
                value: backend.tensor(v, shape: [batch, tk, c])), heads: heads, scale: 1,
              mask: backend.tensor(ints: mask, shape: [batch, tk]), masking: (causal ? .causal : .none))))
      }
      expectClose(try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5, "\(variant) causal=\(causal)")
    }
  }

  /// One head, two tokens, worked out by hand: softmax([1, 0]) = [0.7310586, 0.2689414].
  @Test("attention, hand-computed", arguments: OpenCLBackend.AttentionVariant.allCases)
  func handComputed(variant: OpenCLBackend.AttentionVariant) throws {
    for backend: any Backend in [try TestBackends.gpu(attention: variant), TestBackends.cpu] {
      let q = try backend.tensor([1, 0, 0, 1], shape: [1, 2, 2])
      let k = try backend.tensor([1, 0, 0, 1], shape: [1, 2, 2])
      let v = try backend.tensor([1, 2, 3, 4], shape: [1, 2, 2])
      let input = AttentionInput.separate(query: q, key: k, value: v)
      let plain = try backend.floats(backend.attention(AttentionCall(input, heads: 1, scale: 1)))
      expectClose(plain, [1.5378828, 2.5378828, 2.4621172, 3.4621172], atol: 2e-6, "\(backend.kind) plain")
      // Key 1 padded: both rows see only value 0.
      let mask = try backend.tensor(ints: [1, 0], shape: [1, 2])
      let masked = try backend.floats(backend.attention(AttentionCall(input, heads: 1, scale: 1, mask: mask)))
      expectClose(masked, [1, 2, 1, 2], atol: 1e-6, "\(backend.kind) masked")
      // Causal: row 0 sees only key 0; row 1 sees both.
      let causal = try backend.floats(backend.attention(AttentionCall(input, heads: 1, scale: 1, masking: .causal)))
      expectClose(causal, [1, 2, 2.4621172, 3.4621172], atol: 2e-6, "\(backend.kind) causal")
      // Large logits: softmax must not overflow (scores ±1e4 would be inf in a naive exp).
      let big = try backend.floats(backend.attention(AttentionCall(input, heads: 1, scale: 1e4)))
      expectClose(big, [1, 2, 3, 4], atol: 1e-6, "\(backend.kind) large logits")
    }
  }

  /// The masking rules besides causal: ModernBERT's two-sided window and Mistral's causal one, in
  /// the fused kernels of each variant (packed, with and without a padding mask).
  @Test(arguments: AttentionShape.all, OpenCLBackend.AttentionVariant.allCases)
  func slidingWindows(shape: AttentionShape, variant: OpenCLBackend.AttentionVariant) throws {
    let gpu = try TestBackends.gpu(attention: variant)
    var random = SeededGenerator(seed: UInt64(shape.batch * 31 + shape.queryLength * 7 + shape.heads + 5))
    let qkv = random.floats(shape.batch * shape.queryLength * 3 * shape.channels, in: -2...2)
    let mask = Self.paddingMask(batch: shape.batch, length: shape.keyLength)
    let scale = 1 / Float(shape.headSize).squareRoot()
    let maskings: [AttentionMasking] = [
      .window(radius: 0), .window(radius: 3), .causalWindow(size: 2), .causalWindow(size: 40),
    ]
    for masking in maskings {
      for masked in [false, true] {
        func run(_ backend: any Backend) throws -> [Float] {
          let input = try backend.tensor(qkv, shape: [shape.batch, shape.queryLength, 3 * shape.channels])
          let maskTensor = masked ? try backend.tensor(ints: mask, shape: [shape.batch, shape.keyLength]) : nil
          return try backend.floats(
            backend.attention(
              AttentionCall(.packed(input), heads: shape.heads, scale: scale, mask: maskTensor, masking: masking)))
        }
        expectClose(
          try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5,
          "\(variant) \(shape.testDescription) \(masking) masked=\(masked)")
      }
    }
  }

  /// Windows over a KV cache with a position bias (attention_cached), and one query over a long
  /// cache (the split path): the window leaves out keys before the query too.
  @Test(arguments: [(2, 3, 5, 9), (1, 1, 1, 1), (2, 1, smallShapesOnly ? 12 : 300, smallShapesOnly ? 16 : 320)])
  func slidingWindowsOverACache(batch: Int, queries: Int, length: Int, capacity: Int) throws {
    let gpu = try TestBackends.gpu()
    let (heads, hs) = (2, 16)
    let c = heads * hs
    var random = SeededGenerator(seed: UInt64(batch * 13 + queries * 5 + length))
    let query = random.floats(batch * queries * c, in: -2...2)
    let keys = random.floats(batch * capacity * c, in: -2...2)
    let values = random.floats(batch * capacity * c, in: -2...2)
    let bias = random.floats(heads * capacity * capacity, in: -3...3)
    for (masking, biased) in [
      (AttentionMasking.window(radius: 2), true), (.causalWindow(size: 3), false), (.causalWindow(size: 100), true),
    ] {
      func run(_ backend: any Backend) throws -> [Float] {
        try backend.floats(
          backend.attention(
            AttentionCall(
              .separate(
                query: backend.tensor(query, shape: [batch, queries, c]),
                key: backend.tensor(keys, shape: [batch, capacity, c]),
                value: backend.tensor(values, shape: [batch, capacity, c])),
              heads: heads, scale: 0.25, keyLength: length, masking: masking,
              positionBias: biased ? backend.tensor(bias, shape: [heads, capacity, capacity]) : nil)))
      }
      expectClose(
        try run(gpu), try run(TestBackends.cpu), atol: 1e-5, rtol: 1e-5,
        "B\(batch) Tq\(queries) L\(length) S\(capacity) \(masking) biased=\(biased)")
    }
  }

  /// Three keys, three queries, one head, worked out by hand: with q = 0 every visible key weighs
  /// the same, so each output is the mean of the values the window lets through.
  @Test("sliding windows, hand-computed", arguments: OpenCLBackend.AttentionVariant.allCases)
  func slidingWindowsByHand(variant: OpenCLBackend.AttentionVariant) throws {
    for backend: any Backend in [try TestBackends.gpu(attention: variant), TestBackends.cpu] {
      let q = try backend.tensor([0, 0, 0], shape: [1, 3, 1])
      let k = try backend.tensor([1, 2, 3], shape: [1, 3, 1])
      let v = try backend.tensor([1, 2, 4], shape: [1, 3, 1])
      func run(_ masking: AttentionMasking) throws -> [Float] {
        try backend.floats(
          backend.attention(AttentionCall(.separate(query: q, key: k, value: v), heads: 1, scale: 1, masking: masking)))
      }
      expectClose(try run(.window(radius: 0)), [1, 2, 4], atol: 1e-6, "\(backend.kind) radius 0")
      expectClose(try run(.window(radius: 1)), [1.5, 7.0 / 3, 3], atol: 1e-6, "\(backend.kind) radius 1")
      expectClose(try run(.causalWindow(size: 2)), [1, 1.5, 3], atol: 1e-6, "\(backend.kind) causal size 2")
      expectClose(try run(.causalWindow(size: 3)), try run(.causal), atol: 0, "\(backend.kind) causal size 3")
      #expect(throws: PhotonError.self) { try run(.window(radius: -1)) }
      #expect(throws: PhotonError.self) { try run(.causalWindow(size: 0)) }
    }
  }
}

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

/// One decode step's attention over a cache: B sequences, L keys attended of S rows.
struct SplitShape: CustomTestStringConvertible, Sendable {
  let batch: Int, length: Int, capacity: Int, heads: Int, headSize: Int
  var channels: Int { heads * headSize }
  var testDescription: String { "B\(batch) L\(length) S\(capacity) \(heads)×\(headSize)" }

  static let small = [
    SplitShape(batch: 1, length: 1, capacity: 1, heads: 1, headSize: 1),
    SplitShape(batch: 2, length: 5, capacity: 9, heads: 2, headSize: 8),
    SplitShape(batch: 3, length: 13, capacity: 13, heads: 4, headSize: 16),
  ]
  static let large = [
    SplitShape(batch: 2, length: 300, capacity: 320, heads: 8, headSize: 64),
    SplitShape(batch: 1, length: 1021, capacity: 1024, heads: 4, headSize: 32),
  ]
  static var all: [SplitShape] { smallShapesOnly ? small : small + large }
}

/// With a KV cache: keys and values read over their first L rows, the queries the last of them.
extension AttentionEquivalenceTests {
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
}

/// With T5's additive relative position bias (indexed by absolute positions).
extension AttentionEquivalenceTests {
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
}

/// Split-key decode attention (`attention_split_partial` + `attention_split_combine`, flash-
/// decoding) against the CPU reference's biased and cached attention, which build the whole score
/// row and normalise it in two passes: every chunk count from 1 to more chunks than keys, with and
/// without T5's position bias, a padding mask (one row fully masked), packed and separate queries.
extension AttentionEquivalenceTests {
  @Test(arguments: SplitShape.all)
  func splitAttentionEqualsTheReference(shape: SplitShape) throws {
    let gpu = try TestBackends.gpu()
    let cpu = TestBackends.cpu
    var random = SeededGenerator(seed: UInt64(shape.batch * 977 + shape.length * 13 + shape.heads))
    let (b, s, c, length, heads) = (
      shape.batch, shape.capacity, shape.channels, shape.length, shape.heads
    )
    let keys = random.floats(b * s * c, in: -2...2)
    let values = random.floats(b * s * c, in: -2...2)
    let packed = random.floats(b * 3 * c, in: -2...2)
    let separate = random.floats(b * c, in: -2...2)
    // A bias larger than needed (indexed by absolute position: row L − 1 is read).
    let (rows, columns) = (length + 2, s + 3)
    let bias = random.floats(heads * rows * columns, in: -3...3)
    // Row 1 masks its first key and every third one; row 2 masks everything.
    let mask = (0..<b).flatMap { r in
      (0..<s).map { j -> Int32 in
        r == 2 || (r == 1 && length > 1 && (j == 0 || j % 3 == 2)) ? 0 : 1
      }
    }
    let splitCounts = Array(Set([1, 2, 3, 7, length, length + 5]))
    for (biased, masked, usePacked) in [
      (true, false, true), (false, false, false), (true, true, false), (false, true, true),
    ] {
      func inputs(_ backend: any Backend) throws -> (Tensor, Tensor, Tensor, Tensor, Tensor?) {
        (
          usePacked
            ? try backend.tensor(packed, shape: [b, 1, 3 * c])
            : try backend.tensor(separate, shape: [b, 1, c]),
          try backend.tensor(keys, shape: [b, s, c]), try backend.tensor(values, shape: [b, s, c]),
          try backend.tensor(bias, shape: [heads, rows, columns]),
          masked ? try backend.tensor(ints: mask, shape: [b, s]) : nil
        )
      }
      let (q, k, v, p, m) = try inputs(cpu)
      let reference = try cpu.floats(
        biased
          ? cpu.attention(
            AttentionCall(
              .separate(query: q, key: k, value: v), heads: heads, scale: 0.25, keyLength: length, mask: m,
              masking: .causal, positionBias: p))
          : cpu.attention(
            AttentionCall(
              .separate(query: q, key: k, value: v), heads: heads, scale: 0.25, keyLength: length, mask: m,
              masking: .causal)))
      let (gq, gk, gv, gp, gm) = try inputs(gpu)
      for splits in splitCounts.sorted() {
        let y = try gpu.splitAttention(
          query: gq, keys: gk, values: gv, length: length, positionBias: biased ? gp : nil,
          mask: gm, heads: heads, headSize: shape.headSize, queryStride: gq.shape[2],
          scale: 0.25, splits: splits)
        #expect(y.shape == [b, 1, c])
        let diff = expectClose(
          try gpu.floats(y), reference, atol: 1e-5, rtol: 1e-5,
          "\(shape.testDescription) splits=\(splits) biased=\(biased) masked=\(masked) packed=\(usePacked)"
        )
        if splits == 7 {
          print("split attention \(shape.testDescription) biased=\(biased): max abs diff \(diff)")
        }
      }
    }
  }

  /// Through the public op: a one-query step over ≥ 256 keys takes the split path (at most two
  /// launches) and equals the CPU; a shorter one keeps the single kernel.
  @Test(
    .disabled(if: smallShapesOnly, "hundreds of keys are too slow in the Oclgrind interpreter"),
    arguments: [255, 256, 700])
  func publicOpsSplitLongDecodeSteps(length: Int) throws {
    // A backend of its own: counters live on the device, and other tests run in parallel.
    let gpu = try OpenCLBackend()
    let cpu = TestBackends.cpu
    let (b, heads, hs, s) = (2, 4, 16, 704)
    let c = heads * hs
    var random = SeededGenerator(seed: UInt64(length))
    let keys = random.floats(b * s * c, in: -2...2)
    let values = random.floats(b * s * c, in: -2...2)
    let query = random.floats(b * c, in: -2...2)
    let bias = random.floats(heads * s * s, in: -3...3)
    func run(_ backend: any Backend, biased: Bool) throws -> [Float] {
      let q = try backend.tensor(query, shape: [b, 1, c])
      let k = try backend.tensor(keys, shape: [b, s, c])
      let v = try backend.tensor(values, shape: [b, s, c])
      let p = try backend.tensor(bias, shape: [heads, s, s])
      (backend as? OpenCLBackend)?.resetCounters()
      let y =
        biased
        ? try backend.attention(
          AttentionCall(
            .separate(query: q, key: k, value: v), heads: heads, scale: 1, keyLength: length, masking: .causal,
            positionBias: p))
        : try backend.attention(
          AttentionCall(
            .separate(query: q, key: k, value: v), heads: heads, scale: 0.25, keyLength: length, masking: .causal))
      if let gpu = backend as? OpenCLBackend {
        #expect(gpu.counters.kernelLaunches <= (length >= 256 ? 2 : 1), "launches at L = \(length)")
      }
      return try backend.floats(y)
    }
    for biased in [true, false] {
      let diff = expectClose(
        try run(gpu, biased: biased), try run(cpu, biased: biased), atol: 1e-5, rtol: 1e-5,
        "L\(length) biased=\(biased)")
      print("decode attention L\(length) biased=\(biased): gpu vs cpu max abs diff \(diff)")
    }
  }
}
