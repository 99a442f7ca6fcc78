import Foundation
import PhotonCore

/// Element types the safetensors format names (`"dtype"` in the header).
///
/// Every one of them is recognised, so a header can be validated (shape × size = byte span) even
/// when a tensor is of a type Photon does not compute with; reading converts F64/F32/F16/BF16 to
/// `Float` and the integer types to `Int`.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
  case float64 = "F64"
  case float32 = "F32"
  case float16 = "F16"
  case bfloat16 = "BF16"
  case float8E4M3 = "F8_E4M3"
  case float8E5M2 = "F8_E5M2"
  case int64 = "I64"
  case int32 = "I32"
  case int16 = "I16"
  case int8 = "I8"
  case uint64 = "U64"
  case uint32 = "U32"
  case uint16 = "U16"
  case uint8 = "U8"
  case bool = "BOOL"

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .float64, .int64, .uint64: 8
    case .float32, .int32, .uint32: 4
    case .float16, .bfloat16, .int16, .uint16: 2
    case .float8E4M3, .float8E5M2, .int8, .uint8, .bool: 1
    }
  }

  /// Whether ``SafeTensorsFile/floats(_:)`` converts this type.
  public var isReadableAsFloat: Bool {
    switch self {
    case .float64, .float32, .float16, .bfloat16: true
    default: false
    }
  }

  /// Whether ``SafeTensorsFile/ints(_:)`` converts this type.
  public var isReadableAsInt: Bool {
    switch self {
    case .int64, .int32, .int16, .int8, .uint32, .uint16, .uint8, .bool: true
    default: false
    }
  }
}

/// What the header says about one tensor.
public struct SafeTensorInfo: Sendable, Equatable {
  public let name: String
  public let dtype: SafeTensorsDType
  public let shape: [Int]
  /// Byte range inside the data section (the bytes after the header), as the header states it.
  public let dataOffsets: Range<Int>

  /// Number of elements.
  public var count: Int { shape.elementCount }
}

/// A tensor read into host memory as `Float`: row-major `values`, `shape` as the checkpoint stores it.
public struct LoadedTensor: Sendable, Equatable {
  public var values: [Float]
  public var shape: [Int]

  public init(values: [Float], shape: [Int]) {
    self.values = values
    self.shape = shape
  }

  /// The transpose of a rank-2 tensor: `[R, C]` → `[C, R]`.
  ///
  /// For GPT-2's `Conv1D`, which stores weights `[in, out]` where `nn.Linear` stores `[out, in]`.
  public func transposed() throws -> LoadedTensor {
    guard shape.count == 2 else {
      throw PhotonError(.shapeMismatch, "transposed(): needs a rank-2 tensor, got shape \(shape)")
    }
    let rows = shape[0]
    let columns = shape[1]
    var out = [Float](repeating: 0, count: values.count)
    for r in 0..<rows {
      for c in 0..<columns {
        out[c * rows + r] = values[r * columns + c]
      }
    }
    return LoadedTensor(values: out, shape: [columns, rows])
  }
}

/// One `.safetensors` file, memory-mapped, its header validated when opened.
///
/// Layout (https://github.com/huggingface/safetensors): 8 bytes little-endian `N`, `N` bytes of
/// UTF-8 JSON (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`),
/// then the data section; offsets are relative to its start. Opening checks that the header is sane
/// (length, JSON object, known dtypes, shape × dtype size = span, spans inside the data section and
/// not overlapping), so reading a tensor afterwards cannot run off the mapping.
public final class SafeTensorsFile: Sendable {
  /// The largest header accepted: the limit Hugging Face's own reader uses.
  public static let maximumHeaderSize = 100_000_000

  public let url: URL
  /// The header's `__metadata__` (e.g. `["format": "pt"]`), empty if absent.
  public let metadata: [String: String]
  /// Tensor names, sorted.
  public let names: [String]
  private let tensors: [String: SafeTensorInfo]
  private let file: MappedFile
  /// Where the data section starts in the file: 8 + header length.
  private let dataStart: Int

