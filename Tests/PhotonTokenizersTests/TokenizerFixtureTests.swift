import Foundation
import PhotonTestSupport
import PhotonTokenizers
import Testing

/// Ids must equal those Hugging Face `tokenizers` produced (Tests/Fixtures, see its README).
struct TokenizerFixtureTests {
  /// `tokenizer-cases.json` key → the tiny model folder holding that tokenizer.
  static let tokenizerFolders: [(key: String, folder: String)] = [
    ("wordpiece", "tiny-bert"), ("roberta-bpe", "tiny-roberta"), ("gpt2-bpe", "tiny-gpt2"),
    ("t5-unigram", "tiny-t5"),
  ]

  static let tinyModels = [
    "tiny-bert", "tiny-bert-classifier", "tiny-bert-mlm", "tiny-bert-token-classifier",
    "tiny-distilbert", "tiny-roberta", "tiny-gpt2", "tiny-t5",
  ]

  static func tokenizer(_ folder: String) throws -> Tokenizer {
    try Tokenizer.load(from: Fixtures.url("tiny-models/\(folder)"))
  }

  static func ints(_ value: Any?) -> [Int32] {
    ((value as? [Any]) ?? []).compactMap { ($0 as? NSNumber).map { Int32(truncating: $0) } }
  }

  @Test("tokenizer-cases.json: every text gives HF's ids", arguments: tokenizerFolders)
  func tokenizerCases(key: String, folder: String) throws {
    let tokenizer = try Self.tokenizer(folder)
    let all = try #require(try Fixtures.json("tiny-models/tokenizer-cases.json") as? [String: Any])
    let cases = try #require(all[key] as? [[String: Any]])
    #expect(cases.count == 14)
    for item in cases {
      let text = try #require(item["text"] as? String)
      let expected = Self.ints(item["input_ids"])
      #expect(!expected.isEmpty || key == "gpt2-bpe", "fixture \(key) has no ids for \(text)")
      let got = tokenizer.encode(text).ids
      #expect(got == expected, "\(key): \(text.debugDescription)")
    }
  }

  @Test("tiny models' reference.json: ids, tokens and padded batch", arguments: tinyModels)
  func tinyModelReference(folder: String) throws {
    let tokenizer = try Self.tokenizer(folder)
    let reference = try #require(
      try Fixtures.json("tiny-models/\(folder)/reference.json") as? [String: Any])
    let cases = try #require(reference["cases"] as? [[String: Any]])
    #expect(cases.count == 3)
    for item in cases {
      let text = try #require(item["text"] as? String)
      let encoding = tokenizer.encode(text)
      #expect(encoding.ids == Self.ints(item["input_ids"]), "\(folder): \(text.debugDescription)")
      #expect(encoding.attentionMask == Self.ints(item["attention_mask"]))
      // Unigram names an unknown piece by its text, not `<unk>`; compare tokens elsewhere.
      if folder != "tiny-t5", let tokens = item["tokens"] as? [String] {
        #expect(encoding.tokens == tokens, "\(folder): \(text.debugDescription)")
      }
    }
    if let batch = reference["padded_batch"] as? [String: Any] {
      let texts = try #require(batch["texts"] as? [String])
      let encodings = try tokenizer.encodeBatch(texts, padding: .longest)
      let ids = try #require(batch["input_ids"] as? [Any]).map(Self.ints)
      let mask = try #require(batch["attention_mask"] as? [Any]).map(Self.ints)
      #expect(encodings.map(\.ids) == ids, "\(folder): padded batch ids")
      #expect(encodings.map(\.attentionMask) == mask, "\(folder): padded batch mask")
    }
  }

  /// The real all-MiniLM-L6-v2 tokenizer, found in `Models/` at the package root (fetched by
  /// `scripts/fetch-model`; it is not in the repository). A missing folder fails the test.
  static let miniLMFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // PhotonTokenizersTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // package root
    .appendingPathComponent("Models/all-MiniLM-L6-v2")

  @Test("MiniLM reference: 40 texts, ids, type ids and tokens, truncated at 256")
  func miniLMReference() throws {
    let file = Self.miniLMFolder.appendingPathComponent("tokenizer.json")
    try #require(
      FileManager.default.fileExists(atPath: file.path),
      "\(file.path) is missing: fetch all-MiniLM-L6-v2 into Models/ first (scripts/fetch-model)")
    let tokenizer = try Tokenizer.load(from: Self.miniLMFolder)
    #expect(tokenizer.modelMaxLength == 512)
    #expect(tokenizer.padTokenId == 0)
    #expect(tokenizer.clsTokenId == 101)
    #expect(tokenizer.sepTokenId == 102)
    #expect(tokenizer.unknownTokenId == 100)
    let reference = try #require(try Fixtures.json("minilm/reference.json") as? [String: Any])
    let maxLength = try #require(reference["max_seq_length"] as? Int)
    #expect(maxLength == 256)
    let cases = try #require(reference["cases"] as? [[String: Any]])
    #expect(cases.count == 40)
    for item in cases {
      let text = try #require(item["text"] as? String)
      let encoding = tokenizer.encode(text, maxLength: maxLength)
      #expect(encoding.ids == Self.ints(item["input_ids"]), "MiniLM: \(text.debugDescription)")
      #expect(encoding.typeIds == Self.ints(item["token_type_ids"]))
      #expect(encoding.attentionMask == Self.ints(item["attention_mask"]))
      #expect(encoding.tokens == (item["tokens"] as? [String]), "MiniLM: \(text.debugDescription)")
    }
    // The same tokenizer from vocab.txt alone (BERT uncased defaults) gives the same ids.
    let fromVocab = try Tokenizer.load(
      from: Self.miniLMFolder.appendingPathComponent("vocab.txt"))
    for item in cases {
      let text = try #require(item["text"] as? String)
      #expect(fromVocab.encode(text, maxLength: maxLength).ids == Self.ints(item["input_ids"]))
    }
    if let batch = reference["padded_batch"] as? [String: Any],
      let texts = batch["texts"] as? [String]
    {
      let encodings = try tokenizer.encodeBatch(texts, maxLength: maxLength)
      #expect(encodings.map(\.ids) == (batch["input_ids"] as? [Any] ?? []).map(Self.ints))
      #expect(
        encodings.map(\.attentionMask) == (batch["attention_mask"] as? [Any] ?? []).map(Self.ints))
    }
  }
}
