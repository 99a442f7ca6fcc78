/// A pass over JSON text that builds nothing and finds what Foundation's parsers hide:
/// - a key given twice in one object (Foundation's `JSONDecoder` keeps the first value, Python's
///   `json` — so `transformers` — the last: the two would load different models from one file);
/// - numbers that are not integers or do not fit in 64 bits, by key path (Foundation reports a
///   number that does not fit its field as "not valid JSON", naming no key);
/// - nesting deeper than ``maxDepth`` (a hostile file must not exhaust the stack).
///
/// Syntax errors are left to the real parser, which reports them by line and column: the scan
/// stops quietly at the first one.
package struct JSONScan {
  package struct Number: Sendable, Equatable {
    /// `a.b[2].c`.
    package let path: String
    package let text: String
  }

  package static let maxDepth = 256

  /// The first key that appears twice in one object: the object's path and the key.
  package private(set) var duplicateKey: (path: String, key: String)?
  /// Numbers with a fraction or exponent, or beyond Int64, in document order.
  package private(set) var nonIntegerNumbers: [Number] = []
  /// The path at which nesting went past ``maxDepth``.
  package private(set) var tooDeep: String?

  private let bytes: [UInt8]
  private var i = 0

  package init(_ bytes: [UInt8]) {
    self.bytes = bytes
    skipSpace()
    _ = value(path: "", depth: 0)
  }

  /// Throws the duplicate-key or depth finding as `.invalidFile` naming `file`.
  package func check(file: String) throws {
    if let tooDeep {
      throw PhotonError(
        .invalidFile, "\(file): nesting deeper than \(Self.maxDepth) levels at \(Self.describe(tooDeep))")
    }
    if let (path, key) = duplicateKey {
      throw PhotonError(
        .invalidFile,
        "\(file): key '\(key)' appears more than once in \(path.isEmpty ? "the top-level object" : "'\(path)'"); which value counts is ambiguous (transformers takes the last, Swift's decoder the first): remove the extra one"
      )
    }
  }

  /// A sentence naming the numbers that may not fit an integer field, for a decoding error that
  /// names none ("" when there are none).
  package var numberHint: String {
    guard !nonIntegerNumbers.isEmpty else { return "" }
    let listed = nonIntegerNumbers.prefix(5).map { "'\($0.path)' = \($0.text)" }.joined(separator: ", ")
    return "a number that does not fit its field? not integers or beyond 64 bits: \(listed)"
  }

  /// The value of a text that is exactly one JSON string (spaces around allowed), or nil.
  /// Unpaired surrogate escapes (`"\ud800"`, valid JSON that no Swift string can hold) become
  /// U+FFFD, as invalid UTF-8 does elsewhere.
  package static func string(_ bytes: [UInt8]) -> String? {
    var scan = JSONScan(bytes: bytes)
    scan.skipSpace()
    guard let value = scan.string() else { return nil }
    scan.skipSpace()
    return scan.i == bytes.count ? value : nil
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private static func describe(_ path: String) -> String { path.isEmpty ? "the top level" : "'\(path)'" }

  // MARK: Scanning (returns false at a syntax error)

  private mutating func skipSpace() {
    while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
  }

  private mutating func value(path: String, depth: Int) -> Bool {
    guard i < bytes.count, tooDeep == nil else { return false }
    if depth > Self.maxDepth {
      tooDeep = path
      return false
    }
    switch bytes[i] {
    case UInt8(ascii: "{"): return object(path: path, depth: depth)
    case UInt8(ascii: "["): return array(path: path, depth: depth)
    case UInt8(ascii: "\""): return string() != nil
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number(path: path)
    default:
      // true, false, null
      while i < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[i]) { i += 1 }
      return true
    }
  }

  private mutating func object(path: String, depth: Int) -> Bool {
    i += 1
    var keys = Set<String>()
    skipSpace()
    if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
      i += 1
      return true
    }
    while i < bytes.count {
      skipSpace()
      guard let key = string() else { return false }
      if !keys.insert(key).inserted, duplicateKey == nil { duplicateKey = (path, key) }
      skipSpace()
      guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
      i += 1
      skipSpace()
      guard value(path: path.isEmpty ? key : "\(path).\(key)", depth: depth + 1) else { return false }
      skipSpace()
      guard i < bytes.count else { return false }
      if bytes[i] == UInt8(ascii: "}") {
        i += 1
        return true
      }
      guard bytes[i] == UInt8(ascii: ",") else { return false }
      i += 1
    }
    return false
  }

  private mutating func array(path: String, depth: Int) -> Bool {
    i += 1
    skipSpace()
    if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
      i += 1
      return true
    }
    var index = 0
    while i < bytes.count {
      skipSpace()
      guard value(path: "\(path)[\(index)]", depth: depth + 1) else { return false }
      index += 1
      skipSpace()
      guard i < bytes.count else { return false }
      if bytes[i] == UInt8(ascii: "]") {
        i += 1
        return true
      }
      guard bytes[i] == UInt8(ascii: ",") else { return false }
      i += 1
    }
    return false
  }

  private mutating func number(path: String) -> Bool {
    let start = i
    var integer = true
    while i < bytes.count {
      let c = bytes[i]
      if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
        integer = false
      } else if !(c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c))
      {
        break
      }
      i += 1
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    if !integer || Int64(text) == nil { nonIntegerNumbers.append(Number(path: path, text: text)) }
    return true
  }

  /// A string's value (escapes decoded), or nil at a syntax error.
  private mutating func string() -> String? {
    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
    i += 1
    var raw: [UInt8] = []
    var units: [UInt16] = []  // pending \u escapes, so surrogate pairs join
    func flushUnits() {
      if !units.isEmpty {
        raw += Array(String(decoding: units, as: UTF16.self).utf8)
        units.removeAll()
      }
    }
    while i < bytes.count {
      let c = bytes[i]
      i += 1
      if c == UInt8(ascii: "\"") {
        flushUnits()
        return String(decoding: raw, as: UTF8.self)
      }
      guard c == UInt8(ascii: "\\") else {
        flushUnits()
        raw.append(c)
        continue
      }
      guard i < bytes.count else { return nil }
      let e = bytes[i]
      i += 1
      if e == UInt8(ascii: "u") {
        guard i + 4 <= bytes.count, let unit = UInt16(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
        else { return nil }
        i += 4
        units.append(unit)
        continue
      }
      flushUnits()
      switch e {
      case UInt8(ascii: "n"): raw.append(0x0A)
      case UInt8(ascii: "t"): raw.append(0x09)
      case UInt8(ascii: "r"): raw.append(0x0D)
      case UInt8(ascii: "b"): raw.append(0x08)
      case UInt8(ascii: "f"): raw.append(0x0C)
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): raw.append(e)
      default: return nil
      }
    }
    return nil
  }
}
