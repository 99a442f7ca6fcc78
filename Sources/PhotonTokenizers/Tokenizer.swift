import PhotonCore

/// A Hugging Face tokenizer loaded from `tokenizer.json` (or a BERT `vocab.txt`), producing the same
/// ids as the `tokenizers` library: normalizer → pre-tokenizer → model (WordPiece, BPE or Unigram) →
/// post-processor (special tokens, type ids), and a decoder for the way back.
///
/// A value type; copies share an internal word cache, so one tokenizer can be used from many tasks.
///
/// ```swift
/// let tokenizer = try Tokenizer.load(from: modelFolder)
/// let encoding = tokenizer.encode("Hello world", maxLength: 256)
/// encoding.ids  // [101, 7592, 2088, 102]
/// ```
public struct Tokenizer: Sendable {
  let normalizer: Normalizer?
  let preTokenizer: PreTokenizer?
  let model: Model
  let postProcessor: PostProcessor
  let decoder: TokenDecoder?
  /// Added tokens matched in the raw text, and those matched after normalisation.
  let rawAddedTokens: AddedTokenMatcher
  let normalizedAddedTokens: AddedTokenMatcher
  /// Token strings by id (model vocabulary and added tokens); `nil` for ids no token has.
  let idToToken: [String?]
  let tokenToId: [String: Int32]
  let specialTokenIds: Set<Int32>

  /// The id padding uses (`[PAD]`, `<pad>`), if the tokenizer has one.
  public internal(set) var padTokenId: Int32?
  /// The id of the unknown token (`[UNK]`, `<unk>`), if the model has one.
  public internal(set) var unknownTokenId: Int32?
  /// `[CLS]` (BERT) or `<s>` (RoBERTa).
  public internal(set) var clsTokenId: Int32?
  /// `[SEP]` (BERT) or `</s>` (RoBERTa).
  public internal(set) var sepTokenId: Int32?
  /// Beginning of sequence (`<s>`, `<|endoftext|>`).
  public internal(set) var bosTokenId: Int32?
  /// End of sequence (`</s>`, `<|endoftext|>`): generation stops here.
  public internal(set) var eosTokenId: Int32?
  /// `[MASK]` / `<mask>`.
  public internal(set) var maskTokenId: Int32?
  /// `model_max_length` from the folder's `tokenizer_config.json`, when it gives a real limit
  /// (the "no limit" value 1e30 is read as `nil`).
  public internal(set) var modelMaxLength: Int?
  /// `truncation.max_length` from `tokenizer.json`. Informational: like `transformers`, ``encode``
  /// truncates only when asked to (`maxLength:`).
  public internal(set) var configuredTruncationLength: Int?

  enum Model: Sendable {
    case wordPiece(WordPieceModel)
    case bpe(BPEModel)
    case unigram(UnigramModel)

