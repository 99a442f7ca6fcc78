import Foundation
import PhotonCore
import PhotonTestSupport
import PhotonTokenizers
import Testing

/// Pairs, truncation, padding, decoding, streaming and bad input.
struct TokenizerBehaviourTests {
  static let texts = [
    "the quick brown fox", "Hello, world! Café 🙂 3.14", "", "   ", "don't stop-believing!!",
    "naïve café résumé", "東京タワー 北京", "emoji 🙂🚀 end", "tabs\tand\nnewlines",
    "https://example.com/a?b=c", "  leading and trailing  ", "I'm, you're, they've: it'll'd",
  ]

  static func tokenizer(_ folder: String) throws -> Tokenizer {
    try Tokenizer.load(from: Fixtures.url("tiny-models/\(folder)"))
  }

  @Test("byte-level BPE decodes back to the exact text", arguments: ["tiny-gpt2", "tiny-roberta"])
  func byteLevelRoundTrip(folder: String) throws {
    let tokenizer = try Self.tokenizer(folder)
    for text in Self.texts {
      let ids = tokenizer.encode(text).ids
      #expect(tokenizer.decode(ids) == text, "\(folder): \(text.debugDescription)")
    }
  }

  @Test("WordPiece and Unigram decode to the normalised words")
  func wordPieceAndUnigramDecode() throws {
    let bert = try Self.tokenizer("tiny-bert")
    #expect(bert.decode(bert.encode("The quick, brown fox!").ids) == "the quick, brown fox!")
    #expect(bert.decode(bert.encode("hello").ids, skipSpecialTokens: false) == "[CLS] hello [SEP]")
    let t5 = try Self.tokenizer("tiny-t5")
    #expect(t5.decode(t5.encode("the quick brown fox").ids) == "the quick brown fox")
    #expect(t5.eosTokenId == 1)
    #expect(t5.padTokenId == 0)
    #expect(t5.unknownTokenId == 2)
  }

  @Test(
    "streaming gives the full decode piece by piece, never half a character",
    arguments: ["tiny-gpt2", "tiny-roberta", "tiny-bert", "tiny-t5"])
  func streaming(folder: String) throws {
    let tokenizer = try Self.tokenizer(folder)
    for text in Self.texts {
      let ids = tokenizer.encode(text).ids
      var stream = StreamingDetokenizer(tokenizer: tokenizer)
      var pieces: [String] = []
      for id in ids { pieces.append(stream.append(id)) }
      pieces.append(stream.finish())
      #expect(pieces.joined() == tokenizer.decode(ids), "\(folder): \(text.debugDescription)")
      #expect(!pieces.contains { $0.contains("\u{FFFD}") }, "\(folder): \(pieces)")
    }
  }

  @Test("streaming holds back a split emoji until its last byte")
  func streamingHoldsPartialCharacters() throws {
    let gpt2 = try Self.tokenizer("tiny-gpt2")
    let ids = gpt2.encode("🙂").ids
    #expect(ids.count > 1)  // the emoji's four bytes are several tokens in this tiny vocabulary
    var stream = StreamingDetokenizer(tokenizer: gpt2)
    let outputs = ids.map { stream.append($0) }
    #expect(outputs.dropLast().allSatisfy { $0.isEmpty })
    #expect(outputs.last == "🙂")
  }

