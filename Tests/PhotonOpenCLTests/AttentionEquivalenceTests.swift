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
