import PhotonCPU
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

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

/// Split-key decode attention (`split_attention_partial` + `split_attention_combine`, flash-
/// decoding) against the CPU reference's biased and cached attention, which build the whole score
/// row and normalise it in two passes: every chunk count from 1 to more chunks than keys, with and
/// without T5's position bias, a padding mask (one row fully masked), packed and separate queries.
@Suite("Split-key decode attention equivalence — OpenCL vs the CPU reference")
struct SplitAttentionEquivalenceTests {
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
