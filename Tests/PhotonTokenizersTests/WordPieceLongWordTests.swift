import Foundation
import PhotonTokenizers
import Testing

/// WordPiece's greedy search starts at the longest vocabulary entry instead of the word's end (a
/// fuzzing finding: a 100-character word cost ~170,000 scalar copies, so the WordPiece fuzz target
/// ran at 4 inputs/s). The pieces must be exactly those the full search finds.
struct WordPieceLongWordTests {
  static func tokenizer() throws -> Tokenizer {
    try Tokenizer.load(
      json: Data(
        """
        {"added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
         "post_processor": null, "decoder": null,
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "max_input_chars_per_word": 100,
                   "vocab": {"[UNK]": 0, "a": 1, "##a": 2, "aaa": 3, "##aaa": 4, "\\u00e9": 5, "##b": 6}}}
        """.utf8))
  }

  @Test("a 100-character word is split greedily, longest piece first; 101 characters is [UNK]")
  func longWords() throws {
    let tokenizer = try Self.tokenizer()
    let hundred = String(repeating: "a", count: 100)
    #expect(tokenizer.encode(hundred).ids == [3] + [Int32](repeating: 4, count: 32) + [2])
    #expect(tokenizer.encode(hundred + "a").ids == [0])
    #expect(tokenizer.encode(hundred + "b").ids == [0])
    #expect(tokenizer.encode("aaaab aab").ids == [3, 2, 6, 1, 2, 6])
  }

  @Test("a decomposed piece still matches its precomposed vocabulary entry")
  func canonicalEquivalence() throws {
    // "e" + U+0301 is two scalars; the entry "é" is one. The search bound counts the entry's
    // decomposition, so the two-scalar candidate is still tried.
    #expect(try Self.tokenizer().encode("e\u{301}").ids == [5])
  }
}
