import Foundation
import PhotonCore

/// A linear weight `[out, in]` as the checkpoint stores it, to hand to a backend unchanged.
public enum StoredLinearWeight: Sendable, Equatable {
  /// An ordinary checkpoint's weight (F32, F16, BF16 or F64 read as `Float`); the backend converts
  /// it to the precision asked for.
  case float([Float])
  /// IEEE half bit patterns: from a `photon quantize --precision fp16` folder, or an ordinary F16
  /// checkpoint loaded at fp16 (its bits are already what fp16 stores: no fp32 round trip).
  case half([UInt16])
  /// q8_0 values and their block scales `[out, ceil(in/32)]` from a `--precision int8` folder.
  case int8(q: [Int8], scales: [Float])
}

extension WeightScope {
  /// The linear weight `name` (HF `[out, in]`), as stored: for a `photon quantize` checkpoint the
  /// I8 values and their `name_scale` block scales, or the F16 bits; otherwise floats.
  ///
  /// - Parameters:
  ///   - name: e.g. `"attention.self.query.weight"`, relative to this scope (prefix fallback applies).
  ///   - allowFloat: accept a float tensor in a quantized checkpoint (a decoder tied to the word
  ///     embeddings, which stay fp32 and are quantized at load).
  ///   - precision: the precision the caller will store the weight at; with fp16, an F16 tensor of
  ///     an ordinary checkpoint comes back as its bits (`.half`), not widened to floats.
  /// - Throws: `.missingTensor` for the weight, or for an I8 weight's scale (naming the expected
  ///   scale name); `.shapeMismatch` naming both tensors and shapes; `.invalidFile` for an I8 weight
  ///   without a `quantization_config` (and a float one with it), a scale that is not F32, or a
  ///   negative or non-finite scale.
  public func linearWeight(
    _ name: String, outFeatures: Int, inFeatures: Int, allowFloat: Bool = false, precision: Precision? = nil
  ) throws -> StoredLinearWeight {
    let shape = [outFeatures, inFeatures]
    guard let found = resolve(name), let info = weights.info(found) else {
      // Absent under every spelling: tensor(_:shape:) throws the error naming the nearest names.
      return .float(try tensor(name, shape: shape).values)
    }
    let path = weights.url.path
    let quantization = weights.quantization
    let config = "config.json quantization_config"
    switch (info.dtype, quantization?.precision) {
    case (.int8, .int8):
      try checkShape(info, shape)
      return .int8(q: try raw(found, as: Int8.self), scales: try scales(of: info, inFeatures: inFeatures))
    case (.int8, let other):
      throw PhotonError(
        .invalidFile,
        "\(path): linear weight '\(found)' is I8, but "
          + (other == nil
            ? "config.json has no quantization_config; an int8 checkpoint from `photon quantize` has {\"quant_method\": \"photon\", \"bits\": 8, \"group_size\": 32}"
            : "\(config) says bits \(quantization?.bits ?? 0) (F16 linear weights)"))
    case (.float16, .fp16):
      try checkShape(info, shape)
      return .half(try raw(found, as: UInt16.self))
    case (.float16, nil) where precision == .fp16:
      try checkShape(info, shape)
      let bits = try raw(found, as: UInt16.self)
      // Exponent all ones: inf or NaN, which converting at fp16 refuses too (Quantization.checkFinite).
      if let index = bits.firstIndex(where: { $0 & 0x7C00 == 0x7C00 }) {
        throw PhotonError(
          .invalidArgument,
          "\(path): linear weight '\(found)' element \(index) is \(Float(Float16(bitPattern: bits[index]))); cannot store it as fp16"
        )
      }
      return .half(bits)
    case (_, .some(let precision)) where !allowFloat:
      let expected =
        precision == .int8 ? "I8 with F32 block scales '\(QuantizationConfig.scaleName(of: found))'" : "F16"
      throw PhotonError(
        .invalidFile,
        "\(path): \(config) says \(precision.rawValue) (bits \(quantization?.bits ?? 0)), but linear weight '\(found)' is \(info.dtype.rawValue); `photon quantize` stores every linear weight as \(expected)"
      )
    default:
      return .float(try tensor(name, shape: shape).values)
    }
  }

  private func checkShape(_ info: SafeTensorInfo, _ shape: [Int]) throws {
    guard info.shape == shape else {
      throw PhotonError(
        .shapeMismatch,
        "\(weights.url.path): tensor '\(info.name)' (\(info.dtype.rawValue)) has shape \(info.shape), expected \(shape)"
      )
    }
  }

  /// The F32 block scales `[out, ceil(in/32)]` that go with the I8 weight `weight`.
  private func scales(of weight: SafeTensorInfo, inFeatures: Int) throws -> [Float] {
    let path = weights.url.path
    let name = QuantizationConfig.scaleName(of: weight.name)
    let expected = [weight.shape[0], Quantization.blocks(inFeatures)]
    guard let info = weights.info(name) else {
      throw PhotonError(
        .missingTensor,
        "\(path): I8 linear weight '\(weight.name)' \(weight.shape) has no block scales: expected tensor '\(name)' (F32 \(expected))"
      )
    }
    guard info.dtype == .float32 else {
      throw PhotonError(
        .invalidFile,
        "\(path): block scales '\(name)' are \(info.dtype.rawValue); Photon's int8 scales are F32 \(expected) (the fp32 scales the kernels use, so a folder and load-time quantization agree bit for bit)"
      )
    }
    guard info.shape == expected else {
      throw PhotonError(
        .shapeMismatch,
        "\(path): block scales '\(name)' have shape \(info.shape), but I8 weight '\(weight.name)' \(weight.shape) needs \(expected) (one per \(Quantization.blockSize) inputs, a short last block included)"
      )
    }
    let scales = try raw(name, as: Float.self)
    if let bad = scales.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
      throw PhotonError(
        .invalidFile,
        "\(path): block scales '\(name)': element \(bad) (row \(bad / expected[1]), block \(bad % expected[1])) is \(scales[bad]); scales are finite and ≥ 0"
      )
    }
    return scales
  }

  /// The stored elements of tensor `name` (exact name) without conversion; its dtype's element
  /// size must be `T`'s.
  private func raw<T>(_ name: String, as _: T.Type) throws -> [T] {
    guard let file = weights.file(containing: name) else { throw weights.missing(name, tried: [name]) }
    return try file.withRawBytes(name) { info, bytes in
      guard info.dtype.byteSize == MemoryLayout<T>.stride else {
        throw PhotonError(
          .unsupported, "\(file.url.path): tensor '\(name)' is \(info.dtype.rawValue), not read as \(T.self)")
      }
      // The data section need not be aligned for T: copy the bytes (little-endian, as the host).
      return [T](unsafeUninitializedCapacity: info.count) { buffer, initialized in
        if info.count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes) }
        initialized = info.count
      }
    }
  }
}
