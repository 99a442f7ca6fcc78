import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonCPU

/// The reference backend's fp16 / int8 linear reads the stored weights: a direct product for a
/// few rows of x, widened tiles and sgemm for more (QuantizedLinear+Product.swift). Both against
/// the definition — `Quantization.floats(halfBits:)` / `Quantization.dequantize`, then a plain
/// product in Double — with the fp32 tolerance: same weights, another summation order.
@Suite("Quantized linear equivalence (CPU): direct and tiled products vs dequantize-then-multiply")
struct QuantizedLinearCPUEquivalenceTests {
  /// M: 1 and the last direct row count, the first tiled one (column chunks), and row chunks.
  /// K: short last int8 blocks (7, 33, 130) and a whole-block decode width; N: one column, a
  /// prime, and more than a 256-row tile (K = 130 and 768 widen 256 rows per tile).
  static var shapes: [GEMMShape] {
    let direct = CPUBackend.directProductRows
    let rowChunks = 2 * CPUBackend.gemmRowGrain + 3
    var shapes: [GEMMShape] = []
    for m in [1, direct, direct + 1] {
      for (k, n) in [(7, 1), (33, 127), (130, 300), (768, 45)] { shapes.append(GEMMShape(m: m, k: k, n: n)) }
    }
    shapes += [GEMMShape(m: rowChunks, k: 130, n: 300), GEMMShape(m: rowChunks, k: 64, n: 33)]
    if !smallShapesOnly { shapes.append(GEMMShape(m: 1, k: 3072, n: 768)) }
    return shapes
  }

  @Test(arguments: shapes, [Precision.fp16, .int8])
  func storedFormProductEquivalence(shape: GEMMShape, precision: Precision) throws {
    let cpu = CPUBackend()
    let (m, k, n) = (shape.m, shape.k, shape.n)
    var random = SeededGenerator(seed: UInt64(m * 7919 + k * 31 + n))
    let x = random.floats(m * k)
    let w = random.floats(n * k, in: -0.2...0.2)
    let b = random.floats(n)
    let weight: LinearWeight
    let dequantized: [Float]
    switch precision {
    case .int8:
      let (q, scales) = Quantization.int8Blocks(w, rows: n, columns: k)
      weight = try cpu.linearWeight(int8: q, scales: scales, outFeatures: n, inFeatures: k)
      dequantized = Quantization.dequantize(q, scales: scales, rows: n, columns: k)
    default:
      let bits = Quantization.halfBits(w)
      weight = try cpu.linearWeight(halfBits: bits, outFeatures: n, inFeatures: k)
      dequantized = Quantization.floats(halfBits: bits)
    }
    let y = try cpu.floats(
      cpu.linear(cpu.tensor(x, shape: [m, k]), weight, bias: cpu.tensor(b, shape: [n]), activation: .identity))
    expectClose(
      y, Self.product(x, dequantized, bias: b, m: m, k: k, n: n), atol: 1e-5, rtol: 1e-5,
      "\(precision) \(shape.testDescription)")
  }

  /// Every finite half widens exactly, in the direct product and in a widened tile: all 63488 of
  /// them, subnormals and ±0 included, as weight rows of 16 against one-hot rows of x.
  @Test("fp16: every finite half widens exactly")
  func everyFiniteHalf() throws {
    let cpu = CPUBackend()
    let bits = (0...UInt16.max).filter { $0 & 0x7c00 != 0x7c00 }
    let k = 16
    let n = bits.count / k
    #expect(n * k == bits.count)
    let weight = try cpu.linearWeight(halfBits: bits, outFeatures: n, inFeatures: k)
    for m in [1, CPUBackend.directProductRows + 1] {
      for column in 0..<k {
        var x = [Float](repeating: 0, count: m * k)
        for r in 0..<m { x[r * k + column] = 1 }
        let y = try cpu.floats(cpu.linear(cpu.tensor(x, shape: [m, k]), weight, bias: nil, activation: .identity))
        let expected = (0..<n).map { Float(Float16(bitPattern: bits[$0 * k + column])) }
        for r in 0..<m { #expect(Array(y[(r * n)..<((r + 1) * n)]) == expected, "M=\(m) column \(column)") }
      }
    }
  }

  /// A hand-made fp16 weight holding inf (quantizing refuses one; a file need not): widened one
  /// value at a time, so the row holding it gives inf and the others their products.
  @Test("fp16: a weight holding inf widens exactly")
  func infiniteHalf() throws {
    let cpu = CPUBackend()
    let (k, n) = (40, 3)
    var random = SeededGenerator(seed: 3)
    var bits = Quantization.halfBits(random.floats(n * k))
    bits[k + 5] = 0x7c00  // +inf in row 1
    let x = random.floats(k, in: 0.5...1)
    let weight = try cpu.linearWeight(halfBits: bits, outFeatures: n, inFeatures: k)
    let y = try cpu.floats(cpu.linear(cpu.tensor(x, shape: [1, k]), weight, bias: nil, activation: .identity))
    #expect(y[1] == .infinity)
    let reference = Self.product(x, Quantization.floats(halfBits: bits), bias: [0, 0, 0], m: 1, k: k, n: n)
    expectClose([y[0], y[2]], [reference[0], reference[2]], atol: 1e-5, rtol: 1e-5)
  }

  /// `x · wᵀ + b` in Double: x [M, K], w [N, K], b [N] → [M, N].
  static func product(_ x: [Float], _ w: [Float], bias: [Float], m: Int, k: Int, n: Int) -> [Float] {
    var y = [Float](repeating: 0, count: m * n)
    for r in 0..<m {
      for j in 0..<n {
        var sum = Double(bias[j])
        for c in 0..<k { sum += Double(x[r * k + c]) * Double(w[j * k + c]) }
        y[r * n + j] = Float(sum)
      }
    }
    return y
  }
}
