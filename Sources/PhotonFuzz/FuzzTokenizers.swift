import Foundation
import PhotonTokenizers

/// The bytes as `tokenizer.json`; a tokenizer that loads also encodes a fixed text, so ids,
/// added tokens and post-processor settings taken from the input are exercised.
enum FuzzTokenizerJSON {
  static func run(_ bytes: UnsafeRawBufferPointer) {
    guard let tokenizer = try? Tokenizer.load(json: Data(bytes)) else { return }
    let encoding = tokenizer.encode("Hello, world! [MASK] héllo", pair: "a b", maxLength: 16)
    _ = tokenizer.decode(encoding.ids)
  }
}

/// Each tokenizer kind's `encode` (and `decode` of the result) on arbitrary bytes taken as UTF-8
/// (invalid sequences become U+FFFD, as the CLI reads its input). The fixture tokenizers load once.
enum FuzzEncode {
  static func load(_ model: String) -> Tokenizer {
    let url = Fixtures.folder.appendingPathComponent(model)
    do {
      return try Tokenizer.load(from: url)
    } catch {
      FileHandle.standardError.write(Data("cannot load \(url.path): \(error)\n".utf8))
      exit(2)
    }
  }

  static let bert = load("tiny-bert")
  static let gpt2 = load("tiny-gpt2")
  static let t5 = load("tiny-t5")

  static func run(_ tokenizer: Tokenizer, _ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    let encoding = tokenizer.encode(text)
    _ = tokenizer.decode(encoding.ids, skipSpecialTokens: false)
    // The first half as a pair, truncated: the longest-first truncation path.
    let half = text.index(text.startIndex, offsetBy: text.count / 2)
    _ = tokenizer.encode(String(text[..<half]), pair: String(text[half...]), maxLength: 8)
  }

  static func wordPiece(_ bytes: UnsafeRawBufferPointer) { run(bert, bytes) }
  static func byteLevelBPE(_ bytes: UnsafeRawBufferPointer) { run(gpt2, bytes) }
  static func unigram(_ bytes: UnsafeRawBufferPointer) { run(t5, bytes) }
}
