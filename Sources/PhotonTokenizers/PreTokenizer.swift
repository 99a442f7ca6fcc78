/// A `tokenizer.json` pre-tokenizer: splits normalised text into words the model encodes one by one.
enum PreTokenizer: Sendable {
  /// `BertPreTokenizer`: split on whitespace (dropped) and around each punctuation character.
  case bert
  /// `ByteLevel`: optional leading space, the GPT-2 split, then bytes mapped to printable scalars.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  /// `Metaspace`: spaces become `replacement` (`▁`), optionally prepended, words start at each `▁`.
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
  /// `Whitespace`: the regex `\w+|[^\w\s]+`.
  case whitespace
  /// `WhitespaceSplit`: split on whitespace only.
  case whitespaceSplit
  /// `Punctuation` with the default `isolated` behaviour.
  case punctuation
  /// `Digits`: isolate runs of digits, or each digit when `individual`.
  case digits(individual: Bool)
  case sequence([PreTokenizer])

  /// When Metaspace prepends its replacement: `always`, only to the `first` split, or `never`.
  enum PrependScheme: String, Sendable { case always, first, never }

  /// - Parameters:
  ///   - words: the words so far (one, the whole normalised segment, at the start).
  ///   - isFirstSegment: whether the segment starts the input (Metaspace `first`).
  func apply(_ words: [[Unicode.Scalar]], isFirstSegment: Bool) -> [[Unicode.Scalar]] {
    switch self {
    case .sequence(let steps):
      return steps.reduce(words) { $1.apply($0, isFirstSegment: isFirstSegment) }
    default:
      var out: [[Unicode.Scalar]] = []
      for word in words { split(word, isFirstSegment: isFirstSegment, into: &out) }
      return out
    }
  }

  private func split(
    _ s: [Unicode.Scalar], isFirstSegment: Bool, into out: inout [[Unicode.Scalar]]
  ) {
    switch self {
    case .bert:
      var current: [Unicode.Scalar] = []
      for c in s {
        if c.isTokenizerWhitespace {
          if !current.isEmpty {
            out.append(current)
            current.removeAll(keepingCapacity: true)
          }
        } else if c.isBertPunctuation {
          if !current.isEmpty {
            out.append(current)
            current.removeAll(keepingCapacity: true)
          }
          out.append([c])
        } else {
          current.append(c)
        }
      }
      if !current.isEmpty { out.append(current) }
    case .byteLevel(let addPrefixSpace, let useRegex):
      var text = s
      if addPrefixSpace && text.first != " " { text.insert(" ", at: 0) }
      let pieces = useRegex ? ByteLevel.gpt2Split(text) : [text[...]]
      for piece in pieces where !piece.isEmpty { out.append(ByteLevel.encodeScalars(piece)) }
    case .metaspace(let replacement, let prependScheme, let split):
      guard !s.isEmpty else { return }
      var text = s.map { $0 == " " ? replacement : $0 }
      let prepend =
        prependScheme == .always || (prependScheme == .first && isFirstSegment)
      if prepend && text.first != replacement { text.insert(replacement, at: 0) }
      guard split else {
        out.append(text)
        return
      }
      // Split with "merged with next": every word starts at a replacement character.
      var start = 0
      for i in 1..<max(text.count, 1) where text[i] == replacement {
        out.append(Array(text[start..<i]))
        start = i
      }
      if start < text.count { out.append(Array(text[start...])) }
    case .whitespace:
      // \w+|[^\w\s]+
      var i = 0
      while i < s.count {
        let c = s[i]
        if c.isTokenizerWhitespace {
          i += 1
          continue
        }
        let word = c.isWordCharacter
        var j = i + 1
        while j < s.count && !s[j].isTokenizerWhitespace && s[j].isWordCharacter == word { j += 1 }
        out.append(Array(s[i..<j]))
        i = j
      }
    case .whitespaceSplit:
      var current: [Unicode.Scalar] = []
      for c in s {
        if c.isTokenizerWhitespace {
          if !current.isEmpty {
            out.append(current)
            current.removeAll(keepingCapacity: true)
          }
        } else {
          current.append(c)
        }
      }
      if !current.isEmpty { out.append(current) }
    case .punctuation:
      var current: [Unicode.Scalar] = []
      for c in s {
        if c.isBertPunctuation {
          if !current.isEmpty {
            out.append(current)
            current.removeAll(keepingCapacity: true)
          }
          out.append([c])
        } else {
          current.append(c)
        }
      }
      if !current.isEmpty { out.append(current) }
    case .digits(let individual):
      var current: [Unicode.Scalar] = []
      var currentIsDigits = false
      for c in s {
        let digit = c.properties.numericType == .decimal
        if digit && individual {
          if !current.isEmpty {
            out.append(current)
            current.removeAll(keepingCapacity: true)
          }
          out.append([c])
          continue
        }
        if !current.isEmpty && digit != currentIsDigits {
          out.append(current)
          current.removeAll(keepingCapacity: true)
        }
        current.append(c)
        currentIsDigits = digit
      }
      if !current.isEmpty { out.append(current) }
    case .sequence:
      out.append(contentsOf: apply([s], isFirstSegment: isFirstSegment))
    }
  }
}
