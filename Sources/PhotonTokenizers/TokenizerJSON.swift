import Foundation
import PhotonCore

/// Reads the sections of a Hugging Face `tokenizer.json` into a ``Tokenizer``.
struct TokenizerJSON {
  let root: JSONObject

  init(url: URL) throws {
    root = try JSONValue.parse(url: url).object()
  }

  init(data: Data, file: String) throws {
    root = try JSONValue.parse(data: data, file: file).object()
  }

  var file: String { root.file }

  func makeTokenizer() throws -> Tokenizer {
    let addedTokens = try parseAddedTokens()
    let (model, vocab, unknownId) = try parseModel(try root.required("model").object())

    // Ids → strings: the model's vocabulary, then added tokens (which may extend it).
    var tokenToId = vocab
    for token in addedTokens { tokenToId[token.content.string] = token.id }
    let size = Int(tokenToId.values.max() ?? -1) + 1
    // The id → token table is dense: a lone huge id would make it gigabytes. Real vocabularies
    // number their tokens densely; allow generous gaps, refuse the rest by name.
    let limit = 2 * tokenToId.count + 1024
    if size > limit, let (token, id) = tokenToId.max(by: { $0.value < $1.value }) {
      throw PhotonError(
        .invalidFile,
        "\(file): token \"\(token)\" has id \(id), far beyond the \(tokenToId.count) tokens defined (ids above \(limit - 1) are refused: the id table would need \(size) entries)"
      )
    }
    var idToToken = [String?](repeating: nil, count: size)
    for (token, id) in vocab where id >= 0 { idToToken[Int(id)] = token }
    for token in addedTokens where token.id >= 0 { idToToken[Int(token.id)] = token.content.string }

    let normalizer = try root["normalizer"].flatMap { $0.isNull ? nil : try parseNormalizer($0) }
    let preTokenizer = try root["pre_tokenizer"].flatMap {
      $0.isNull ? nil : try parsePreTokenizer($0)
    }
    let (postProcessor, cls, sep) =
      try root["post_processor"].flatMap {
        $0.isNull ? nil : try parsePostProcessor($0, tokenToId: tokenToId)
      } ?? (PostProcessor.none, nil, nil)
    let decoder = try root["decoder"].flatMap { $0.isNull ? nil : try parseDecoder($0) }

    var tokenizer = Tokenizer(
      normalizer: normalizer, preTokenizer: preTokenizer, model: model,
      postProcessor: postProcessor, decoder: decoder,
      rawAddedTokens: AddedTokenMatcher(addedTokens.filter { !$0.normalized }),
      normalizedAddedTokens: AddedTokenMatcher(addedTokens.filter { $0.normalized }),
      idToToken: idToToken, tokenToId: tokenToId,
      specialTokenIds: Set(addedTokens.filter(\.special).map(\.id)))
    tokenizer.unknownTokenId = unknownId
    tokenizer.clsTokenId = cls
    tokenizer.sepTokenId = sep
    if let padding = root["padding"], !padding.isNull {
      let object = try padding.object()
      tokenizer.padTokenId = try object["pad_id"].flatMap { $0.isNull ? nil : try $0.tokenId() }
      if tokenizer.padTokenId == nil, let name = try object.optionalString("pad_token") {
        tokenizer.padTokenId = tokenToId[name]
      }
    }
    if let truncation = root["truncation"], !truncation.isNull {
      tokenizer.configuredTruncationLength = try truncation.object()["max_length"]?.optionalInt()
    }
    return tokenizer
  }

  // MARK: Added tokens

  func parseAddedTokens() throws -> [AddedToken] {
    guard let list = root["added_tokens"], !list.isNull else { return [] }
    return try list.array().map { item in
      let o = try item.object()
      return AddedToken(
        id: try o.required("id").tokenId(),
        content: Array(try o.required("content").string().unicodeScalars),
        special: try o.bool("special", default: false),
        normalized: try o.bool("normalized", default: false),
        lstrip: try o.bool("lstrip", default: false),
        rstrip: try o.bool("rstrip", default: false),
        singleWord: try o.bool("single_word", default: false))
    }
  }

  // MARK: Model

