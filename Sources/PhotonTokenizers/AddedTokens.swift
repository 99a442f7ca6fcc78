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

/// Finds added tokens in text: leftmost match, longest token first (as HF's leftmost-longest
/// Aho-Corasick automaton). A trie over scalars: each position costs at most the length of the
/// longest token sharing its prefix, however many tokens there are.
struct AddedTokenMatcher: Sendable {
  private let tokens: [AddedToken]
  /// `node << 32 | scalar` → child node; node 0 is the root.
  private var children: [UInt64: Int32] = [:]
  /// Tokens ending at each node, in the order `tokenizer.json` lists them.
  private var ending: [[Int32]] = [[]]

  init(_ tokens: [AddedToken]) {
    self.tokens = tokens
    for (index, token) in tokens.enumerated() where !token.content.isEmpty {
      var node: Int32 = 0
      for c in token.content {
        let key = UInt64(node) << 32 | UInt64(c.value)
        if let child = children[key] {
          node = child
        } else {
          let child = Int32(ending.count)
          ending.append([])
          children[key] = child
          node = child
        }
      }
      ending[Int(node)].append(Int32(index))
    }
  }

  var isEmpty: Bool { children.isEmpty }

  /// The longest token at `i` whose single-word rule holds, if any.
  private func match(in text: ArraySlice<Unicode.Scalar>, at i: Int) -> AddedToken? {
    var node: Int32 = 0
    var found: [Int32] = []  // nodes where a token ends, shortest first
    var j = i
    while j < text.endIndex, let child = children[UInt64(node) << 32 | UInt64(text[j].value)] {
      node = child
      if !ending[Int(node)].isEmpty { found.append(node) }
      j += 1
    }
    for node in found.reversed() {
      for index in ending[Int(node)] where singleWordRuleHolds(tokens[Int(index)], in: text, at: i) {
        return tokens[Int(index)]
      }
    }
    return nil
  }

  func split(_ text: ArraySlice<Unicode.Scalar>) -> [Segment] {
    guard !isEmpty else { return [.text(text, start: 0)] }
    var segments: [Segment] = []
    var pendingStart = text.startIndex
    var i = text.startIndex
    while i < text.endIndex {
      guard let token = match(in: text, at: i) else {
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

  /// A `single_word` token must not touch a word character on either side.
  private func singleWordRuleHolds(
    _ token: AddedToken, in text: ArraySlice<Unicode.Scalar>, at i: Int
  ) -> Bool {
    let end = i + token.content.count
    if token.singleWord {
      // Not inside a word: no word character just before or after.
      func isWord(_ c: Unicode.Scalar) -> Bool { c.isLetter || c.isNumber || c == "_" }
      if i > text.startIndex && isWord(text[i - 1]) { return false }
      if end < text.endIndex && isWord(text[end]) { return false }
    }
    return true
  }
}
