import Foundation
import PhotonCore

/// Turning Foundation's JSON errors into ``PhotonError`` messages that name the key path and, for
/// malformed text, the line and column Foundation reports.
enum JSONErrors {
  /// `a.b[2].c` for a coding path.
  static func keyPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
      if let index = key.intValue,
        key.stringValue == String(index) || key.stringValue.isEmpty
          || key.stringValue.hasPrefix("Index ")
      {
        text += "[\(index)]"
      } else {
        text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
      }
    }
    return text
  }

  /// One line describing a decoding failure: what went wrong and at which key. `data`, the text
  /// that failed, lets a syntax error be located by line and column.
  static func describe(_ error: DecodingError, data: Data? = nil) -> String {
    switch error {
    case .keyNotFound(let key, let context):
      let parent = keyPath(context.codingPath)
      return parent.isEmpty
        ? "missing key '\(key.stringValue)'"
        : "missing key '\(key.stringValue)' in '\(parent)'"
    case .typeMismatch(let type, let context):
      return atKey(context.codingPath) + "expected \(typeName(type)): \(context.debugDescription)"
    case .valueNotFound(let type, let context):
      return atKey(context.codingPath) + "expected \(typeName(type)), found null"
    case .dataCorrupted(let context):
      if context.codingPath.isEmpty {
        // Malformed text. Depending on the platform, the underlying error says where ("line L,
        // column C" or "around character N") or is absent; JSONSerialization always says.
        var detail = context.underlyingError.map(underlyingDescription) ?? context.debugDescription
        if let data {
          if let syntax = syntaxError(in: data) {
            if !detail.contains("line") { detail = syntax }
          } else {
            // Well-formed text the decoder still refused: a number that does not fit its field,
            // which Foundation reports without the key.
            let hint = JSONScan(Array(data)).numberHint
            if !hint.isEmpty { return hint }
          }
        }
        return "malformed JSON: \(detail)"
      }
      return atKey(context.codingPath) + context.debugDescription
    @unknown default:
      return "\(error)"
    }
  }

  /// JSONSerialization's message for malformed `data`, with a character offset turned into a
  /// 1-based line and column; `nil` if it parses.
  static func syntaxError(in data: Data) -> String? {
    do {
      _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
      return nil
    } catch {
      let message = underlyingDescription(error)
      guard let range = message.range(of: "character "),
        let offset = Int(message[range.upperBound...].prefix { $0.isNumber })
      else { return message }
      var line = 1
      var column = 1
      for byte in data.prefix(offset) {
        if byte == UInt8(ascii: "\n") {
          line += 1
          column = 1
        } else {
          column += 1
        }
      }
      return "\(message) (line \(line), column \(column))"
    }
  }

  private static func atKey(_ path: [any CodingKey]) -> String {
    path.isEmpty ? "" : "key '\(keyPath(path))': "
  }

  private static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type: "an integer"
    case is Double.Type, is Float.Type: "a number"
    case is String.Type: "a string"
    case is Bool.Type: "a boolean"
    default: "\(type)"
    }
  }

  private static func underlyingDescription(_ error: any Error) -> String {
    let nsError = error as NSError
    if let debug = nsError.userInfo["NSDebugDescription"] as? String { return debug }
    return "\(error)"
  }
}
