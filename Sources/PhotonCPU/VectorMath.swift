import CMathVector
import Foundation

/// `erff` and `expf` four lanes at a time: glibc's own vector variants (libmvec) on x86-64, lane
/// by lane elsewhere. GELU's erf and softmax's exp are the two functions the reference calls tens
/// of millions of times per MiniLM batch; one scalar call each costs more than the GEMM work
/// around it, while libmvec stays within 4 ulp of the scalar function.
enum VectorMath {
  static func erf(_ x: SIMD4<Float>) -> SIMD4<Float> {
    #if arch(x86_64)
      _ZGVbN4v_erff(x)
    #else
      SIMD4(erff(x[0]), erff(x[1]), erff(x[2]), erff(x[3]))
    #endif
  }

  static func exp(_ x: SIMD4<Float>) -> SIMD4<Float> {
    #if arch(x86_64)
      _ZGVbN4v_expf(x)
    #else
      SIMD4(expf(x[0]), expf(x[1]), expf(x[2]), expf(x[3]))
    #endif
  }
}

extension UnsafeMutablePointer<Float> {
  /// The four floats at `self + index` (no alignment needed).
  func lanes(at index: Int) -> SIMD4<Float> {
    UnsafeRawPointer(self + index).loadUnaligned(as: SIMD4<Float>.self)
  }

  func setLanes(_ value: SIMD4<Float>, at index: Int) {
    UnsafeMutableRawPointer(self + index).storeBytes(of: value, as: SIMD4<Float>.self)
  }
}
