import CBLAS
import Foundation
import PhotonCore

extension CPUBackend {
  // x: [T, K], w: [N, K] (HF [out, in]), b: [N], y: [T, N]
  public func linear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation)
    throws -> Tensor
  {
    // fp16 / int8: read from the stored form (QuantizedLinear+Product.swift).
    if weight.precision != .fp32 { return try quantizedLinear(x, weight, bias: bias, activation: activation) }
    let shape = try ShapeCheck.linear(x, weight, bias: bias)
    let (t, k, n) = (x.rows, weight.inFeatures, weight.outFeatures)
    let (xs, ws) = (try x.hostFloats(), try hostWeights(weight))
    let bs = try bias?.hostFloats() ?? [Float](repeating: 0, count: n)
    let y = [Float](filling: t * n) { y in
      guard t > 0, n > 0 else { return }
      guard k > 0 else {  // an empty product: y = act(0 + b)
        y.initialize(repeating: 0)
        for row in 0..<t { addBias(bs, activation, to: y.baseAddress! + row * n, columns: 0..<n) }
        return
      }
      xs.withUnsafeBufferPointer { xs in
        ws.withUnsafeBufferPointer { ws in
          let (x, w, y) = (xs.baseAddress!, ws.baseAddress!, y.baseAddress!)
          // Chunks of rows, each multiplied then given its epilogue while still in cache; with only a
          // few rows (batch 1, decoding) chunks of output columns instead, so every core has work.
          if t >= 2 * Self.gemmRowGrain {
            Parallel.forEachChunk(of: t, grain: Self.gemmRowGrain) { rows in
              let first = rows.lowerBound
              sgemm(
                m: rows.count, n: n, k: k, x + first * k, lda: k, w, ldb: k, transposeB: true,
                y + first * n, ldc: n)
              for row in rows { addBias(bs, activation, to: y + row * n, columns: 0..<n) }
            }
          } else {
            Parallel.forEachChunk(of: n, grain: Self.gemmColumnGrain) { columns in
              let first = columns.lowerBound
              sgemm(
                m: t, n: columns.count, k: k, x, lda: k, w + first * k, ldb: k, transposeB: true,
                y + first, ldc: n)
              for row in 0..<t { addBias(bs, activation, to: y + row * n, columns: columns) }
            }
          }
        }
      }
    }
    return .host(y, shape: shape)
  }

  /// Smallest GEMM chunks worth a call each (a call packs its whole slice of the weight matrix).
  static let gemmRowGrain = 64
  static let gemmColumnGrain = 128

  /// `y[j] = act(y[j] + bias[j])` for `j` in `columns` of one output row, four columns at a time.
  func addBias(
    _ bias: [Float], _ activation: Activation, to y: UnsafeMutablePointer<Float>, columns: Range<Int>
  ) {
    bias.withUnsafeBufferPointer { b in
      let b = UnsafeMutablePointer(mutating: b.baseAddress!)
      var j = columns.lowerBound
      while j + 4 <= columns.upperBound {
        y.setLanes(activation.apply(y.lanes(at: j) + b.lanes(at: j)), at: j)
        j += 4
      }
      for j in j..<columns.upperBound { y[j] = activation.apply(y[j] + b[j]) }
    }
  }
}

/// `c = a·b` or `a·bᵀ` through OpenBLAS, row-major with leading dimensions (so a head's columns can
/// be read in place from a packed QKV tensor). Single-threaded: callers parallelise around it.
/// a: [m, k] (lda), b: [k, n] or [n, k] (ldb), c: [m, n] (ldc), overwritten.
func sgemm(
  m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
  transposeB: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
  guard m > 0, n > 0 else { return }
  guard k > 0 else {
    for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
    return
  }
  cblas_sgemm(
    CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
    Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
}

extension Activation {
  /// The activation as PyTorch computes it, in fp32: the four-lane formula on one value, so a
  /// value's result does not depend on whether it fell in a group of four.
  public func apply(_ x: Float) -> Float { apply(SIMD4(repeating: x))[0] }

  /// GELU's erf through glibc's vector `erff` (``VectorMath``), tanh through `tanhf`: accurate to
  /// a few ulp, far inside the tolerances the kernels are held to. Inlined, so that a loop over a
  /// row branches on the activation once, not once per four values.
  @inline(__always)
  func apply(_ x: SIMD4<Float>) -> SIMD4<Float> {
    switch self {
    case .identity: return x
    case .relu: return pointwiseMax(x, .zero)
    case .gelu: return 0.5 * x * (1 + VectorMath.erf(x * Float(0.5.squareRoot())))
    case .geluTanh:
      let u = Float((2 / Double.pi).squareRoot()) * (x + 0.044715 * x * x * x)
      return 0.5 * x * (1 + SIMD4(tanhf(u[0]), tanhf(u[1]), tanhf(u[2]), tanhf(u[3])))
    }
  }
}
