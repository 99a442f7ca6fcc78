/// How a linear layer's weight is stored on the backend. Activations, biases, norms and
/// embedding tables stay fp32 whatever the precision: only `nn.Linear` weights are converted.
public enum Precision: String, Sendable, CaseIterable {
  /// 4 bytes per weight, as loaded.
  case fp32
  /// IEEE half (2 bytes), widened to fp32 in the kernels (`vload_half`); products in fp32.
  case fp16
  /// Weight-only symmetric int8 in blocks of ``Quantization/blockSize`` along the input axis with
  /// one fp32 scale per block (llama.cpp's q8_0): `w ≈ q · scale`, `scale = max|w| / 127`.
  case int8

  /// Bytes of one weight, scales included for int8 (`1 + 4/32`), padding excluded.
  public var bytesPerWeight: Double {
    switch self {
    case .fp32: 4
    case .fp16: 2
    case .int8: 1 + 4.0 / Double(Quantization.blockSize)
    }
  }
}

/// Host-side conversions shared by every backend and by `photon quantize`, so a weight quantized
/// in a file and one quantized at load are bit-identical.
public enum Quantization {
  /// Weights per int8 block (along the input dimension, K).
  public static let blockSize = 32

  /// Blocks per row of `columns` weights. A row whose length is not a multiple of 32 ends in a
  /// short block, treated as if padded with zeros: its scale comes from the real weights only and
  /// the padding quantizes to 0, so it adds nothing to a product. Devices store it padded.
  public static func blocks(_ columns: Int) -> Int { (columns + blockSize - 1) / blockSize }

  /// IEEE half bit patterns of `values` (round to nearest even; overflow becomes ±inf, which
  /// ``checkFinite(_:name:)`` rules out for weights beyond 65504 when precision is fp16).
  public static func halfBits(_ values: [Float]) -> [UInt16] {
    values.map { Float16($0).bitPattern }
  }

  /// The floats that half bit patterns stand for (exact).
  public static func floats(halfBits bits: [UInt16]) -> [Float] {
    bits.map { Float(Float16(bitPattern: $0)) }
  }

  /// q8_0 of a `[rows, columns]` matrix: per row, per block of 32 columns, `scale = max|w| / 127`
  /// and `q = round(w / scale)` (an all-zero block has scale 0 and q 0).
  /// Returns q `[rows, columns]` and scales `[rows, blocks(columns)]`.
  public static func int8Blocks(_ values: [Float], rows: Int, columns: Int) -> (values: [Int8], scales: [Float]) {
    let nb = blocks(columns)
    var q = [Int8](repeating: 0, count: rows * columns)
    var scales = [Float](repeating: 0, count: rows * nb)
    for row in 0..<rows {
      for block in 0..<nb {
        let start = row * columns + block * blockSize
        let end = row * columns + min((block + 1) * blockSize, columns)
        var amax: Float = 0
        for i in start..<end { amax = max(amax, abs(values[i])) }
        let scale = amax / 127
        scales[row * nb + block] = scale
        guard scale > 0 else { continue }
        for i in start..<end { q[i] = Int8(max(-127, min(127, (values[i] / scale).rounded()))) }
      }
    }
    return (q, scales)
  }

  /// `q · scale` per block: the weights an int8 layer computes with, `[rows, columns]`.
  public static func dequantize(_ q: [Int8], scales: [Float], rows: Int, columns: Int) -> [Float] {
    let nb = blocks(columns)
    var values = [Float](repeating: 0, count: rows * columns)
    for row in 0..<rows {
      for column in 0..<columns {
        values[row * columns + column] = Float(q[row * columns + column]) * scales[row * nb + column / blockSize]
      }
    }
    return values
  }

  /// Throws `.invalidArgument` naming `name` and the first bad index when a weight is NaN or
  /// infinite, or (for fp16) beyond half's range — quantizing would hide it as a wrong number.
  public static func checkFinite(_ values: [Float], name: String, precision: Precision) throws {
    let limit: Float = precision == .fp16 ? 65504 : .greatestFiniteMagnitude
    if let index = values.firstIndex(where: { !$0.isFinite || abs($0) > limit }) {
      throw PhotonError(
        .invalidArgument,
        "\(name): weight \(index) is \(values[index]); cannot store it as \(precision.rawValue)")
    }
  }
}

extension Array where Element == Float {
  /// Index of the first NaN or infinite value, or nil. One vectorised pass (`x·0` is NaN exactly
  /// for non-finite `x`, and a NaN poisons the lane sums) before the scalar search for the index.
  public var firstNonFiniteIndex: Int? {
    withUnsafeBufferPointer { values in
      var sums = SIMD16<Float>()
      let whole = values.count / 16 * 16
      var i = 0
      while i < whole {
        sums += SIMD16<Float>(values[i..<(i + 16)]) * 0
        i += 16
      }
      var tail: Float = 0
      for j in whole..<values.count { tail += values[j] * 0 }
      if sums.sum() + tail == 0 { return nil }
      return values.firstIndex { !$0.isFinite }
    }
  }
}
