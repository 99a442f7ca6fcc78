import Foundation
import PhotonCore
import Testing

/// Builds safetensors files byte by byte, valid or deliberately broken.
enum SafeTensorsBuilder {
  struct Entry {
    var name: String
    var dtype: String
    var shape: [Int]
    var bytes: [UInt8]
  }

  static func f32(_ name: String, _ shape: [Int], _ values: [Float]) -> Entry {
    Entry(name: name, dtype: "F32", shape: shape, bytes: values.flatMap { le($0.bitPattern) })
  }

  static func f16(_ name: String, _ shape: [Int], bits: [UInt16]) -> Entry {
    Entry(name: name, dtype: "F16", shape: shape, bytes: bits.flatMap { le($0) })
  }

  static func bf16(_ name: String, _ shape: [Int], bits: [UInt16]) -> Entry {
    Entry(name: name, dtype: "BF16", shape: shape, bytes: bits.flatMap { le($0) })
  }

  static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
  }

  /// A valid file: tensors laid out back to back in the order given, header padded to 8 bytes
  /// as the reference writer does.
  static func file(_ entries: [Entry], metadata: [String: String]? = ["format": "pt"]) -> [UInt8] {
    var parts: [String] = []
    if let metadata {
      let fields = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
      parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
    }
    var offset = 0
    var data: [UInt8] = []
    for entry in entries {
      let end = offset + entry.bytes.count
      parts.append(
        "\"\(entry.name)\":{\"dtype\":\"\(entry.dtype)\",\"shape\":\(entry.shape),\"data_offsets\":[\(offset),\(end)]}"
      )
      offset = end
      data += entry.bytes
    }
    return raw(header: "{" + parts.joined(separator: ",") + "}", data: data)
  }

  /// A file with exactly this header text (space-padded to 8 bytes) and data section; `length`
  /// overrides the header-length field.
  static func raw(header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
    return le(length ?? UInt64(headerBytes.count)) + headerBytes + data
  }
}