  func parseModel(
    _ o: JSONObject
  ) throws -> (Tokenizer.Model, vocab: [String: Int32], unknownId: Int32?) {
    // Older files omit `type`; infer it from the keys as `tokenizers` does.
    let type: String
    if let explicit = try o.optionalString("type") {
      type = explicit
    } else if o["merges"] != nil {
      type = "BPE"
    } else if o["max_input_chars_per_word"] != nil || o["continuing_subword_prefix"] != nil {
      type = "WordPiece"
    } else if o["unk_id"] != nil {
      type = "Unigram"
    } else {
      throw PhotonError(.invalidFile, "\(file): model has no type and no recognisable keys")
    }
    switch type {
    case "WordPiece":
      let vocab = try parseVocab(o.required("vocab"))
      let unkToken = try o.string("unk_token", default: "[UNK]")
      guard let unk = vocab[unkToken] else {
        throw PhotonError(
          .invalidFile, "\(file): model.unk_token \"\(unkToken)\" is not in model.vocab")
      }
      let model = WordPieceModel(
        vocab: vocab, unknownId: unk,
        continuingSubwordPrefix: try o.string("continuing_subword_prefix", default: "##"),
        maxInputCharsPerWord: try o.int("max_input_chars_per_word", default: 100))
      return (.wordPiece(model), vocab, unk)
    case "BPE":
      let vocab = try parseVocab(o.required("vocab"))
      let prefix = try o.optionalString("continuing_subword_prefix")
      var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
      for (rank, item) in try o.required("merges").array().enumerated() {
        let (left, right) = try parseMerge(item)
        guard let l = vocab[left], let r = vocab[right] else {
          throw PhotonError(
            .invalidFile,
            "\(file): \(item.path) \"\(left) \(right)\" uses a token not in model.vocab")
        }
        var rightPart = Substring(right)
        if let prefix, rightPart.hasPrefix(prefix) { rightPart = rightPart.dropFirst(prefix.count) }
        let merged = left + rightPart
        guard let id = vocab[merged] else {
          throw PhotonError(
            .invalidFile, "\(file): \(item.path) makes \"\(merged)\", which is not in model.vocab")
        }
        let key = BPEModel.pairKey(l, r)
        if merges[key] == nil { merges[key] = (Int32(rank), id) }
      }
      var unknownId: Int32? = nil
      if let unkToken = try o.optionalString("unk_token") {
        guard let id = vocab[unkToken] else {
          throw PhotonError(
            .invalidFile, "\(file): model.unk_token \"\(unkToken)\" is not in model.vocab")
        }
        unknownId = id
      }
      // `dropout` only matters for training; inference never drops merges.
      let model = BPEModel(
        vocab: vocab, merges: merges, unknownId: unknownId, continuingSubwordPrefix: prefix,
        endOfWordSuffix: try o.optionalString("end_of_word_suffix"),
        fuseUnknown: try o.bool("fuse_unk", default: false),
        byteFallback: try o.bool("byte_fallback", default: false),
        ignoreMerges: try o.bool("ignore_merges", default: false))
      return (.bpe(model), vocab, unknownId)
    case "Unigram":
      var pieces: [(piece: String, score: Double)] = []
      var vocab: [String: Int32] = [:]
      for (i, item) in try o.required("vocab").array().enumerated() {
        let pair = try item.array()
        guard pair.count == 2 else { throw item.failure("a [piece, score] pair") }
        let piece = try pair[0].string()
        pieces.append((piece, try pair[1].double()))
        if vocab[piece] == nil { vocab[piece] = Int32(i) }
      }
      var unknownId: Int32? = nil
      if let unk = try o["unk_id"]?.optionalInt() {
        guard unk >= 0 && unk < pieces.count else {
          throw PhotonError(.invalidFile, "\(file): model.unk_id \(unk) is outside the vocabulary")
        }
        unknownId = Int32(unk)
      }
      let model = UnigramModel(
        pieces: pieces, unknownId: unknownId,
        byteFallback: try o.bool("byte_fallback", default: false))
      return (.unigram(model), vocab, unknownId)
    default:
      throw o.unsupported("model", type)
    }
  }

  private func parseVocab(_ value: JSONValue) throws -> [String: Int32] {
    guard let dict = value.raw as? [String: Any] else { throw value.failure("an object") }
    var vocab: [String: Int32] = [:]
    vocab.reserveCapacity(dict.count)
    for (token, id) in dict {
      guard let id = id as? Int, id >= 0, id < Int(Int32.max) else {
        throw PhotonError(
          .invalidFile,
          "\(file): \(value.path)[\"\(token)\"] should be a token id (an integer from 0 to \(Int32.max - 1)), got \(id)"
        )
      }
      vocab[token] = Int32(id)
    }
    return vocab
  }

  /// A merge: `"a b"` (older files) or `["a", "b"]` (tokenizers ≥ 0.20).
  private func parseMerge(_ item: JSONValue) throws -> (String, String) {
    if let text = item.raw as? String {
      let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2 else { throw item.failure("a merge \"left right\"") }
      return (String(parts[0]), String(parts[1]))
    }
    let pair = try item.array()
    guard pair.count == 2 else { throw item.failure("a merge [left, right]") }
    return (try pair[0].string(), try pair[1].string())
  }

