/// The `WordPiece` model (BERT): greedy longest-match-first over each word, later pieces written
/// with the `##` prefix; a word with any unmatched part, or longer than `maxInputCharsPerWord`
/// characters, becomes the unknown token.
struct WordPieceModel: Sendable {
  let vocab: [String: Int32]
  let unknownId: Int32
  let continuingSubwordPrefix: String
  let maxInputCharsPerWord: Int

  func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
    guard !word.isEmpty else { return }
    if word.count > maxInputCharsPerWord {
      out.append(unknownId)
      return
    }
    let mark = out.count
    var start = 0
    while start < word.count {
      var end = word.count
      var found: Int32? = nil
      while start < end {
        var piece = word[start..<end].string
        if start > 0 { piece = continuingSubwordPrefix + piece }
        if let id = vocab[piece] {
          found = id
          break
        }
        end -= 1
      }
      guard let id = found else {
        out.removeSubrange(mark...)
        out.append(unknownId)
        return
      }
      out.append(id)
      start = end
    }
  }
}
