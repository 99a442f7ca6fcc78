import Foundation

/// The `WordPiece` model (BERT): greedy longest-match-first over each word, later pieces written
/// with the `##` prefix; a word with any unmatched part, or longer than `maxInputCharsPerWord`
/// characters, becomes the unknown token.
struct WordPieceModel: Sendable {
  let vocab: [String: Int32]
  let unknownId: Int32
  let continuingSubwordPrefix: String
  let maxInputCharsPerWord: Int
  /// No piece longer than this (in scalars) can be in `vocab`: the longest entry's canonical
  /// decomposition (String equality is canonical, and decomposing never shortens a string). The
  /// greedy search starts there instead of at the word's end: each candidate piece is a new
  /// String, so starting at the end made a 100-character word cost ~170,000 scalar copies.
  let longestPiece: Int

  init(vocab: [String: Int32], unknownId: Int32, continuingSubwordPrefix: String, maxInputCharsPerWord: Int) {
    self.vocab = vocab
    self.unknownId = unknownId
    self.continuingSubwordPrefix = continuingSubwordPrefix
    self.maxInputCharsPerWord = maxInputCharsPerWord
    longestPiece = vocab.keys.reduce(0) { max($0, $1.decomposedStringWithCanonicalMapping.unicodeScalars.count) }
  }

  func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
    guard !word.isEmpty else { return }
    if word.count > maxInputCharsPerWord {
      out.append(unknownId)
      return
    }
    let mark = out.count
    var start = 0
    while start < word.count {
      var end = min(word.count, start + longestPiece)
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