  /// Maps and validates the file at `url`.
  public init(url: URL) throws {
    let file = try MappedFile(url: url)
    let path = url.path
    let bytes = file.bytes
    guard bytes.count >= 8 else {
      throw PhotonError(
        .invalidFile,
        "\(path): truncated: \(bytes.count) bytes, shorter than the 8-byte header length")
    }
    var headerLength: UInt64 = 0
    for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
    guard headerLength <= UInt64(Self.maximumHeaderSize) else {
      throw PhotonError(
        .invalidFile,
        "\(path): header length \(headerLength) at byte offset 0 exceeds the \(Self.maximumHeaderSize)-byte limit"
      )
    }
    guard headerLength <= UInt64(bytes.count - 8) else {
      throw PhotonError(
        .invalidFile,
        "\(path): header length \(headerLength) at byte offset 0 runs past the end of the file (\(bytes.count) bytes; at most \(bytes.count - 8) available)"
      )
    }
    let dataStart = 8 + Int(headerLength)
    let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
    let header = try Self.parseHeader(Data(headerBytes), path: path)
    let dataLength = bytes.count - dataStart

    var tensors: [String: SafeTensorInfo] = [:]
    // In a fixed order (the header is a dictionary), so a bad file names the same tensor each run.
    for (name, entry) in header.entries.sorted(by: { $0.key < $1.key }) {
      tensors[name] = try Self.validate(
        entry, name: name, dataStart: dataStart, dataLength: dataLength, path: path)
    }
    // Spans sorted by start must each begin at or after the furthest end seen so far. (Empty
    // tensors own no bytes and cannot overlap anything.)
    let ordered = tensors.values.filter { !$0.dataOffsets.isEmpty }.sorted {
      ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name)
    }
    var furthest: SafeTensorInfo? = nil
    for next in ordered {
      if let previous = furthest, next.dataOffsets.lowerBound < previous.dataOffsets.upperBound {
        throw PhotonError(
          .invalidFile,
          "\(path): tensors '\(previous.name)' (data_offsets [\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]) and '\(next.name)' (data_offsets [\(next.dataOffsets.lowerBound), \(next.dataOffsets.upperBound)]) overlap"
        )
      }
      if next.dataOffsets.upperBound > furthest?.dataOffsets.upperBound ?? 0 { furthest = next }
    }