  @Test("BERT pairs: [CLS] A [SEP] B [SEP] with type ids; RoBERTa pairs: <s> A </s></s> B </s>")
  func pairs() throws {
    let bert = try Self.tokenizer("tiny-bert")
    let a = bert.encode("the fox", addSpecialTokens: false).ids
    let b = bert.encode("a dog", addSpecialTokens: false).ids
    let pair = bert.encode("the fox", pair: "a dog")
    #expect(pair.ids == [2] + a + [3] + b + [3])
    #expect(pair.typeIds == [0] + a.map { _ in 0 } + [0] + b.map { _ in 1 } + [1])
    #expect(pair.specialTokensMask == [1] + a.map { _ in 0 } + [1] + b.map { _ in 0 } + [1])

    let roberta = try Self.tokenizer("tiny-roberta")
    let ra = roberta.encode("the fox", addSpecialTokens: false).ids
    let rb = roberta.encode("a dog", addSpecialTokens: false).ids
    let robertaPair = roberta.encode("the fox", pair: "a dog")
    #expect(robertaPair.ids == [0] + ra + [2, 2] + rb + [2])
    #expect(robertaPair.typeIds.allSatisfy { $0 == 0 })  // RoBERTa has no segment embeddings

    let t5 = try Self.tokenizer("tiny-t5")
    let ta = t5.encode("the fox", addSpecialTokens: false).ids
    let tb = t5.encode("a dog", addSpecialTokens: false).ids
    #expect(t5.encode("the fox", pair: "a dog").ids == ta + [1] + tb + [1])
  }

  @Test("truncation keeps the special tokens; longest_first for pairs", arguments: [3, 4, 7, 12])
  func truncation(maxLength: Int) throws {
    let bert = try Self.tokenizer("tiny-bert")
    let full = bert.encode("attention lets every position look at every other position")
    let cut = bert.encode(
      "attention lets every position look at every other position", maxLength: maxLength)
    #expect(cut.count == maxLength)
    #expect(cut.ids.first == 2)
    #expect(cut.ids.last == 3)
    #expect(Array(cut.ids.dropLast()) == Array(full.ids.prefix(maxLength - 1)))

    let a = bert.encode("position", addSpecialTokens: false).ids  // several pieces
    let b = bert.encode("attention lets every", addSpecialTokens: false).ids
    let pair = bert.encode("position", pair: "attention lets every", maxLength: maxLength + 3)
    // HF longest_first: the shorter keeps its length when the longer can absorb the cut.
    let room = maxLength
    let n1 = min(a.count, b.count)
    var keepShort = min(n1, room)
    var keepLong = max(keepShort, room - keepShort)
    if keepShort + keepLong > room {
      keepShort = room / 2
      keepLong = keepShort + room % 2
    }
    let (keepA, keepB) = a.count <= b.count ? (keepShort, keepLong) : (keepLong, keepShort)
    let expected =
      [2] + Array(a.prefix(keepA)) + [3] + Array(b.prefix(keepB)) + [3] as [Int32]
    #expect(pair.ids == expected)
  }

  @Test("padding: longest, fixed, and an error without a pad token")
  func padding() throws {
    let bert = try Self.tokenizer("tiny-bert")
    let batch = try bert.encodeBatch(["the fox", "a"], padding: .fixed(8))
    #expect(batch.map(\.count) == [8, 8])
    #expect(batch[1].ids.suffix(5) == [0, 0, 0, 0, 0])
    #expect(batch[1].attentionMask == [1, 1, 1, 0, 0, 0, 0, 0])
    #expect(batch[1].tokens.last == "[PAD]")
    let unpadded = try bert.encodeBatch(["the fox", "a"], padding: .none)
    #expect(unpadded[1].count == 3)
    let gpt2 = try Self.tokenizer("tiny-gpt2")
    #expect(gpt2.padTokenId == nil)
    #expect(throws: PhotonError.self) { try gpt2.encodeBatch(["the fox", "a"]) }
    #expect(try gpt2.encodeBatch(["the fox"]).count == 1)  // nothing to pad
  }

  @Test("vocab.txt alone gives the same ids as tokenizer.json for BERT uncased")
  func vocabTxtFallback() throws {
    let json = try Self.tokenizer("tiny-bert")
    let vocab = try Tokenizer.load(from: Fixtures.url("tiny-models/tiny-bert/vocab.txt"))
    #expect(vocab.clsTokenId == 2)
    #expect(vocab.padTokenId == 0)
    for text in Self.texts + ["Ångström [MASK] x [SEP]"] {
      #expect(vocab.encode(text).ids == json.encode(text).ids, "\(text.debugDescription)")
    }
  }

