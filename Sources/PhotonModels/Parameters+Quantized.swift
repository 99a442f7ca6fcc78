import PhotonCore
import PhotonLoading

extension Parameters {
  /// The linear weights `names` (each HF `[out, in]`, relative to this scope, e.g. `"query.weight"`)
  /// stacked along the output axis into one `[out·names.count, in]` weight at ``precision``.
  ///
  /// A `photon quantize` checkpoint's weights go to the backend as stored — I8 values with their
  /// block scales, or F16 bits — never dequantized and quantized again; blocks run along the input
  /// axis, so stacking rows stacks their scales unchanged. Float weights are converted by the
  /// backend (``Backend/linearWeight(_:outFeatures:inFeatures:precision:)``), which ends in the same
  /// entry points: a folder and load-time quantization of its source give bit-identical weights.
  ///
  /// - Parameter allowFloat: accept float weights in a quantized checkpoint (a decoder tied to the
  ///   word embeddings, which stay fp32 in the file and are quantized here).
  public func linearWeight(_ names: [String], outFeatures: Int, inFeatures: Int, allowFloat: Bool = false) throws
    -> LinearWeight
  {
    let stored = try names.map {
      try scope.linearWeight(
        $0, outFeatures: outFeatures, inFeatures: inFeatures, allowFloat: allowFloat, precision: precision)
    }
    let rows = outFeatures * names.count
    var floats: [Float] = []
    var half: [UInt16] = []
    var q: [Int8] = []
    var scales: [Float] = []
    for weight in stored {
      switch weight {
      case .float(let values): floats += values
      case .half(let bits): half += bits
      case .int8(let values, let blockScales):
        q += values
        scales += blockScales
      }
    }
    let kinds = [!floats.isEmpty, !half.isEmpty, !q.isEmpty].filter { $0 }.count
    guard kinds <= 1 else {
      throw PhotonError(
        .invalidFile,
        "\(scope.weights.url.path): linear weights \(names.map { scope.fullName($0) }) are stacked into one but stored at different dtypes"
      )
    }
    if !half.isEmpty && scope.weights.quantization == nil {
      // An F16 checkpoint at fp16: its bits, as stored (the scope returns them only at fp16).
      return try backend.linearWeight(halfBits: half, outFeatures: rows, inFeatures: inFeatures)
    }
    if !q.isEmpty || !half.isEmpty {
      let storedPrecision: Precision = q.isEmpty ? .fp16 : .int8
      guard precision == storedPrecision else {
        throw PhotonError(
          .invalidArgument,
          "\(scope.weights.url.path): linear weight '\(scope.fullName(names[0]))' is stored as \(storedPrecision.rawValue) (photon quantize); it loads at \(storedPrecision.rawValue) only, not \(precision.rawValue)"
        )
      }
      return q.isEmpty
        ? try backend.linearWeight(halfBits: half, outFeatures: rows, inFeatures: inFeatures)
        : try backend.linearWeight(int8: q, scales: scales, outFeatures: rows, inFeatures: inFeatures)
    }
    return try backend.linearWeight(floats, outFeatures: rows, inFeatures: inFeatures, precision: precision)
  }
}
