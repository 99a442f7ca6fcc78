// Character classes as Hugging Face `tokenizers` (Rust `char` methods, Oniguruma classes) define them.

extension Unicode.Scalar {
  /// Rust `char::is_whitespace`: the Unicode White_Space property (`\s` in the GPT-2 regex).
  var isTokenizerWhitespace: Bool { properties.isWhitespace }

  /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
  var isLetter: Bool {
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      return true
    default: return false
    }
  }

  /// `\p{N}`: Nd, Nl, No.
  var isNumber: Bool {
    switch properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }

  /// Unicode P* categories (Rust `char::is_punctuation` in `tokenizers`).
  var isUnicodePunctuation: Bool {
    switch properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      return true
    default: return false
    }
  }

  /// BERT's punctuation: any ASCII punctuation (which includes symbols such as `$`, `+`, `^`) or
  /// a Unicode P* character.
  var isBertPunctuation: Bool {
    let v = value
    if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v)
      || (123...126).contains(v)
    {
      return true
    }
    return isUnicodePunctuation
  }

  /// Rust `char::is_other` minus tab/newline/carriage return: Cc, Cf, Cs, Co, Cn.
  var isBertControl: Bool {
    if self == "\t" || self == "\n" || self == "\r" { return false }
    switch properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned: return true
    default: return false
    }
  }

  /// The CJK blocks BERT surrounds with spaces (`handle_chinese_chars`).
  var isChineseChar: Bool {
    switch value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
      0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default: return false
    }
  }

  /// Mn: non-spacing marks, removed by `strip_accents` after NFD.
  var isNonSpacingMark: Bool { properties.generalCategory == .nonspacingMark }

  /// Regex `\w` (Rust `regex` crate): letters, marks, digits, connector punctuation.
  var isWordCharacter: Bool {
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
      .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber,
      .connectorPunctuation:
      return true
    default: return false
    }
  }
}

extension Array where Element == Unicode.Scalar {
  /// The scalars as a `String`.
  var string: String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: self)
    return String(view)
  }
}

extension ArraySlice where Element == Unicode.Scalar {
  /// The scalars as a `String`.
  var string: String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: self)
    return String(view)
  }
}