  @Test("added special tokens in the text are matched whole")
  func addedTokensInText() throws {
    let roberta = try Self.tokenizer("tiny-roberta")
    let ids = roberta.encode("the<mask>fox", addSpecialTokens: false).ids
    #expect(ids.contains(4))
    let bert = try Self.tokenizer("tiny-bert")
    #expect(bert.encode("[MASK]", addSpecialTokens: false).ids == [4])
  }

  @Test("properties from tokenizer.json and tokenizer_config.json")
  func properties() throws {
    let roberta = try Self.tokenizer("tiny-roberta")
    #expect(roberta.padTokenId == 1)
    #expect(roberta.bosTokenId == 0)
    #expect(roberta.eosTokenId == 2)
    #expect(roberta.maskTokenId == 4)
    #expect(roberta.modelMaxLength == nil)  // 1e30 means "no limit"
    #expect(roberta.vocabularySize == 535)
    #expect(roberta.id(forToken: "<s>") == 0)
    #expect(roberta.token(forId: 2) == "</s>")
    #expect(roberta.isSpecial(2))
    let gpt2 = try Self.tokenizer("tiny-gpt2")
    #expect(gpt2.eosTokenId == 0)
    #expect(gpt2.encode("hi", pair: nil).ids == gpt2.encode("hi", addSpecialTokens: false).ids)
  }

  // MARK: Bad input

  static func write(_ text: String, name: String = "tokenizer.json") throws -> URL {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("photon-tokenizer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  static func error(_ body: () throws -> Tokenizer) -> PhotonError? {
    do {
      _ = try body()
      return nil
    } catch let error as PhotonError {
      return error
    } catch {
      return nil
    }
  }

  @Test("a missing file or folder is invalidFile naming the path")
  func missingFile() {
    let path = "/nonexistent/photon/tokenizer.json"
    let error = Self.error { try Tokenizer.load(from: URL(fileURLWithPath: path)) }
    #expect(error?.code == .invalidFile)
    #expect(error?.message.contains(path) == true)
    let empty = FileManager.default.temporaryDirectory
      .appendingPathComponent("photon-empty-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    let folderError = Self.error { try Tokenizer.load(from: empty) }
    #expect(folderError?.code == .invalidFile)
    #expect(folderError?.message.contains("tokenizer.json") == true)
  }

  @Test("malformed JSON is invalidFile naming the file")
  func malformedJSON() throws {
    let url = try Self.write(#"{"model": {"type": "WordPiece", "vocab": {"a": 0,}"#)
    let error = Self.error { try Tokenizer.load(from: url) }
    #expect(error?.code == .invalidFile)
    #expect(error?.message.contains(url.path) == true)
  }

  @Test(
    "unknown component types are unsupported, naming the type and JSON path",
    arguments: [
      (#"{"model": {"type": "CharLevel", "vocab": {}}}"#, "CharLevel", "model"),
      (
        #"{"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Rot13"}]}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}"#,
        "Rot13", "normalizer.normalizers[1]"
      ),
      (
        #"{"pre_tokenizer": {"type": "Mystery"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}"#,
        "Mystery", "pre_tokenizer"
      ),
      (
        #"{"decoder": {"type": "Mystery"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}"#,
        "Mystery", "decoder"
      ),
    ])
  func unknownTypes(json: String, type: String, path: String) throws {
    let url = try Self.write(json)
    let error = Self.error { try Tokenizer.load(from: url) }
    #expect(error?.code == .unsupported)
    #expect(error?.message.contains("\"\(type)\"") == true, "\(String(describing: error))")
    #expect(error?.message.contains(" at \(path) ") == true, "\(String(describing: error))")
  }

  @Test("a wrongly typed key is invalidFile naming the key")
  func wrongType() throws {
    let url = try Self.write(#"{"model": {"type": "WordPiece", "vocab": [1, 2]}}"#)
    let error = Self.error { try Tokenizer.load(from: url) }
    #expect(error?.code == .invalidFile)
    #expect(error?.message.contains("model.vocab should be an object") == true)
  }
}
