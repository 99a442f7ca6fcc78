/// Turns ids into text one at a time, as a model generates them, handing back only complete text:
/// never half of a UTF-8 character (byte-level BPE splits emoji and CJK over several tokens), and
/// with the spaces the full decode would have (WordPiece `##`, Metaspace `▁`).
///
/// It decodes the last few emitted ids (as context, so that spaces come out as in a full decode)
/// followed by the ids not yet emitted, and hands back the text beyond the context's own once that
/// text no longer ends in U+FFFD. Each step decodes a handful of ids, whatever the stream length.
///
/// ```swift
/// var stream = StreamingDetokenizer(tokenizer: tokenizer)
/// for id in generated { print(stream.append(id), terminator: "") }
/// print(stream.finish())
/// ```
public struct StreamingDetokenizer: Sendable {
  /// The tokenizer whose decoder is used.
  public let tokenizer: Tokenizer
  /// Whether special tokens (`</s>`, `<|endoftext|>`) are left out of the text.
  public let skipSpecialTokens: Bool
  /// Ids already emitted, kept as context (at most `contextLength`).
  private var context: [Int32] = []
  /// `decode(context)`.
  private var contextText = ""
  /// Ids whose text has not been handed back yet.
  private var pending: [Int32] = []
  private let contextLength = 4

  /// - Parameters:
  ///   - tokenizer: the tokenizer that produced the ids.
  ///   - skipSpecialTokens: leave out special tokens (default true).
  public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
    self.tokenizer = tokenizer
    self.skipSpecialTokens = skipSpecialTokens
  }

  /// Adds one id; returns the text it completes ("" while a character is still incomplete).
  public mutating func append(_ id: Int32) -> String {
    pending.append(id)
    let text = tokenizer.decode(context + pending, skipSpecialTokens: skipSpecialTokens)
    guard !text.hasSuffix("\u{FFFD}"), let newText = textAfterContext(text) else { return "" }
    context = Array((context + pending).suffix(contextLength))
    contextText = tokenizer.decode(context, skipSpecialTokens: skipSpecialTokens)
    pending = []
    return newText
  }

  /// Ends the stream: returns whatever is still held back (an incomplete character comes out as
  /// U+FFFD), and starts afresh.
  public mutating func finish() -> String {
    let text = tokenizer.decode(context + pending, skipSpecialTokens: skipSpecialTokens)
    let rest = textAfterContext(text) ?? ""
    context = []
    contextText = ""
    pending = []
    return rest
  }

  /// `text` minus the context's text at its start; `nil` when nothing new is there.
  private func textAfterContext(_ text: String) -> String? {
    let textBytes = Array(text.utf8)
    let contextBytes = Array(contextText.utf8)
    guard textBytes.count > contextBytes.count, textBytes.starts(with: contextBytes) else {
      return nil
    }
    return String(decoding: textBytes[contextBytes.count...], as: UTF8.self)
  }
}
