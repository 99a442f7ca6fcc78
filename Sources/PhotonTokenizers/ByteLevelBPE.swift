import Foundation
import HeapModule

/// GPT-2's byte-level encoding: every byte becomes one printable scalar, so a BPE vocabulary over
/// those scalars covers any text without an unknown token.
enum ByteLevel {
  /// `bytes_to_unicode()` from GPT-2's `encoder.py`: printable Latin-1 bytes map to themselves,
  /// the other 68 bytes to U+0100 and up, in byte order.
  static let byteToScalar: [Unicode.Scalar] = {
    var printable = Array(33...126) + Array(161...172) + Array(174...255)
    var scalars = printable
    var next = 0
    for b in 0..<256 where !printable.contains(b) {
      printable.append(b)
      scalars.append(256 + next)
      next += 1
    }
    var table = [Unicode.Scalar](repeating: " ", count: 256)
    for (b, s) in zip(printable, scalars) { table[b] = Unicode.Scalar(UInt32(s))! }
    return table
  }()

  /// The inverse of ``byteToScalar``.
  static let scalarToByte: [Unicode.Scalar: UInt8] = {
    var map: [Unicode.Scalar: UInt8] = [:]
    for (b, s) in byteToScalar.enumerated() { map[s] = UInt8(b) }
    return map
  }()

  /// The UTF-8 bytes of `text`, each mapped to its printable scalar.
  static func encodeScalars(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(text.count)
    for c in text {
      for b in UTF8.encode(c)! { out.append(byteToScalar[Int(b)]) }
    }
    return out
  }

  /// GPT-2's split, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
  /// written out by hand over scalars (leftmost alternative wins, as in Oniguruma).
  static func gpt2Split(_ s: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
    enum Class { case letter, number, other, space }
    func classify(_ c: Unicode.Scalar) -> Class {
      if c.isTokenizerWhitespace { return .space }
      if c.isLetter { return .letter }
      if c.isNumber { return .number }
      return .other
    }
    var out: [ArraySlice<Unicode.Scalar>] = []
    let n = s.count
    var i = 0
    while i < n {
      let c = s[i]
      // Contractions (case-sensitive, as in GPT-2).
      if c == "'" && i + 1 < n {
        let c1 = s[i + 1]
        if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" {
          out.append(s[i..<(i + 2)])
          i += 2
          continue
        }
        if i + 2 < n {
          let c2 = s[i + 2]
          if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") {
            out.append(s[i..<(i + 3)])
            i += 3
            continue
          }
        }
      }
      // ` ?X+` for X in letters, numbers, other: the optional space is one U+0020.
      let head = (c == " " && i + 1 < n) ? i + 1 : i
      let kind = classify(s[head])
      if kind != .space {
        var j = head + 1
        while j < n && classify(s[j]) == kind { j += 1 }
        out.append(s[i..<j])
        i = j
        continue
      }
      // `\s+(?!\S)` leaves the last space of a run before a word to that word; `\s+` otherwise.
      var j = i
      while j < n && s[j].isTokenizerWhitespace { j += 1 }
      if j < n && j - i >= 2 { j -= 1 }
      out.append(s[i..<j])
      i = j
    }
    return out
  }

  /// Bytes back from byte-level scalars; scalars outside the map keep their own UTF-8 bytes.
  static func decodeBytes(_ token: String, into bytes: inout [UInt8]) {
    var tokenBytes: [UInt8] = []
    for c in token.unicodeScalars {
      guard let b = scalarToByte[c] else {
        bytes.append(contentsOf: token.utf8)
        return
      }
      tokenBytes.append(b)
    }
    bytes.append(contentsOf: tokenBytes)
  }
}

/// The `BPE` model: words are split into characters, then adjacent pairs merged by rank.
struct BPEModel: Sendable {
  let vocab: [String: Int32]
  /// `(left id << 32 | right id)` → (rank, merged id).
  let merges: [UInt64: (rank: Int32, id: Int32)]
  let unknownId: Int32?
  let continuingSubwordPrefix: String?
  let endOfWordSuffix: String?
  let fuseUnknown: Bool
  let byteFallback: Bool
  let ignoreMerges: Bool
  let cache = WordCache()