  // MARK: Normalizers

  func parseNormalizer(_ value: JSONValue) throws -> Normalizer {
    let o = try value.object()
    let type = try o.type()
    switch type {
    case "BertNormalizer":
      let lowercase = try o.bool("lowercase", default: true)
      return .bert(
        cleanText: try o.bool("clean_text", default: true),
        handleChineseChars: try o.bool("handle_chinese_chars", default: true),
        // null means "strip accents when lowercasing" (as BERT uncased does).
        stripAccents: try o.bool("strip_accents", default: lowercase),
        lowercase: lowercase)
    case "NFC": return .nfc
    case "NFD": return .nfd
    case "NFKC": return .nfkc
    case "NFKD": return .nfkd
    case "Lowercase": return .lowercase
    case "StripAccents": return .stripAccents
    case "Nmt": return .nmt
    case "Strip":
      return .strip(
        left: try o.bool("strip_left", default: true),
        right: try o.bool("strip_right", default: true))
    case "Replace":
      return .replace(
        try parsePattern(o.required("pattern")), content: try o.required("content").string())
    case "Prepend":
      return .prepend(try o.required("prepend").string())
    case "Precompiled":
      guard let encoded = try o["precompiled_charsmap"]?.optionalString(), !encoded.isEmpty else {
        return .sequence([])
      }
      guard let data = Data(base64Encoded: encoded) else {
        throw PhotonError(
          .invalidFile, "\(file): \(o.path).precompiled_charsmap is not valid base64")
      }
      return .precompiled(try PrecompiledCharsMap(data: data, path: "\(file): \(o.path)"))
    case "Sequence":
      return .sequence(try o.required("normalizers").array().map(parseNormalizer))
    default:
      throw o.unsupported("normalizer", type)
    }
  }

  private func parsePattern(_ value: JSONValue) throws -> ReplacePattern {
    let o = try value.object()
    if let literal = try o.optionalString("String") {
      return .string(Array(literal.unicodeScalars))
    }
    if let pattern = try o.optionalString("Regex") {
      do {
        return .regex(RegexBox(try NSRegularExpression(pattern: pattern)))
      } catch {
        throw PhotonError(
          .unsupported, "\(file): \(o.path).Regex \"\(pattern)\" cannot be compiled", cause: error)
      }
    }
    throw value.failure("{\"String\": …} or {\"Regex\": …}")
  }

  // MARK: Pre-tokenizers

  func parsePreTokenizer(_ value: JSONValue) throws -> PreTokenizer {
    let o = try value.object()
    let type = try o.type()
    switch type {
    case "BertPreTokenizer": return .bert
    case "ByteLevel":
      return .byteLevel(
        addPrefixSpace: try o.bool("add_prefix_space", default: true),
        useRegex: try o.bool("use_regex", default: true))
    case "Metaspace":
      let (replacement, scheme) = try parseMetaspace(o)
      return .metaspace(
        replacement: replacement, prependScheme: scheme, split: try o.bool("split", default: true))
    case "Whitespace": return .whitespace
    case "WhitespaceSplit": return .whitespaceSplit
    case "Punctuation":
      let behavior = try o.string("behavior", default: "Isolated")
      guard behavior == "Isolated" else { throw o.unsupported("Punctuation behavior", behavior) }
      return .punctuation
    case "Digits":
      return .digits(individual: try o.bool("individual_digits", default: false))
    case "Sequence":
      return .sequence(try o.required("pretokenizers").array().map(parsePreTokenizer))
    default:
      throw o.unsupported("pre_tokenizer", type)
    }
  }

  /// Metaspace's replacement and prepend scheme (`prepend_scheme`, or the older
  /// `add_prefix_space`).
  private func parseMetaspace(
    _ o: JSONObject
  ) throws -> (Unicode.Scalar, PreTokenizer.PrependScheme) {
    let text = try o.string("replacement", default: "\u{2581}")
    guard text.unicodeScalars.count == 1, let replacement = text.unicodeScalars.first else {
      throw PhotonError(.invalidFile, "\(file): \(o.path).replacement should be one character")
    }
    var scheme = PreTokenizer.PrependScheme.always
    if let name = try o.optionalString("prepend_scheme") {
      guard let parsed = PreTokenizer.PrependScheme(rawValue: name) else {
        throw o.unsupported("Metaspace prepend_scheme", name)
      }
      scheme = parsed
    } else if try o.bool("add_prefix_space", default: true) == false {
      scheme = .never
    }
    return (replacement, scheme)
  }

  // MARK: Post-processors

