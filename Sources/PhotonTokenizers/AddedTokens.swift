/// An entry of `tokenizer.json`'s `added_tokens`: matched in the text before the model sees it.
struct AddedToken: Sendable {
  let id: Int32
  let content: [Unicode.Scalar]
  let special: Bool
  /// Matched in the normalised text (true) or the raw text (false).
  let normalized: Bool
  let lstrip: Bool
  let rstrip: Bool
  let singleWord: Bool
}

/// A piece of input after added tokens are cut out: text for the pipeline, or a token's id.
enum Segment {
  /// `start` is the offset of the text in the string that was split.
  case text(ArraySlice<Unicode.Scalar>, start: Int)
  case token(Int32)
}

/// Finds added tokens in text: leftmost match, longest token first (HF uses a leftmost-longest
/// Aho-Corasick automaton; tokens are few, so a table by first scalar does the same).
struct AddedTokenMatcher: Sendable {
  private var byFirst: [Unicode.Scalar: [AddedToken]] = [:]

  init(_ tokens: [AddedToken]) {
    for token in tokens where !token.content.isEmpty {
      byFirst[token.content[0], default: []].append(token)
    }
    for key in byFirst.keys { byFirst[key]!.sort { $0.content.count > $1.content.count } }
  }

  var isEmpty: Bool { byFirst.isEmpty }

  func split(_ text: ArraySlice<Unicode.Scalar>) -> [Segment] {
    guard !byFirst.isEmpty else { return [.text(text, start: 0)] }
    var segments: [Segment] = []
    var pendingStart = text.startIndex
    var i = text.startIndex
    while i < text.endIndex {
      guard let candidates = byFirst[text[i]],
        let token = candidates.first(where: { matches($0, in: text, at: i) })
      else {
        i += 1
        continue
      }
      var start = i
      var end = i + token.content.count
      if token.lstrip {
        while start > pendingStart && text[start - 1].isTokenizerWhitespace { start -= 1 }
      }
      if token.rstrip {
        while end < text.endIndex && text[end].isTokenizerWhitespace { end += 1 }
      }
      if pendingStart < start {
        segments.append(.text(text[pendingStart..<start], start: pendingStart - text.startIndex))
      }
      segments.append(.token(token.id))
      pendingStart = end
      i = end
    }
    if pendingStart < text.endIndex {
      segments.append(
        .text(text[pendingStart..<text.endIndex], start: pendingStart - text.startIndex))
    }
    return segments
  }

  private func matches(
    _ token: AddedToken, in text: ArraySlice<Unicode.Scalar>, at i: Int
  ) -> Bool {
    let end = i + token.content.count
    guard end <= text.endIndex, text[i..<end].elementsEqual(token.content) else { return false }
    if token.singleWord {
      // Not inside a word: no word character just before or after.
      func isWord(_ c: Unicode.Scalar) -> Bool { c.isLetter || c.isNumber || c == "_" }
      if i > text.startIndex && isWord(text[i - 1]) { return false }
      if end < text.endIndex && isWord(text[end]) { return false }
    }
    return true
  }
}