  func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
    guard !word.isEmpty else { return }
    let key = word.string
    if let cached = cache[key] {
      out.append(contentsOf: cached)
      return
    }
    if ignoreMerges, let id = vocab[key] {
      out.append(id)
      return
    }
    var symbols: [Int32] = []
    symbols.reserveCapacity(word.count)
    var lastWasUnknown = false
    for (i, c) in word.enumerated() {
      var piece = String(Character(c))
      if i > 0, let prefix = continuingSubwordPrefix { piece = prefix + piece }
      if i == word.count - 1, let suffix = endOfWordSuffix { piece += suffix }
      if let id = vocab[piece] {
        symbols.append(id)
        lastWasUnknown = false
        continue
      }
      if byteFallback {
        let byteIds = UTF8.encode(c)!.map { vocab[String(format: "<0x%02X>", $0)] }
        if byteIds.allSatisfy({ $0 != nil }) {
          symbols.append(contentsOf: byteIds.map { $0! })
          lastWasUnknown = false
          continue
        }
      }
      // Without an unknown token, HF drops the character.
      guard let unknownId else { continue }
      if !(fuseUnknown && lastWasUnknown) { symbols.append(unknownId) }
      lastWasUnknown = true
    }
    symbols = merge(symbols)
    if word.count <= WordCache.maxWordLength { cache[key] = symbols }
    out.append(contentsOf: symbols)
  }

  /// Applies merges lowest rank first (leftmost on ties) until no adjacent pair has one, as
  /// `tokenizers`' `Word::merge_all`: a heap of candidate pairs over a linked list of symbols, so a
  /// word of n symbols takes O(n log n) instead of a rescan per merge.
  func merge(_ symbols: [Int32]) -> [Int32] {
    let n = symbols.count
    guard n > 1 else { return symbols }
    var ids = symbols
    var next = Array(1...n)  // n: none
    var previous = Array(-1..<(n - 1))  // -1: none
    var alive = [Bool](repeating: true, count: n)
    var queue = Heap<Candidate>()
    func push(_ left: Int) {
      let right = next[left]
      guard right < n, let merge = merges[Self.pairKey(ids[left], ids[right])] else { return }
      queue.insert(Candidate(rank: merge.rank, position: left, id: merge.id))
    }
    for i in 0..<(n - 1) { push(i) }
    while let top = queue.popMin() {
      let left = top.position
      // Stale entries: the left symbol was merged away, or its pair changed since the push.
      guard alive[left], next[left] < n,
        merges[Self.pairKey(ids[left], ids[next[left]])]?.id == top.id
      else { continue }
      let right = next[left]
      ids[left] = top.id
      alive[right] = false
      next[left] = next[right]
      if next[right] < n { previous[next[right]] = left }
      if previous[left] >= 0 { push(previous[left]) }
      push(left)
    }
    var merged: [Int32] = []
    var i = 0
    while i < n {
      merged.append(ids[i])
      i = next[i]
    }
    return merged
  }

  static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
  }

  /// A pair that may merge: ordered by rank, then position (leftmost first).
  struct Candidate: Comparable {
    let rank: Int32
    let position: Int
    let id: Int32

    static func < (a: Candidate, b: Candidate) -> Bool {
      (a.rank, a.position) < (b.rank, b.position)
    }
  }
}

/// A bounded, lock-guarded cache from word to ids, shared by copies of a ``Tokenizer``.
final class WordCache: @unchecked Sendable {
  private var storage: [String: [Int32]] = [:]
  private let lock = NSLock()
  private let capacity = 50_000
  /// Longer words are not cached (as `tokenizers`): they are rare, and one could hold megabytes.
  static let maxWordLength = 256

  subscript(key: String) -> [Int32]? {
    get {
      lock.lock()
      defer { lock.unlock() }
      return storage[key]
    }
    set {
      lock.lock()
      defer { lock.unlock() }
      if storage.count >= capacity { storage.removeAll(keepingCapacity: true) }
      storage[key] = newValue
    }
  }
}