  /// The post-processor as a template, plus the CLS / SEP ids it names (if any).
  func parsePostProcessor(
    _ value: JSONValue, tokenToId: [String: Int32]
  ) throws -> (PostProcessor, cls: Int32?, sep: Int32?) {
    let o = try value.object()
    let type = try o.type()
    switch type {
    case "BertProcessing", "RobertaProcessing":
      let cls = try parseSpecialPair(o.required("cls"))
      let sep = try parseSpecialPair(o.required("sep"))
      let processor =
        type == "BertProcessing"
        ? PostProcessor.bert(cls: cls, sep: sep) : PostProcessor.roberta(cls: cls, sep: sep)
      return (processor, cls, sep)
    case "TemplateProcessing":
      var specials: [String: [Int32]] = [:]
      if let table = o["special_tokens"], !table.isNull {
        let tableObject = try table.object()
        for name in tableObject.dict.keys {
          let entry = try tableObject.required(name).object()
          specials[name] = try entry.required("ids").array().map { try $0.tokenId() }
        }
      }
      func template(_ key: String) throws -> [PostProcessor.Piece] {
        try o.required(key).array().map { item in
          let piece = try item.object()
          if let sequence = piece["Sequence"] {
            let s = try sequence.object()
            let id = try s.string("id", default: "A")
            guard id == "A" || id == "B" else { throw s.unsupported("template sequence", id) }
            return .sequence(
              second: id == "B", typeId: try s["type_id"].flatMap { $0.isNull ? nil : try $0.int32() } ?? 0)
          }
          if let special = piece["SpecialToken"] {
            let s = try special.object()
            let name = try s.required("id").string()
            guard let ids = specials[name] ?? tokenToId[name].map({ [$0] }) else {
              throw PhotonError(
                .invalidFile, "\(file): \(s.path).id \"\(name)\" is not in special_tokens")
            }
            return .special(ids: ids, typeId: try s["type_id"].flatMap { $0.isNull ? nil : try $0.int32() } ?? 0)
          }
          throw item.failure("{\"Sequence\": …} or {\"SpecialToken\": …}")
        }
      }
      let single = try template("single")
      let pair = try template("pair")
      // CLS / SEP: the special tokens around A in the single template ([CLS] A [SEP]).
      var cls: Int32? = nil
      var sep: Int32? = nil
      if single.count == 3, case .special(let first, _) = single[0],
        case .sequence = single[1], case .special(let last, _) = single[2]
      {
        cls = first.first
        sep = last.first
      }
      return (PostProcessor(single: single, pair: pair), cls, sep)
    case "ByteLevel":
      // Only adjusts offsets; ids are untouched.
      return (PostProcessor.none, nil, nil)
    case "Sequence":
      var result: (PostProcessor, cls: Int32?, sep: Int32?) = (PostProcessor.none, nil, nil)
      var found = false
      for item in try o.required("processors").array() {
        let step = try parsePostProcessor(item, tokenToId: tokenToId)
        if try item.object().type() == "ByteLevel" { continue }
        guard !found else {
          throw PhotonError(
            .unsupported, "\(file): \(o.path) chains two post-processors that add tokens")
        }
        result = step
        found = true
      }
      return result
    default:
      throw o.unsupported("post_processor", type)
    }
  }

  /// `["[CLS]", 101]`.
  private func parseSpecialPair(_ value: JSONValue) throws -> Int32 {
    let pair = try value.array()
    guard pair.count == 2 else { throw value.failure("a [token, id] pair") }
    return try pair[1].tokenId()
  }

  // MARK: Decoders

  func parseDecoder(_ value: JSONValue) throws -> TokenDecoder {
    let o = try value.object()
    let type = try o.type()
    switch type {
    case "WordPiece":
      return .wordPiece(
        prefix: try o.string("prefix", default: "##"), cleanup: try o.bool("cleanup", default: true)
      )
    case "ByteLevel": return .byteLevel
    case "Metaspace":
      let (replacement, scheme) = try parseMetaspace(o)
      return .metaspace(replacement: replacement, prependScheme: scheme)
    case "BPEDecoder":
      return .bpe(suffix: try o.string("suffix", default: "</w>"))
    case "Replace":
      return .replace(
        try parsePattern(o.required("pattern")), content: try o.required("content").string())
    case "Strip":
      let content = try o.string("content", default: " ")
      guard content.count == 1, let character = content.first else {
        throw PhotonError(.invalidFile, "\(file): \(o.path).content should be one character")
      }
      return .strip(
        content: character, start: try o.int("start", default: 0),
        stop: try o.int("stop", default: 0))
    case "Fuse": return .fuse
    case "ByteFallback": return .byteFallback
    case "Sequence":
      return .sequence(try o.required("decoders").array().map(parseDecoder))
    default:
      throw o.unsupported("decoder", type)
    }
  }
}
