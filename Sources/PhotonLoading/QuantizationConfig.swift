import Foundation
import PhotonCore

/// `quantization_config` in the `config.json` of a folder `photon quantize` wrote:
/// `{"quant_method": "photon", "bits": 8, "group_size": 32}` for int8 (q8_0), `{"quant_method":
/// "photon", "bits": 16}` for fp16.
///
/// The folder's `model.safetensors` then stores every linear weight `X.weight` (HF `[out, in]`) as
/// - int8: `X.weight` I8 `[out, in]` and `X.weight_scale` F32 `[out, ceil(in/32)]`, the blocks of
///   ``Quantization/int8Blocks(_:rows:columns:)`` (a short last block: scale from its real weights,
///   nothing stored for the padding);
/// - fp16: `X.weight` F16 `[out, in]`.
///
/// Everything else (embedding tables, LayerNorms, biases) keeps the checkpoint's dtype.
public struct QuantizationConfig: Sendable, Equatable, Codable {
  /// The one `quant_method` Photon reads.
  public static let photonMethod = "photon"

  public var quantMethod: String
  public var bits: Int
  /// Weights per scale along the input axis (int8 only).
  public var groupSize: Int?

  enum CodingKeys: String, CodingKey {
    case quantMethod = "quant_method"
    case bits
    case groupSize = "group_size"
  }

  /// The configuration `photon quantize --precision` writes (fp16 or int8; fp32 is not a
  /// quantization and has none).
  public init(precision: Precision) {
    quantMethod = Self.photonMethod
    bits = precision == .int8 ? 8 : 16
    groupSize = precision == .int8 ? Quantization.blockSize : nil
  }

  /// The precision linear weights are stored at: int8 for 8 bits, fp16 for 16.
  public var precision: Precision { bits == 8 ? .int8 : .fp16 }

  /// The name of the block scales of the int8 weight `weight` (`X.weight` → `X.weight_scale`).
  public static func scaleName(of weight: String) -> String { weight + "_scale" }

  /// The `quantization_config` of the `config.json` at `url`, validated, or nil if it has none.
  ///
  /// - Throws: `.unsupported` naming the key for another `quant_method` (GPTQ, AWQ, bitsandbytes
  ///   folders), bits other than 8 and 16, or a group size other than 32.
  public static func load(from url: URL) throws -> QuantizationConfig? {
    try decode(ConfigFile.read(url), file: url.path)
  }

  /// See ``load(from:)``.
  public static func decode(_ data: Data, file: String = "config.json") throws -> QuantizationConfig? {
    struct Probe: Decodable {
      var quantizationConfig: QuantizationConfig?
      enum CodingKeys: String, CodingKey { case quantizationConfig = "quantization_config" }
    }
    guard let config = try ConfigFile.decode(Probe.self, from: data, file: file).quantizationConfig else { return nil }
    guard config.quantMethod == photonMethod else {
      throw PhotonError(
        .unsupported,
        "\(file): quantization_config.quant_method '\(config.quantMethod)' is not supported; Photon loads folders written by `photon quantize` (quant_method '\(photonMethod)')"
      )
    }
    switch (config.bits, config.groupSize) {
    case (16, _): break
    case (8, Quantization.blockSize): break
    case (8, let group):
      throw PhotonError(
        .unsupported,
        "\(file): quantization_config.group_size is \(group.map(String.init) ?? "absent"); Photon's int8 uses blocks of \(Quantization.blockSize)"
      )
    default:
      throw PhotonError(
        .unsupported, "\(file): quantization_config.bits is \(config.bits); Photon writes 8 (int8) or 16 (fp16)")
    }
    return config
  }
}

extension ModelFolder {
  /// The precision to load linear weights at: `requested`, or when nil the one the folder was
  /// written at (fp32 for an ordinary checkpoint, the `quantization_config`'s for a
  /// `photon quantize` folder).
  ///
  /// A quantized folder loads at its own precision only: fp32 or fp16 from int8 would compute with
  /// dequantized weights while looking like a full-precision run, so asking is an error.
  ///
  /// - Throws: `.invalidArgument` naming the folder, both precisions and the way out.
  public func loadPrecision(_ requested: Precision?) throws -> Precision {
    guard let quantization else { return requested ?? .fp32 }
    let stored = quantization.precision
    if let requested, requested != stored {
      throw PhotonError(
        .invalidArgument,
        "\(url.path) was written by `photon quantize --precision \(stored.rawValue)` (config.json quantization_config bits \(quantization.bits)); it loads at \(stored.rawValue) only, not \(requested.rawValue): leave --precision out or pass \(stored.rawValue), or load the original folder for \(requested.rawValue)"
      )
    }
    return stored
  }
}