    self.url = url
    self.file = file
    self.dataStart = dataStart
    self.metadata = header.metadata
    self.tensors = tensors
    self.names = tensors.keys.sorted()
  }

  /// Whether the file holds a tensor called `name`.
  public func contains(_ name: String) -> Bool { tensors[name] != nil }

  /// The header entry for `name`, or `nil` if there is none.
  public func info(_ name: String) -> SafeTensorInfo? { tensors[name] }

  /// The tensor `name` converted to `Float` (from F32, F16, BF16 or F64), with its shape.
  ///
  /// - Throws: `.missingTensor` if absent, `.unsupported` for a non-float dtype.
  public func floats(_ name: String) throws -> LoadedTensor {
    let info = try requireInfo(name)
    guard info.dtype.isReadableAsFloat else {
      throw PhotonError(
        .unsupported,
        "\(url.path): tensor '\(name)' has dtype \(info.dtype.rawValue); floats() reads F32, F16, BF16 and F64"
      )
    }
    let raw = rawBytes(info)
    let count = info.count
    // The data section starts at 8 + N, which need not be a multiple of the element size, so every
    // load is unaligned. Safetensors data is little-endian; so are the hosts Photon runs on.
    let values: [Float]
    switch info.dtype {
    case .float32:
      values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 {
          UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
        }
        initialized = count
      }
    case .float16:
      values = (0..<count).map { i in
        Half.toFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
      }
    case .bfloat16:
      // bfloat16 is the top half of a float32.
      values = (0..<count).map { i in
        Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
      }
    case .float64:
      values = (0..<count).map { i in
        Float(raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
      }
    default:
      values = []  // excluded by the guard above
    }
    return LoadedTensor(values: values, shape: info.shape)
  }

  /// The integer tensor `name` (I64, I32, I16, I8, U32, U16, U8 or BOOL) as `Int`, with its shape.
  ///
  /// - Throws: `.missingTensor` if absent, `.unsupported` for a float or U64 dtype.
  public func ints(_ name: String) throws -> (values: [Int], shape: [Int]) {
    let info = try requireInfo(name)
    guard info.dtype.isReadableAsInt else {
      throw PhotonError(
        .unsupported,
        "\(url.path): tensor '\(name)' has dtype \(info.dtype.rawValue); ints() reads I64, I32, I16, I8, U32, U16, U8 and BOOL"
      )
    }
    let raw = rawBytes(info)
    let size = info.dtype.byteSize
    let values: [Int] = (0..<info.count).map { i in
      let offset = i * size
      switch info.dtype {
      case .int64: return Int(raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
      case .int32: return Int(raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
      case .int16: return Int(raw.loadUnaligned(fromByteOffset: offset, as: Int16.self))
      case .int8: return Int(raw.loadUnaligned(fromByteOffset: offset, as: Int8.self))
      case .uint32: return Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
      case .uint16: return Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
      default: return Int(raw[offset])  // U8, BOOL
      }
    }
    return (values, info.shape)
  }

  /// Calls `body` with the tensor's bytes exactly as stored (little-endian), valid only inside it.
  public func withRawBytes<R>(
    _ name: String, _ body: (SafeTensorInfo, UnsafeRawBufferPointer) throws -> R
  ) throws -> R {
    let info = try requireInfo(name)
    return try body(info, rawBytes(info))
  }

  private func requireInfo(_ name: String) throws -> SafeTensorInfo {
    guard let info = tensors[name] else {
      let nearest = NearestNames.find(name, among: names).map { "'\($0)'" }.joined(separator: ", ")
      throw PhotonError(
        .missingTensor,
        "\(url.path): no tensor '\(name)'" + (nearest.isEmpty ? "" : "; nearest: \(nearest)"))
    }
    return info
  }

  private func rawBytes(_ info: SafeTensorInfo) -> UnsafeRawBufferPointer {
    // In bounds: init checked every span against the data section.
    UnsafeRawBufferPointer(
      rebasing: file.bytes[
        (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)])
  }
}

// MARK: - Header parsing

extension SafeTensorsFile {
  struct HeaderEntry: Decodable {
    var dtype: String
    var shape: [Int]
    var dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
      case dtype
      case shape
      case dataOffsets = "data_offsets"
    }
  }

  struct Header: Decodable {
    var metadata: [String: String] = [:]
    var entries: [String: HeaderEntry] = [:]

    init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: AnyCodingKey.self)
      for key in container.allKeys {
        if key.stringValue == "__metadata__" {
          metadata = try container.decode([String: String].self, forKey: key)
        } else {
          entries[key.stringValue] = try container.decode(HeaderEntry.self, forKey: key)
        }
      }
    }
  }

  fileprivate static func parseHeader(_ data: Data, path: String) throws -> Header {
    let firstByte = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
    guard firstByte == UInt8(ascii: "{") else {
      throw PhotonError(
        .invalidFile, "\(path): header (byte offset 8, \(data.count) bytes) is not a JSON object")
    }
    try JSONScan(Array(data)).check(file: "\(path): header (byte offset 8)")
    do {
      return try JSONDecoder().decode(Header.self, from: data)
    } catch let error as DecodingError {
      throw PhotonError(
        .invalidFile,
        "\(path): header (byte offset 8, \(data.count) bytes): \(JSONErrors.describe(error, data: data))",
        cause: error)
    }
  }

  fileprivate static func validate(
    _ entry: HeaderEntry, name: String, dataStart: Int, dataLength: Int, path: String
  ) throws -> SafeTensorInfo {
    guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
      let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
      throw PhotonError(
        .unsupported,
        "\(path): tensor '\(name)' has unknown dtype '\(entry.dtype)' (known: \(known))")
    }
    guard entry.dataOffsets.count == 2 else {
      throw PhotonError(
        .invalidFile,
        "\(path): tensor '\(name)': data_offsets must be [begin, end], got \(entry.dataOffsets)")
    }
    let begin = entry.dataOffsets[0]
    let end = entry.dataOffsets[1]
    guard begin >= 0, begin <= end else {
      throw PhotonError(
        .invalidFile, "\(path): tensor '\(name)': data_offsets [\(begin), \(end)] are not a range")
    }
    guard end <= dataLength else {
      throw PhotonError(
        .invalidFile,
        "\(path): tensor '\(name)': data_offsets [\(begin), \(end)] run past the data section (\(dataLength) bytes after the \(dataStart) bytes of length field and header: file byte offsets \(dataStart)..<\(dataStart + dataLength)); the tensor would end at file byte offset \(dataStart + end) — is the file truncated?"
      )
    }
    var bytes = dtype.byteSize
    for dimension in entry.shape {
      guard dimension >= 0 else {
        throw PhotonError(
          .invalidFile, "\(path): tensor '\(name)': negative dimension in shape \(entry.shape)")
      }
      let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
      guard !overflow else {
        throw PhotonError(
          .invalidFile, "\(path): tensor '\(name)': shape \(entry.shape) is too large")
      }
      bytes = product
    }
    guard bytes == end - begin else {
      throw PhotonError(
        .invalidFile,
        "\(path): tensor '\(name)': shape \(entry.shape) × \(dtype.rawValue) (\(dtype.byteSize) bytes) = \(bytes) bytes, but data_offsets [\(begin), \(end)] span \(end - begin)"
      )
    }
    return SafeTensorInfo(name: name, dtype: dtype, shape: entry.shape, dataOffsets: begin..<end)
  }
}

/// A coding key for objects whose keys are data (tensor names, label ids).
struct AnyCodingKey: CodingKey {
  var stringValue: String
  var intValue: Int?
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) {
    self.stringValue = String(intValue)
    self.intValue = intValue
  }
}

/// IEEE 754 binary16 → binary32, exact for every input (subnormals, infinities, NaN payloads).
enum Half {
  static func toFloat(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    switch exponent {
    case 0:
      // Zero or subnormal: mantissa · 2^-24, exact in float32.
      let magnitude = Float(mantissa) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    case 0x1F:
      return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
      return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
  }
}