    func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
      switch self {
      case .wordPiece(let m): m.tokenize(word, into: &out)
      case .bpe(let m): m.tokenize(word, into: &out)
      case .unigram(let m): m.tokenize(word, into: &out)
      }
    }
  }

  /// The number of ids (the model vocabulary plus added tokens).
  public var vocabularySize: Int { idToToken.count }

  /// The id of a token string (model vocabulary or added token).
  public func id(forToken token: String) -> Int32? { tokenToId[token] }

  /// The token string of an id.
  public func token(forId id: Int32) -> String? {
    id >= 0 && Int(id) < idToToken.count ? idToToken[Int(id)] : nil
  }

  /// Whether `id` is a special added token (skipped by `decode(_:skipSpecialTokens: true)`).
  public func isSpecial(_ id: Int32) -> Bool { specialTokenIds.contains(id) }

  // MARK: Encoding

  /// Encodes a text, or a pair of texts (for cross-encoders / sentence-pair classification).
  ///
  /// - Parameters:
  ///   - text: the first sequence.
  ///   - pair: an optional second sequence.
  ///   - addSpecialTokens: add the post-processor's tokens (`[CLS]`, `[SEP]`, `</s>`, …).
  ///   - maxLength: truncate to at most this many ids, special tokens included (they are kept, as
  ///     HF does); pairs use HF's `longest_first` strategy. `nil`: no truncation.
  /// - Returns: an unpadded ``Encoding`` of length `T` (attention mask all ones).
  public func encode(
    _ text: String, pair: String? = nil, addSpecialTokens: Bool = true, maxLength: Int? = nil
  ) -> Encoding {
    var a = encodeSequence(text)
    var b = pair.map { encodeSequence($0) }
    if let maxLength {
      let room = max(
        0, maxLength - (addSpecialTokens ? postProcessor.addedCount(pair: b != nil) : 0))
      Tokenizer.truncate(&a, &b, to: room)
    }
    let (ids, typeIds, special) = postProcessor.apply(a, b, addSpecialTokens: addSpecialTokens)
    return Encoding(
      ids: ids, typeIds: typeIds, tokens: ids.map { token(forId: $0) ?? "" },
      attentionMask: [Int32](repeating: 1, count: ids.count),
      specialTokensMask: special.map { $0 ? 1 : 0 })
  }

  /// How a batch is padded.
  public enum Padding: Sendable, Equatable {
    /// Each encoding keeps its own length.
    case none
    /// Pad to the longest encoding in the batch.
    case longest
    /// Pad every encoding to this length (longer ones are left as they are unless truncated).
    case fixed(Int)
  }

  /// Encodes several texts, truncated and then padded on the right with ``padTokenId``
  /// (attention mask 0, type id 0) so that they can run as one `[B, T]` batch.
  ///
  /// - Parameters:
  ///   - texts: `B` texts.
  ///   - maxLength: truncate each to at most this many ids (special tokens kept); `nil`: none.
  ///   - padding: `.longest` (default), `.fixed(n)` or `.none`.
  /// - Throws: `PhotonError(.unsupported)` when padding is needed and the tokenizer has no pad
  ///   token (GPT-2).
  public func encodeBatch(
    _ texts: [String], maxLength: Int? = nil, padding: Padding = .longest,
    addSpecialTokens: Bool = true
  ) throws -> [Encoding] {
    var encodings = texts.map {
      encode($0, addSpecialTokens: addSpecialTokens, maxLength: maxLength)
    }
    let target: Int
    switch padding {
    case .none: return encodings
    case .longest: target = encodings.map(\.ids.count).max() ?? 0
    case .fixed(let length): target = length
    }
    guard encodings.contains(where: { $0.ids.count < target }) else { return encodings }
    guard let padTokenId else {
      throw PhotonError(
        .unsupported, "tokenizer: padding requested but the tokenizer has no pad token")
    }
    let padToken = token(forId: padTokenId) ?? ""
    for i in encodings.indices { encodings[i].pad(to: target, id: padTokenId, token: padToken) }
    return encodings
  }

  /// HF's `longest_first` truncation of the content ids (special tokens already subtracted).
  static func truncate(_ a: inout [Int32], _ b: inout [Int32]?, to maxLength: Int) {
    guard var second = b else {
      if a.count > maxLength { a.removeSubrange(maxLength...) }
      return
    }
    guard a.count + second.count > maxLength else { return }
    var n1 = a.count
    var n2 = second.count
    let swapped = n1 > n2
    if swapped { swap(&n1, &n2) }
    // n1 is now the shorter; keep it whole if the longer one can absorb the whole cut.
    n2 = n1 > maxLength ? n1 : max(n1, maxLength - n1)
    if n1 + n2 > maxLength {
      n1 = maxLength / 2
      n2 = n1 + maxLength % 2
    }
    if swapped { swap(&n1, &n2) }
    if a.count > n1 { a.removeSubrange(n1...) }
    if second.count > n2 { second.removeSubrange(n2...) }
    b = second
  }

  /// Ids of one sequence, before special tokens: added tokens cut out of the raw text, the rest
  /// normalised, split into words and encoded by the model.
  func encodeSequence(_ text: String) -> [Int32] {
    var ids: [Int32] = []
    let scalars = Array(text.unicodeScalars)
    for segment in rawAddedTokens.split(scalars[...]) {
      switch segment {
      case .token(let id):
        ids.append(id)
      case .text(let raw, let rawStart):
        let normalized = normalizer?.apply(Array(raw)) ?? Array(raw)
        for part in normalizedAddedTokens.split(normalized[...]) {
          switch part {
          case .token(let id):
            ids.append(id)
          case .text(let piece, let start):
            let isFirst = rawStart == 0 && start == 0
            let words =
              preTokenizer?.apply([Array(piece)], isFirstSegment: isFirst) ?? [Array(piece)]
            for word in words { model.tokenize(word, into: &ids) }
          }
        }
      }
    }
    return ids
  }

  // MARK: Decoding

  /// Turns ids back into text through the tokenizer's decoder (byte-level BPE gives back the exact
  /// original text; WordPiece gives the normalised, space-joined words).
  ///
  /// - Parameters:
  ///   - ids: token ids; ids outside the vocabulary are ignored.
  ///   - skipSpecialTokens: leave out special tokens (`[CLS]`, `</s>`, …) — `tokenizers`' default.
  public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
    var tokens: [String] = []
    tokens.reserveCapacity(ids.count)
    for id in ids {
      if skipSpecialTokens && specialTokenIds.contains(id) { continue }
      if let token = token(forId: id) { tokens.append(token) }
    }
    guard let decoder else { return tokens.joined(separator: " ") }
    return decoder.decodeChain(tokens).joined()
  }
}

/// The result of ``Tokenizer/encode(_:pair:addSpecialTokens:maxLength:)``: parallel arrays of
/// length `T`.
public struct Encoding: Sendable, Equatable {
  /// Token ids, special tokens included.
  public var ids: [Int32]
  /// Segment ids: 0 for the first sequence, 1 for the second of a BERT pair.
  public var typeIds: [Int32]
  /// The vocabulary string of each id (`"##ing"`, `"Ġworld"`, `"▁the"`, `"[UNK]"`).
  public var tokens: [String]
  /// 1 for real tokens, 0 for padding.
  public var attentionMask: [Int32]
  /// 1 where the post-processor added a special token, 0 elsewhere (padding counts as special).
  public var specialTokensMask: [Int32]

  /// Number of positions `T`.
  public var count: Int { ids.count }

  /// Pads on the right to `length` positions (nothing when already as long).
  public mutating func pad(to length: Int, id: Int32, token: String) {
    let extra = length - ids.count
    guard extra > 0 else { return }
    ids.append(contentsOf: repeatElement(id, count: extra))
    typeIds.append(contentsOf: repeatElement(0, count: extra))
    tokens.append(contentsOf: repeatElement(token, count: extra))
    attentionMask.append(contentsOf: repeatElement(0, count: extra))
    specialTokensMask.append(contentsOf: repeatElement(1, count: extra))
  }
}
