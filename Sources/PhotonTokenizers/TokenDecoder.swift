import Foundation

/// A `tokenizer.json` decoder: turns tokens back into text. Each step maps the token list to a
/// new list (`decode_chain` in `tokenizers`); the results are concatenated at the end.
enum TokenDecoder: Sendable {
  /// `WordPiece`: drop `##` and join the rest with spaces; `cleanup` glues punctuation back.
  case wordPiece(prefix: String, cleanup: Bool)
  /// `ByteLevel`: scalars back to bytes, then UTF-8 (invalid sequences become U+FFFD).
  case byteLevel
  /// `Metaspace`: `▁` back to spaces, dropping those of the first token (the prepended one).
  case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
  /// `BPEDecoder`: the end-of-word suffix becomes a space (none after the last token).
  case bpe(suffix: String)
  case replace(ReplacePattern, content: String)
  /// `Strip`: remove `start` leading and `stop` trailing `content` characters from each token.
  case strip(content: Character, start: Int, stop: Int)
  case fuse
  /// `ByteFallback`: runs of `<0xXX>` tokens become the text their bytes spell.
  case byteFallback
  case sequence([TokenDecoder])

  func decodeChain(_ tokens: [String]) -> [String] {
    switch self {
    case .wordPiece(let prefix, let cleanup):
      return tokens.enumerated().map { i, token in
        var token = token
        if i != 0 {
          if token.hasPrefix(prefix) {
            token.removeFirst(prefix.count)
          } else {
            token = " " + token
          }
        }
        return cleanup ? TokenDecoder.cleanUp(token) : token
      }
    case .byteLevel:
      var bytes: [UInt8] = []
      for token in tokens { ByteLevel.decodeBytes(token, into: &bytes) }
      return [String(decoding: bytes, as: UTF8.self)]
    case .metaspace(let replacement, let prependScheme):
      // As `tokenizers`: every replacement in the first token is dropped (not only a leading one).
      return tokens.enumerated().map { i, token in
        let dropReplacement = i == 0 && prependScheme != .never
        var text = String.UnicodeScalarView()
        for c in token.unicodeScalars {
          if c != replacement {
            text.append(c)
          } else if !dropReplacement {
            text.append(" ")
          }
        }
        return String(text)
      }
    case .bpe(let suffix):
      return tokens.enumerated().map { i, token in
        token.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ")
      }
    case .replace(let pattern, let content):
      return tokens.map { pattern.replace(in: $0, with: content) }
    case .strip(let content, let start, let stop):
      return tokens.map { token in
        var chars = Array(token)
        var lower = 0
        while lower < min(start, chars.count) && chars[lower] == content { lower += 1 }
        var upper = chars.count
        while chars.count - upper < stop && upper > lower && chars[upper - 1] == content {
          upper -= 1
        }
        chars = Array(chars[lower..<upper])
        return String(chars)
      }
    case .fuse:
      return [tokens.joined()]
    case .byteFallback:
      var out: [String] = []
      var pending: [UInt8] = []
      func flush() {
        guard !pending.isEmpty else { return }
        if let text = String(validating: pending, as: UTF8.self) {
          out.append(text)
        } else {
          // HF writes one U+FFFD per byte when the bytes are not valid UTF-8.
          out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
        }
        pending.removeAll()
      }
      for token in tokens {
        if let byte = TokenDecoder.fallbackByte(token) {
          pending.append(byte)
        } else {
          flush()
          out.append(token)
        }
      }
      flush()
      return out
    case .sequence(let decoders):
      return decoders.reduce(tokens) { $1.decodeChain($0) }
    }
  }

  /// `<0xAB>` → 0xAB.
  private static func fallbackByte(_ token: String) -> UInt8? {
    let u = Array(token.utf8)
    guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"),
      u[2] == UInt8(ascii: "x"), u[5] == UInt8(ascii: ">")
    else { return nil }
    return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
  }

  /// The WordPiece decoder's `cleanup` (the old `clean_up_tokenization`).
  static func cleanUp(_ text: String) -> String {
    guard text.contains(" ") else { return text }
    var t = text
    for (from, to) in [
      (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
      (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ] {
      t = t.replacingOccurrences(of: from, with: to)
    }
    return t
  }
}
