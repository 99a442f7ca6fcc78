import Foundation
import PhotonTestSupport
import PhotonTokenizers
import Testing

/// Pieces of the pipeline checked through hand-written `tokenizer.json` files and hand-computed
/// expectations.
struct PipelineTests {
  static func load(_ json: String) throws -> Tokenizer {
    try Tokenizer.load(json: Data(json.utf8))
  }

  /// GPT-2's split regex: `text` must encode as the concatenation of its expected pieces, each
  /// encoded alone (BPE never merges across pieces).
  @Test(
    "GPT-2 split: contractions, optional leading space, trailing whitespace runs",
    arguments: [
      ("a  b", ["a", " ", " b"]),
      ("a\t\tb", ["a", "\t", "\t", "b"]),
      ("a   ", ["a", "   "]),
      ("it's they're we'll I'd", ["it", "'s", " they", "'re", " we", "'ll", " I", "'d"]),
      ("x'Y", ["x", "'", "Y"]),
      ("a 12 !? ü", ["a", " 12", " !?", " ü"]),
      ("   x", ["  ", " x"]),
    ])
  func gpt2Split(text: String, pieces: [String]) throws {
    let gpt2 = try Tokenizer.load(from: Fixtures.url("tiny-models/tiny-gpt2"))
    #expect(gpt2.encode(text).ids == pieces.flatMap { gpt2.encode($0).ids })
    #expect(gpt2.decode(gpt2.encode(text).ids) == text)
  }

  /// A sentencepiece double-array trie with one key, "Ａ" (U+FF21, bytes EF BC A1) → "A":
  /// root base 0x100; each unit is `offset << 10 | has_leaf << 8 | label`.
  static let charsMap: String = {
    var units = [UInt32](repeating: 0, count: 0x401)
    units[0] = 0x100 << 10
    units[0x100 ^ 0xEF] = (0x1EF ^ 0x200) << 10 | 0xEF
    units[0x200 ^ 0xBC] = (0x2BC ^ 0x300) << 10 | 0xBC
    units[0x300 ^ 0xA1] = (0x3A1 ^ 0x400) << 10 | 1 << 8 | 0xA1
    units[0x400] = 0  // value: offset 0 in the strings blob
    var bytes: [UInt8] = []
    func le(_ v: UInt32) { for k in 0..<4 { bytes.append(UInt8((v >> (8 * k)) & 0xFF)) } }
    le(UInt32(units.count * 4))
    units.forEach(le)
    bytes += Array("A\0".utf8)
    return Data(bytes).base64EncodedString()
  }()

  @Test("Precompiled charsmap: trie lookup replaces a mapped character, leaves others alone")
  func precompiled() throws {
    let tokenizer = try Self.load(
      """
      {"normalizer": {"type": "Sequence", "normalizers": [
         {"type": "Precompiled", "precompiled_charsmap": "\(Self.charsMap)"}]},
       "pre_tokenizer": {"type": "WhitespaceSplit"},
       "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "Ab": 1, "Ａb": 2, "c": 3}}}
      """)
    #expect(tokenizer.encode("Ａb c").ids == [1, 3])
    #expect(tokenizer.encode("Ab c").ids == [1, 3])
  }

  @Test("Unigram with Metaspace: Viterbi picks the best-scoring segmentation, unknowns fuse")
  func unigramViterbi() throws {
    let tokenizer = try Self.load(
      """
      {"added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
       "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"},
       "model": {"type": "Unigram", "unk_id": 0, "vocab": [
         ["<unk>", 0], ["▁", -2], ["▁ab", -3], ["▁a", -1], ["b", -1], ["c", -5], ["abc", -0.5]]},
       "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}}
      """)
    // "▁ab": ▁ab (-3) loses to ▁a + b (-2).
    #expect(tokenizer.encode("ab").ids == [3, 4])
    // "▁abc": ▁ + abc (-2.5) beats ▁a + b + c (-7) and ▁ab + c (-8).
    #expect(tokenizer.encode("abc").ids == [1, 6])
    // "▁xyz": ▁ then one fused unknown for "xyz".
    #expect(tokenizer.encode("xyz").ids == [1, 0])
    #expect(tokenizer.decode(tokenizer.encode("ab abc").ids) == "ab abc")
  }

  @Test("BertNormalizer: accents stripped when lowercasing, kept when strip_accents is false")
  func bertNormalizerAccents() throws {
    func make(_ stripAccents: String) throws -> Tokenizer {
      try Self.load(
        """
        {"normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": \(stripAccents)},
         "pre_tokenizer": {"type": "BertPreTokenizer"},
         "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "cafe": 1, "café": 2, "!": 3, "北": 4}}}
        """)
    }
    #expect(try make("null").encode("CAFÉ!").ids == [1, 3])
    #expect(try make("false").encode("CAFÉ!").ids == [2, 3])
    #expect(try make("null").encode("cafe北cafe").ids == [1, 4, 1])
  }
}
