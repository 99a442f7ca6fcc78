import Foundation

/// A `tokenizer.json` normalizer: rewrites the text before it is split into words.
///
/// Works on `[Unicode.Scalar]` (Rust `char`s), since `tokenizers` works on `char`s and never on
/// grapheme clusters (except `Precompiled`, which follows sentencepiece).
enum Normalizer: Sendable {
  /// `BertNormalizer`; `stripAccents` already resolved (a JSON null means "same as lowercase").
  case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
  case nfc, nfd, nfkc, nfkd
  case lowercase
  case stripAccents
  /// `Nmt`: sentencepiece's NMT clean-up (drop some controls, map odd spaces to ' ').
  case nmt
  case strip(left: Bool, right: Bool)
  case replace(ReplacePattern, content: String)
  case prepend(String)
  case precompiled(PrecompiledCharsMap)
  case sequence([Normalizer])

  func apply(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    switch self {
    case .bert(let cleanText, let handleChineseChars, let stripAccents, let lowercase):
      var out = text
      if cleanText {
        out = out.compactMap { c -> Unicode.Scalar? in
          if c.value == 0 || c.value == 0xFFFD || c.isBertControl { return nil }
          // Tab, newline and carriage return count as whitespace here.
          return c.isTokenizerWhitespace || c == "\t" || c == "\n" || c == "\r" ? " " : c
        }
      }
      if handleChineseChars && out.contains(where: { $0.isChineseChar }) {
        var spaced: [Unicode.Scalar] = []
        spaced.reserveCapacity(out.count + 8)
        for c in out {
          if c.isChineseChar {
            spaced.append(" ")
            spaced.append(c)
            spaced.append(" ")
          } else {
            spaced.append(c)
          }
        }
        out = spaced
      }
      if stripAccents { out = Normalizer.stripAccents.apply(out) }
      if lowercase { out = Normalizer.lowercase.apply(out) }
      return out
    case .nfc: return Normalizer.unicode(text) { $0.precomposedStringWithCanonicalMapping }
    case .nfd: return Normalizer.unicode(text) { $0.decomposedStringWithCanonicalMapping }
    case .nfkc: return Normalizer.unicode(text) { $0.precomposedStringWithCompatibilityMapping }
    case .nfkd: return Normalizer.unicode(text) { $0.decomposedStringWithCompatibilityMapping }
    case .lowercase:
      // Per scalar, like Rust's `char::to_lowercase` (no final-sigma context rule).
      if text.allSatisfy({ $0.isASCII && !("A"..."Z").contains($0) }) { return text }
      var out: [Unicode.Scalar] = []
      out.reserveCapacity(text.count)
      for c in text {
        if c.isASCII {
          out.append(("A"..."Z").contains(c) ? Unicode.Scalar(c.value + 32)! : c)
        } else {
          out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
        }
      }
      return out
    case .stripAccents:
      if text.allSatisfy({ $0.isASCII }) { return text }
      return Normalizer.nfd.apply(text).filter { !$0.isNonSpacingMark }
    case .nmt:
      return text.compactMap { c -> Unicode.Scalar? in
        switch c.value {
        case 0x0001...0x0008, 0x000B, 0x000E...0x001F, 0x007F, 0x008F, 0x009F: return nil
        case 0x0009, 0x000A, 0x000C, 0x000D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581,
          0xFEFF, 0xFFFD:
          return " "
        default: return c
        }
      }
    case .strip(let left, let right):
      var lower = text.startIndex
      var upper = text.endIndex
      if left { while lower < upper && text[lower].isTokenizerWhitespace { lower += 1 } }
      if right { while upper > lower && text[upper - 1].isTokenizerWhitespace { upper -= 1 } }
      return Array(text[lower..<upper])
    case .replace(let pattern, let content):
      return pattern.replace(in: text, with: content)
    case .prepend(let prefix):
      return text.isEmpty ? text : Array(prefix.unicodeScalars) + text
    case .precompiled(let map):
      return map.normalize(text)
    case .sequence(let normalizers):
      return normalizers.reduce(text) { $1.apply($0) }
    }
  }

  private static func unicode(
    _ text: [Unicode.Scalar], _ transform: (String) -> String
  ) -> [Unicode.Scalar] {
    if text.allSatisfy({ $0.isASCII }) { return text }
    return Array(transform(text.string).unicodeScalars)
  }
}

/// The `pattern` of a `Replace` normalizer or decoder: `{"String": …}` or `{"Regex": …}`.
enum ReplacePattern: Sendable {
  case string([Unicode.Scalar])
  case regex(RegexBox)

  func replace(in text: [Unicode.Scalar], with content: String) -> [Unicode.Scalar] {
    switch self {
    case .string(let needle):
      guard !needle.isEmpty, text.count >= needle.count else { return text }
      let replacement = Array(content.unicodeScalars)
      var out: [Unicode.Scalar] = []
      out.reserveCapacity(text.count)
      var i = 0
      while i < text.count {
        if i + needle.count <= text.count && text[i] == needle[0]
          && text[i..<(i + needle.count)].elementsEqual(needle)
        {
          out.append(contentsOf: replacement)
          i += needle.count
        } else {
          out.append(text[i])
          i += 1
        }
      }
      return out
    case .regex(let box):
      let string = text.string
      let ns = string as NSString
      let template = NSRegularExpression.escapedTemplate(for: content)
      let replaced = box.regex.stringByReplacingMatches(
        in: string, range: NSRange(location: 0, length: ns.length), withTemplate: template)
      return Array(replaced.unicodeScalars)
    }
  }

  func replace(in text: String, with content: String) -> String {
    replace(in: Array(text.unicodeScalars), with: content).string
  }
}

/// An `NSRegularExpression`, compiled once at load. It is immutable and safe to share.
final class RegexBox: @unchecked Sendable {
  let regex: NSRegularExpression
  init(_ regex: NSRegularExpression) { self.regex = regex }
}
