import Foundation
import PhotonCore

extension Tokenizer {
  /// Loads a tokenizer from a model folder or a `tokenizer.json` file.
  ///
  /// In a folder, `tokenizer.json` is used when present, otherwise `vocab.txt` as a BERT uncased
  /// WordPiece tokenizer (lowercasing, `[CLS] A [SEP]`; `do_lower_case` from
  /// `tokenizer_config.json` if given). `tokenizer_config.json` beside either file supplies
  /// `model_max_length` and the names of the special tokens.
  ///
  /// - Throws: `PhotonError(.invalidFile)` for a missing, unreadable or malformed file (naming the
  ///   file and the JSON key), `PhotonError(.unsupported)` for a component type Photon does not
  ///   implement (naming the type and its JSON path).
  public static func load(from url: URL) throws -> Tokenizer {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
      throw PhotonError(.invalidFile, "\(url.path): no such file or folder")
    }
    let folder = isDirectory.boolValue ? url : url.deletingLastPathComponent()
    let config = try TokenizerConfig(
      url: folder.appendingPathComponent("tokenizer_config.json"))
    var tokenizer: Tokenizer
    if isDirectory.boolValue {
      let json = url.appendingPathComponent("tokenizer.json")
      let vocab = url.appendingPathComponent("vocab.txt")
      if FileManager.default.fileExists(atPath: json.path) {
        tokenizer = try TokenizerJSON(url: json).makeTokenizer()
      } else if FileManager.default.fileExists(atPath: vocab.path) {
        tokenizer = try makeWordPiece(vocabFile: vocab, lowercase: config.doLowerCase ?? true)
      } else {
        throw PhotonError(.invalidFile, "\(url.path): neither tokenizer.json nor vocab.txt found")
      }
    } else if url.lastPathComponent == "vocab.txt" {
      tokenizer = try makeWordPiece(vocabFile: url, lowercase: config.doLowerCase ?? true)
    } else {
      tokenizer = try TokenizerJSON(url: url).makeTokenizer()
    }
    tokenizer.apply(config)
    return tokenizer
  }

  /// Parses `tokenizer.json` contents (`name` is used in error messages).
  public static func load(json data: Data, name: String = "tokenizer.json") throws -> Tokenizer {
    try TokenizerJSON(data: data, file: name).makeTokenizer()
  }

  /// A BERT WordPiece tokenizer from a `vocab.txt` (one token per line, id = line number).
  static func makeWordPiece(vocabFile: URL, lowercase: Bool) throws -> Tokenizer {
    let text: String
    do {
      text = try String(contentsOf: vocabFile, encoding: .utf8)
    } catch {
      throw PhotonError(.invalidFile, "\(vocabFile.path): cannot read", cause: error)
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    if lines.last == "" { lines.removeLast() }
    var vocab: [String: Int32] = [:]
    for (i, line) in lines.enumerated() where vocab[line] == nil { vocab[line] = Int32(i) }
    guard let unk = vocab["[UNK]"], let cls = vocab["[CLS]"], let sep = vocab["[SEP]"] else {
      throw PhotonError(.invalidFile, "\(vocabFile.path): [UNK], [CLS] or [SEP] missing")
    }
    let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { name in
      vocab[name].map {
        AddedToken(
          id: $0, content: Array(name.unicodeScalars), special: true, normalized: false,
          lstrip: false, rstrip: false, singleWord: false)
      }
    }
    var tokenizer = Tokenizer(
      normalizer: .bert(
        cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase: lowercase),
      preTokenizer: .bert,
      model: .wordPiece(
        WordPieceModel(
          vocab: vocab, unknownId: unk, continuingSubwordPrefix: "##", maxInputCharsPerWord: 100)),
      postProcessor: .bert(cls: cls, sep: sep),
      decoder: .wordPiece(prefix: "##", cleanup: true),
      rawAddedTokens: AddedTokenMatcher(specials),
      normalizedAddedTokens: AddedTokenMatcher([]),
      idToToken: lines, tokenToId: vocab, specialTokenIds: Set(specials.map(\.id)))
    tokenizer.unknownTokenId = unk
    tokenizer.clsTokenId = cls
    tokenizer.sepTokenId = sep
    tokenizer.padTokenId = vocab["[PAD]"]
    tokenizer.maskTokenId = vocab["[MASK]"]
    return tokenizer
  }

  init(
    normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: Model,
    postProcessor: PostProcessor, decoder: TokenDecoder?, rawAddedTokens: AddedTokenMatcher,
    normalizedAddedTokens: AddedTokenMatcher, idToToken: [String?], tokenToId: [String: Int32],
    specialTokenIds: Set<Int32>
  ) {
    self.normalizer = normalizer
    self.preTokenizer = preTokenizer
    self.model = model
    self.postProcessor = postProcessor
    self.decoder = decoder
    self.rawAddedTokens = rawAddedTokens
    self.normalizedAddedTokens = normalizedAddedTokens
    self.idToToken = idToToken
    self.tokenToId = tokenToId
    self.specialTokenIds = specialTokenIds
  }

  /// Special token names and `model_max_length` from `tokenizer_config.json`.
  mutating func apply(_ config: TokenizerConfig) {
    func id(_ name: String?) -> Int32? { name.flatMap { tokenToId[$0] } }
    padTokenId = id(config.padToken) ?? padTokenId
    unknownTokenId = id(config.unkToken) ?? unknownTokenId
    clsTokenId = id(config.clsToken) ?? clsTokenId
    sepTokenId = id(config.sepToken) ?? sepTokenId
    bosTokenId = id(config.bosToken) ?? bosTokenId
    eosTokenId = id(config.eosToken) ?? eosTokenId
    maskTokenId = id(config.maskToken) ?? maskTokenId
    modelMaxLength = config.modelMaxLength ?? modelMaxLength
  }
}

/// The parts of `tokenizer_config.json` a tokenizer needs. A missing file gives an empty config.
struct TokenizerConfig {
  var padToken, unkToken, clsToken, sepToken, bosToken, eosToken, maskToken: String?
  var modelMaxLength: Int?
  var doLowerCase: Bool?

  init(url: URL) throws {
    guard FileManager.default.fileExists(atPath: url.path) else { return }
    let root = try JSONValue.parse(url: url)
    let object = try root.object()
    func token(_ key: String) throws -> String? {
      guard let value = object[key], !value.isNull else { return nil }
      if let name = value.raw as? String { return name }
      return try value.object()["content"]?.string()
    }
    padToken = try token("pad_token")
    unkToken = try token("unk_token")
    clsToken = try token("cls_token")
    sepToken = try token("sep_token")
    bosToken = try token("bos_token")
    eosToken = try token("eos_token")
    maskToken = try token("mask_token")
    doLowerCase = try object["do_lower_case"]?.optionalBool()
    // 1e30 is transformers' "no limit" (VERY_LARGE_INTEGER).
    if let limit = try object["model_max_length"]?.optionalDouble(), limit >= 1,
      limit < Double(Int32.max)
    {
      modelMaxLength = Int(limit)
    }
  }
}
