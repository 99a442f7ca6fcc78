/// The `Unigram` model (T5, ALBERT, XLNet; sentencepiece): each word is segmented into the pieces
/// whose summed log-probabilities are highest (Viterbi), as `tokenizers`' `encode_optimized` does.
struct UnigramModel: Sendable {
  /// Pieces and their scores, indexed by id.
  let pieces: [(piece: String, score: Double)]
  let unknownId: Int32?
  let byteFallback: Bool
  let trie: ScalarTrie
  /// Score of an unknown character: the lowest piece score minus 10 (`K_UNK_PENALTY`).
  let unknownScore: Double
  let byteIds: [Int32]?

  init(pieces: [(piece: String, score: Double)], unknownId: Int32?, byteFallback: Bool) {
    self.pieces = pieces
    self.unknownId = unknownId
    self.byteFallback = byteFallback
    var trie = ScalarTrie()
    // Insert in reverse so that, for duplicated pieces, the first id wins (as HF's token map).
    for (id, entry) in pieces.enumerated().reversed() {
      trie.insert(Array(entry.piece.unicodeScalars), id: Int32(id))
    }
    self.trie = trie
    self.unknownScore = (pieces.map(\.score).min() ?? 0) - 10
    if byteFallback {
      var ids: [Int32] = []
      for b in 0..<256 {
        guard let id = trie.exactMatch(Array(String(format: "<0x%02X>", b).unicodeScalars))
        else { break }
        ids.append(id)
      }
      byteIds = ids.count == 256 ? ids : nil
    } else {
      byteIds = nil
    }
  }

  func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
    let n = word.count
    guard n > 0 else { return }
    // best[i]: best path over word[0..<i]: (score, start of its last piece, id of that piece).
    var bestScore = [Double](repeating: 0, count: n + 1)
    var bestStart = [Int](repeating: -1, count: n + 1)
    var bestId = [Int32](repeating: -1, count: n + 1)
    bestStart[0] = 0
    for start in 0..<n where bestStart[start] >= 0 || start == 0 {
      let base = bestScore[start]
      var hasSingle = false
      trie.forEachPrefix(of: word, from: start) { end, id in
        let score = base + pieces[Int(id)].score
        if bestStart[end] < 0 || score > bestScore[end] {
          bestScore[end] = score
          bestStart[end] = start
          bestId[end] = id
        }
        if end == start + 1 { hasSingle = true }
      }
      if !hasSingle {
        let end = start + 1
        let score = base + unknownScore
        if bestStart[end] < 0 || score > bestScore[end] {
          bestScore[end] = score
          bestStart[end] = start
          bestId[end] = unknownId ?? -1
        }
      }
    }
    // Backtrack; consecutive unknown pieces fuse into one (`fuse_unk`, on for Unigram).
    var result: [(start: Int, end: Int, id: Int32)] = []
    var end = n
    while end > 0 {
      let start = bestStart[end]
      let id = bestId[end]
      if let unknownId, id == unknownId, let last = result.last, last.id == unknownId,
        last.start == end
      {
        result[result.count - 1] = (start, last.end, unknownId)
      } else {
        result.append((start, end, id))
      }
      end = start
    }
    for piece in result.reversed() {
      if piece.id >= 0 && piece.id != unknownId {
        out.append(piece.id)
        continue
      }
      if let byteIds {
        for c in word[piece.start..<piece.end] {
          for b in UTF8.encode(c)! { out.append(byteIds[Int(b)]) }
        }
      } else if let unknownId {
        out.append(unknownId)
      }
    }
  }
}

/// A trie over Unicode scalars, for common-prefix search (Unigram pieces).
struct ScalarTrie: Sendable {
  private var children: [[Unicode.Scalar: Int32]] = [[:]]
  private var ids: [Int32] = [-1]

  mutating func insert(_ key: [Unicode.Scalar], id: Int32) {
    var node = 0
    for c in key {
      if let next = children[node][c] {
        node = Int(next)
      } else {
        children.append([:])
        ids.append(-1)
        let next = children.count - 1
        children[node][c] = Int32(next)
        node = next
      }
    }
    ids[node] = id
  }

  func exactMatch(_ key: [Unicode.Scalar]) -> Int32? {
    var node = 0
    for c in key {
      guard let next = children[node][c] else { return nil }
      node = Int(next)
    }
    return ids[node] >= 0 ? ids[node] : nil
  }

  /// Calls `body(end, id)` for every piece equal to `text[start..<end]`, shortest first.
  func forEachPrefix(
    of text: [Unicode.Scalar], from start: Int, _ body: (Int, Int32) -> Void
  ) {
    var node = 0
    var i = start
    while i < text.count, let next = children[node][text[i]] {
      node = Int(next)
      i += 1
      if ids[node] >= 0 { body(i, ids[node]) }
    }
  }
}
