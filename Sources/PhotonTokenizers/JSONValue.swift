import Foundation
import PhotonCore

/// A decoded JSON value that knows where it came from, so that every error names the file and the
/// key path (`tokenizer.json: model.vocab should be an object, found an array`).
struct JSONValue {
  let raw: Any
  let path: String
  let file: String

  static func parse(url: URL) throws -> JSONValue {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw PhotonError(.invalidFile, "\(url.path): cannot read", cause: error)
    }
    return try parse(data: data, file: url.path)
  }

  static func parse(data: Data, file: String) throws -> JSONValue {
    try JSONScan(Array(data)).check(file: file)
    do {
      let raw = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
      return JSONValue(raw: raw, path: "", file: file)
    } catch {
      throw PhotonError(.invalidFile, "\(file): not valid JSON", cause: error)
    }
  }

  var isNull: Bool { raw is NSNull }

  /// `path`, or "the top level" for the root.
  var location: String { path.isEmpty ? "the top level" : path }

  func failure(_ expected: String) -> PhotonError {
    PhotonError(.invalidFile, "\(file): \(location) should be \(expected), found \(kind)")
  }

  private var kind: String {
    switch raw {
    case is NSNull: return "null"
    case is String: return "a string"
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    case let n as NSNumber: return "the number \(n)"
    default: return "\(type(of: raw))"
    }
  }

  func object() throws -> JSONObject {
    guard let dict = raw as? [String: Any] else { throw failure("an object") }
    return JSONObject(dict: dict, path: path, file: file)
  }

  func array() throws -> [JSONValue] {
    guard let items = raw as? [Any] else { throw failure("an array") }
    return items.enumerated().map { JSONValue(raw: $1, path: "\(path)[\($0)]", file: file) }
  }

  func string() throws -> String {
    guard let s = raw as? String else { throw failure("a string") }
    return s
  }

  func bool() throws -> Bool {
    guard let b = raw as? Bool else { throw failure("true or false") }
    return b
  }

  func int() throws -> Int {
    guard let i = raw as? Int else { throw failure("an integer") }
    return i
  }

  /// A token id: an integer in `0..<Int32.max`, so `id + 1` (a table size) never overflows.
  func tokenId() throws -> Int32 {
    guard let i = raw as? Int, i >= 0, i < Int(Int32.max) else {
      throw failure("a token id (an integer from 0 to \(Int32.max - 1))")
    }
    return Int32(i)
  }

  /// An integer that fits in Int32 (type ids and other small integers).
  func int32() throws -> Int32 {
    guard let i = raw as? Int, let value = Int32(exactly: i) else {
      throw failure("an integer from \(Int32.min) to \(Int32.max)")
    }
    return value
  }

  func double() throws -> Double {
    guard let d = raw as? Double else { throw failure("a number") }
    return d
  }

  func optionalString() throws -> String? { isNull ? nil : try string() }
  func optionalBool() throws -> Bool? { isNull ? nil : try bool() }
  func optionalInt() throws -> Int? { isNull ? nil : try int() }
  func optionalDouble() throws -> Double? { isNull ? nil : try double() }
}

/// A JSON object with its path.
struct JSONObject {
  let dict: [String: Any]
  let path: String
  let file: String

  /// The value at `key`, or `nil` when absent (a JSON null is returned as a null value).
  subscript(key: String) -> JSONValue? {
    dict[key].map { JSONValue(raw: $0, path: path.isEmpty ? key : "\(path).\(key)", file: file) }
  }

  /// The value at `key`, not null.
  func required(_ key: String) throws -> JSONValue {
    guard let value = self[key], !value.isNull else {
      throw PhotonError(
        .invalidFile, "\(file): \(path.isEmpty ? key : "\(path).\(key)") is missing")
    }
    return value
  }

  /// `key`'s value, or `fallback` when absent or null.
  func bool(_ key: String, default fallback: Bool) throws -> Bool {
    try self[key]?.optionalBool() ?? fallback
  }

  func string(_ key: String, default fallback: String) throws -> String {
    try self[key]?.optionalString() ?? fallback
  }

  func optionalString(_ key: String) throws -> String? { try self[key]?.optionalString() }

  func int(_ key: String, default fallback: Int) throws -> Int {
    try self[key]?.optionalInt() ?? fallback
  }

  /// The `type` key, which every `tokenizer.json` component has.
  func type() throws -> String { try required("type").string() }

  func unsupported(_ kind: String, _ type: String) -> PhotonError {
    PhotonError(
      .unsupported,
      "\(file): \(kind) type \"\(type)\" at \(path.isEmpty ? "the top level" : path) is not supported"
    )
  }
}
