import Foundation
import PhotonCore

/// Writes a `.safetensors` file as Hugging Face's `safetensors` does, for ``SafeTensorsFile`` and
/// `safetensors.safe_open` alike to read.
///
/// Layout: 8 bytes little-endian header length `N`; `N` bytes of JSON
/// `{"__metadata__": {…}, "name": {"dtype", "shape", "data_offsets": [begin, end]}, …}` padded
/// with spaces so the data section starts at a multiple of 8; then the tensors back to back.
/// As in HF's writer, tensors are laid out by element size, largest first, then by name, so every
/// tensor starts at a multiple of its element size (the header lists them by name).
///
/// Tensors are added with their dtype and shape and a closure producing their bytes, called once
/// while writing: a checkpoint is converted one tensor at a time instead of held in memory whole.
///
/// ```swift
/// var writer = SafeTensorsWriter(metadata: ["format": "pt"])
/// try writer.add("w", dtype: .float32, shape: [2, 2]) { SafeTensorsWriter.bytes(of: [1, 2, 3, 4] as [Float]) }
/// try writer.write(to: url)
/// ```
public struct SafeTensorsWriter {
  struct Entry {
    let name: String
    let dtype: SafeTensorsDType
    let shape: [Int]
    let byteCount: Int
    let bytes: () throws -> Data
  }

  /// The header's `__metadata__` (strings only, as the format requires); omitted when empty.
  public var metadata: [String: String]
  private var entries: [String: Entry] = [:]

  public init(metadata: [String: String] = [:]) {
    self.metadata = metadata
  }

  /// Names added so far, sorted.
  public var names: [String] { entries.keys.sorted() }

  /// Adds tensor `name`; `bytes` must return `shape.elementCount × dtype.byteSize` bytes,
  /// little-endian (checked when writing).
  ///
  /// - Throws: `.invalidArgument` for a duplicate name, the reserved `__metadata__`, an empty name
  ///   or a negative dimension.
  public mutating func add(
    _ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: @escaping () throws -> Data
  ) throws {
    guard !name.isEmpty, name != "__metadata__" else {
      throw PhotonError(.invalidArgument, "safetensors tensor name '\(name)' is reserved or empty")
    }
    guard entries[name] == nil else {
      throw PhotonError(.invalidArgument, "safetensors tensor '\(name)' added twice")
    }
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw PhotonError(.invalidArgument, "safetensors tensor '\(name)': negative dimension in shape \(shape)")
    }
    entries[name] = Entry(
      name: name, dtype: dtype, shape: shape, byteCount: shape.elementCount * dtype.byteSize, bytes: bytes)
  }

  /// The little-endian bytes of `values` (Float → F32, Int8 → I8, UInt16 → F16 bits, …).
  public static func bytes<T>(of values: [T]) -> Data {
    values.withUnsafeBytes { Data($0) }
  }

  /// The header JSON, padded with spaces to make `8 + N` a multiple of 8, and the entries in data
  /// order with their offsets.
  func header() throws -> (json: Data, order: [(Entry, Range<Int>)]) {
    let order = entries.values.sorted { ($1.dtype.byteSize, $0.name) < ($0.dtype.byteSize, $1.name) }
    var offset = 0
    var placed: [(Entry, Range<Int>)] = []
    for entry in order {
      placed.append((entry, offset..<(offset + entry.byteCount)))
      offset += entry.byteCount
    }
    let encoder = JSONEncoder()
    func quoted(_ text: String) throws -> String {
      String(decoding: try encoder.encode(text), as: UTF8.self)
    }
    var fields: [String] = []
    if !metadata.isEmpty {
      let pairs = try metadata.keys.sorted().map { "\(try quoted($0)):\(try quoted(metadata[$0]!))" }
      fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
    }
    for (entry, span) in placed.sorted(by: { $0.0.name < $1.0.name }) {
      let shape = entry.shape.map(String.init).joined(separator: ",")
      fields.append(
        "\(try quoted(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(span.lowerBound),\(span.upperBound)]}"
      )
    }
    var json = Data("{\(fields.joined(separator: ","))}".utf8)
    json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
    return (json, placed)
  }

  /// Writes the file at `url` (through a temporary file in the same folder, renamed into place, so
  /// a failure leaves no half-written checkpoint).
  ///
  /// - Throws: `.invalidArgument` naming a tensor whose bytes do not match its shape and dtype;
  ///   `.invalidFile` if the file cannot be written; what a `bytes` closure throws.
  public func write(to url: URL) throws {
    let (json, order) = try header()
    let files = FileManager.default
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
    guard files.createFile(atPath: temporary.path, contents: nil) else {
      throw PhotonError(.invalidFile, "\(temporary.path): cannot create")
    }
    var done = false
    defer { if !done { try? files.removeItem(at: temporary) } }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      defer { try? handle.close() }
      var length = UInt64(json.count).littleEndian
      try handle.write(contentsOf: Data(bytes: &length, count: 8))
      try handle.write(contentsOf: json)
      for (entry, span) in order {
        let data = try entry.bytes()
        guard data.count == span.count else {
          throw PhotonError(
            .invalidArgument,
            "safetensors tensor '\(entry.name)': shape \(entry.shape) × \(entry.dtype.rawValue) needs \(span.count) bytes, got \(data.count)"
          )
        }
        try handle.write(contentsOf: data)
      }
      try handle.synchronize()
    } catch let error as PhotonError {
      throw error
    } catch {
      throw PhotonError(.invalidFile, "\(temporary.path): cannot write: \(error.localizedDescription)", cause: error)
    }
    do {
      if files.fileExists(atPath: url.path) { try files.removeItem(at: url) }
      try files.moveItem(at: temporary, to: url)
    } catch {
      throw PhotonError(
        .invalidFile, "\(url.path): cannot move the written file into place: \(error.localizedDescription)",
        cause: error)
    }
    done = true
  }
}
