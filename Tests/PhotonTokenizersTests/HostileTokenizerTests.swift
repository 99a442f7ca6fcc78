import Foundation
import PhotonCore
import PhotonTestSupport
@testable import PhotonTokenizers
import Testing

/// What a hostile `tokenizer.json` or input text must not do: crash on integer fields, allocate
/// gigabytes for one id, or take quadratic time (issue 13, items 4, 8 and 9).
struct HostileTokenizerTests {
  /// A minimal WordPiece tokenizer.json with `vocab`, `added` tokens and an optional post-processor.
  static func json(
    vocab: [String: Int] = ["[UNK]": 0, "a": 1, "b": 2], added: [(String, Int)] = [],
    postProcessor: String = "null"
  ) -> Data {
    let vocabText = vocab.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
    let addedText = added.map {
      "{\"id\": \($0.1), \"content\": \"\($0.0)\", \"special\": true}"
    }.joined(separator: ", ")
    return Data(
      """
      {"added_tokens": [\(addedText)], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
       "post_processor": \(postProcessor), "decoder": null,
       "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {\(vocabText)}}}
      """.utf8)
  }

  static func loadError(_ data: Data) -> PhotonError? {
    do {
      _ = try Tokenizer.load(json: data)
      return nil
    } catch let error as PhotonError {
      return error
    } catch {
      return PhotonError(.invalidFile, "unexpected error type: \(error)")
    }
  }

  @Test(
    "integer fields at or past Int32.max are typed errors naming the field, not a crash",
    arguments: [
      json(vocab: ["[UNK]": 0, "a": 2_147_483_647]),
      json(added: [("[X]", 2_147_483_647)]),
      json(added: [("[X]", 9_223_372_036_854_775_807)]),
      json(
        postProcessor: """
          {"type": "BertProcessing", "cls": ["[CLS]", 2147483647], "sep": ["[SEP]", 1]}
          """),
      json(
        postProcessor: """
          {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 4294967296}}],
           "pair": [], "special_tokens": {}}
          """),
      json(
        postProcessor: """
          {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}],
           "pair": [], "special_tokens": {"[X]": {"id": "[X]", "ids": [3000000000], "tokens": ["[X]"]}}}
          """),
    ])
  func integerFieldsOutOfRange(data: Data) throws {
    let error = try #require(Self.loadError(data))
    #expect(error.code == .invalidFile, "\(error)")
    #expect(error.message.contains("tokenizer.json"), "\(error)")
  }

  @Test("a lone huge id is refused by name instead of sizing the id table by it")
  func sparseIdsRefused() throws {
    // 2,147,483,646 once tried a 34 GB id table; 40 million cost 0.7 GB.
    for id in [2_147_483_646, 40_000_000] {
      let error = try #require(Self.loadError(Self.json(added: [("[HUGE]", id)])))
      #expect(error.code == .invalidFile)
      #expect(error.message.contains("[HUGE]") && error.message.contains("\(id)"), "\(error)")
    }
    // Gaps a real vocabulary may have still load.
    let tokenizer = try Tokenizer.load(json: Self.json(added: [("[GAP]", 500)]))
    #expect(tokenizer.encode("a [GAP] b").ids == [1, 500, 2])
  }

  // MARK: BPE

  /// The merge loop the heap replaced: lowest rank, leftmost on ties, one rescan per merge.
  static func naiveMerge(_ symbols: [Int32], merges: [UInt64: (rank: Int32, id: Int32)]) -> [Int32] {
    var symbols = symbols
    while symbols.count > 1 {
      var best: (rank: Int32, id: Int32, index: Int)? = nil
      for i in 0..<(symbols.count - 1) {
        if let merge = merges[BPEModel.pairKey(symbols[i], symbols[i + 1])],
          best == nil || merge.rank < best!.rank
        {
          best = (merge.rank, merge.id, i)
        }
      }
      guard let best else { break }
      symbols[best.index] = best.id
      symbols.remove(at: best.index + 1)
    }
    return symbols
  }

  @Test("heap merging gives the rescanning loop's ids on random words and merge tables")
  func heapMergeEqualsNaive() {
    var random = SeededGenerator(seed: 13)
    for trial in 0..<200 {
      // Symbols 0..<6; merges make new ids from 100 on, which may merge again.
      var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
      let alphabet = Int32(6)
      var known: [Int32] = Array(0..<alphabet)
      for rank in 0..<Int32(random.next() % 40 + 5) {
        let left = known[Int(random.next() % UInt64(known.count))]
        let right = known[Int(random.next() % UInt64(known.count))]
        let key = BPEModel.pairKey(left, right)
        guard merges[key] == nil else { continue }
        let id = 100 + rank
        merges[key] = (rank, id)
        known.append(id)
      }
      let model = BPEModel(
        vocab: [:], merges: merges, unknownId: nil, continuingSubwordPrefix: nil, endOfWordSuffix: nil,
        fuseUnknown: false, byteFallback: false, ignoreMerges: false)
      let word = (0..<Int(random.next() % 30 + 1)).map { _ in Int32(random.next() % UInt64(alphabet)) }
      #expect(model.merge(word) == Self.naiveMerge(word, merges: merges), "trial \(trial): \(word)")
    }
  }

  @Test("byte-level BPE on a 100 KB word without spaces finishes and round-trips")
  func longWordIsNotQuadratic() throws {
    // Quadratic merging took 10 s at 80 KB; the heap makes this a fraction of a second.
    let gpt2 = try Tokenizer.load(from: Fixtures.url("tiny-models/tiny-gpt2"))
    let word = String(repeating: "abcdefghij", count: 10_000)
    let ids = gpt2.encode(word).ids
    #expect(gpt2.decode(ids) == word)
    #expect(ids.count < word.count)  // merges happened
  }

  // MARK: Added tokens

  @Test("added tokens match leftmost, longest first, also among many")
  func addedTokensLeftmostLongest() throws {
    var added = [("ab", 10), ("abc", 11), ("bcd", 12), ("d", 13)]
    for i in 0..<2_000 { added.append(("z\(i)q", 100 + i)) }
    let tokenizer = try Tokenizer.load(
      json: Self.json(vocab: ["[UNK]": 0, "a": 1, "b": 2, "c": 3, "x": 4], added: added))
    // "abcd": "abc" (longest at 0) wins over "ab", then "d"; "bcd" starts later so loses.
    #expect(tokenizer.encode("abcd").ids == [11, 13])
    #expect(tokenizer.encode("xabx").ids == [4, 10, 4])
    #expect(tokenizer.encode("z1999q z7q").ids == [2099, 107])
  }

  @Test("matching 20,000 added tokens over 200 KB of text finishes")
  func manyAddedTokensOverLongText() throws {
    // Scanning every token sharing a first scalar took minutes at 100k tokens and 2 MB.
    let added = (0..<20_000).map { ("tok\($0)x", 10 + $0) }
    let tokenizer = try Tokenizer.load(json: Self.json(added: added))
    let text = String(repeating: "tok1 a b tok19999x ", count: 10_000)
    let ids = tokenizer.encode(text).ids
    #expect(ids.filter { $0 == 10 + 19_999 }.count == 10_000)
  }
}
