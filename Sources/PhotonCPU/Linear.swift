import CBLAS
import Foundation
import PhotonCore

extension CPUBackend {
  // x: [T, K], w: [N, K] (HF [out, in]), b: [N], y: [T, N]
  public func linear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation)
    throws -> Tensor
  {
    let shape = try ShapeCheck.linear(x, weight, bias: bias)
    let (t, k, n) = (x.rows, weight.inFeatures, weight.outFeatures)
    var y = [Float](repeating: 0, count: t * n)
    try matmul(x.hostFloats(), hostWeights(weight), into: &y, m: t, n: n, k: k, transposeB: true)
    let b = try bias?.hostFloats()
    for row in 0..<t {
      for col in 0..<n {
        y[row * n + col] = activation.apply(y[row * n + col] + (b?[col] ?? 0))
      }
    }
    return .host(y, shape: shape)
  }

  // a: [B, M, K], b: [B, K, N] or [B, N, K], c: [B, M, N]
  public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeB: Bool) throws -> Tensor {
    let (batch, m, n, k) = try ShapeCheck.batchedMatmul(a, b, transposeB: transposeB)
    let (av, bv) = (try a.hostFloats(), try b.hostFloats())
    var c = [Float](repeating: 0, count: batch * m * n)
    var cSlice = [Float](repeating: 0, count: m * n)
    for i in 0..<batch {
      matmul(
        Array(av[(i * m * k)..<((i + 1) * m * k)]), Array(bv[(i * k * n)..<((i + 1) * k * n)]),
        into: &cSlice, m: m, n: n, k: k, transposeB: transposeB)
      c.replaceSubrange((i * m * n)..<((i + 1) * m * n), with: cSlice)
    }
    return .host(c, shape: [batch, m, n])
  }

  /// `c = a·b` or `a·bᵀ`, row-major, through OpenBLAS.
  func matmul(
    _ a: [Float], _ b: [Float], into c: inout [Float], m: Int, n: Int, k: Int, transposeB: Bool
  ) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      for i in c.indices { c[i] = 0 }
      return
    }
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(transposeB ? k : n), 0, &c, Int32(n))
  }
}

extension Activation {
  /// The activation as PyTorch computes it (in Double, so the reference is not the weak link).
  public func apply(_ x: Float) -> Float {
    let v = Double(x)
    switch self {
    case .identity: return x
    case .relu: return max(x, 0)
    case .gelu: return Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    case .geluTanh:
      return Float(0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
    }
  }
}
