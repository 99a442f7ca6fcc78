import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// Text-to-text generation with T5 (`T5ForConditionalGeneration`), like HF's `generate()` for an
/// encoder–decoder: the input (with `</s>` appended by the tokenizer) is encoded once, the
/// cross-attention keys and values of every decoder layer are computed once and kept on the
/// device, then the decoder runs one token per step from `decoder_start_token_id` through its KV
/// cache — each step uploads the new token id and reads back 4 bytes (greedy; argmax on the
/// device) or one row of logits (sampling or a repetition penalty, on the host with a seeded
/// generator). Several inputs run as one batch (``generateResults(prompts:options:)``), each row
/// finishing on its own eos or stop string. `generate`, `generateResult`, `generateResults` and
/// `stream` come from ``TextGenerating``.
///
/// ```swift
/// let t5 = try Text2TextGenerator(model: URL(fileURLWithPath: "Models/t5-small"), backend: .gpu)
/// print(try t5.generate(prompt: "translate English to German: Hello", options: .init(maxNewTokens: 20)))
/// for try await piece in t5.stream(prompt: "summarize: …") { print(piece, terminator: "") }
/// let texts = try t5.generate(prompts: ["translate English to German: Hi", "summarize: …"])
/// ```
public final class Text2TextGenerator: TextGenerating {
  /// The model folder.
  public let folder: ModelFolder
  /// The folder's tokenizer.
  public let tokenizer: Tokenizer
  /// The text-to-text model (e.g. `T5ForConditionalGeneration`) on the engine's backend.
  public let model: any Text2TextModel
  /// `generation_config.json`, or HF's defaults.
  public let generationConfig: GenerationConfig
  /// The engine the model runs on.
  public let engine: Engine

  /// Loads the model at `model` onto `engine`, beside the engine's other pipelines.
  ///
  /// - Parameters:
  ///   - model: a T5-type model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
  ///   - engine: the device (or CPU reference) and executor the model shares.
  ///   - precision: how every linear weight is stored (fp32, fp16, int8), the LM head included;
  ///     the embedding table, norms and relative position biases stay fp32. nil: the folder's
  ///     own (fp32, or what `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read or an unsupported model.
  public init(model: URL, engine: Engine, precision: Precision? = nil) throws {
    let folder = try ModelFolder(url: model)
    self.folder = folder
    self.engine = engine
    tokenizer = try Tokenizer.load(from: folder.url)
    self.model = try engine.run {
      try ModelRegistry.text2textModel(folder: folder, backend: engine.backend, precision: precision)
    }
    generationConfig = try GenerationConfig.load(folder: folder.url) ?? GenerationConfig()
  }

  /// Loads the model at `model` onto an engine of its own.
  ///
  /// - Parameters:
  ///   - model: a T5-type model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
  ///   - backend: `.cpu` (reference) or `.gpu` (OpenCL); by default `.gpu` when a device exists.
  ///   - precision: how every linear weight is stored (fp32, fp16, int8), the LM head included;
  ///     the embedding table, norms and relative position biases stay fp32. nil: the folder's
  ///     own (fp32, or what `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read, an unsupported model or no device.
  public convenience init(model: URL, backend: BackendKind = .preferred, precision: Precision? = nil) throws {
    try self.init(model: model, engine: Engine(backend: backend), precision: precision)
  }

  /// Whether the folder at `model` holds a text-to-text model (its architecture has a text-to-text
  /// head in the model registry), for callers that dispatch between this and ``TextGenerator``.
  public static func handles(model: URL) throws -> Bool {
    let folder = try ModelFolder(url: model)
    return try ModelRegistry.architecture(for: folder).heads.contains(.text2text)
  }

  /// The encoder's input ids: the tokenizer's, `</s>` appended (as HF's T5 tokenizer does).
  public func inputIds(_ text: String) -> [Int32] {
    tokenizer.encode(text, addSpecialTokens: true).ids
  }

  /// The first decoder token: `decoder_start_token_id` of `generation_config.json`, else of
  /// `config.json` (the pad token, 0, for T5).
  public var decoderStartTokenID: Int32 {
    Int32(generationConfig.decoderStartTokenID ?? model.decoderStartTokenID)
  }

  /// The prompt's ids for ``TextGenerating``: the encoder's input ids (``inputIds(_:)``).
  public func promptIds(_ prompt: String) -> [Int32] { inputIds(prompt) }

  /// Generates the output of each row of encoder input ids in one batch: the inputs are
  /// right-padded to the longest and their pads masked in the encoder and in cross-attention (so
  /// each row produces what it would alone); every decoder step runs all rows from the same
  /// position, and a row that reaches eos or a stop string stops growing while the others go on
  /// (it is fed the pad token, as HF's generate does). Results are in input order.
  public func generate(
    ids inputs: [[Int32]], options: GenerationOptions,
    onText: (Int, String) throws -> Void = { _, _ in },
    onToken: (Int, Int32) throws -> Void = { _, _ in }
  ) throws -> [GenerationResult] {
    guard engine.isOnExecutor else {
      return try engine.run { try generate(ids: inputs, options: options, onText: onText, onToken: onToken) }
    }
    try options.validate()
    // For an encoder–decoder, HF's max_length counts decoder tokens, the start token included.
    let plan = DecodingPlan(
      options, config: generationConfig, tokensBefore: 1, room: nil,
      modelEOS: model.eosTokenID)
    let batch = inputs.count
    let longest = max(1, inputs.map(\.count).max() ?? 1)
    let padId = Int32(generationConfig.padTokenID ?? model.padTokenID ?? 0)
    // Right padding: T5 has no absolute positions, and the masked pads change nothing for the
    // real tokens.
    var encoderIds: [Int32] = []
    var mask: [Int32] = []
    for ids in inputs {
      let pad = longest - ids.count
      encoderIds += ids + [Int32](repeating: padId, count: pad)
      mask += [Int32](repeating: 1, count: ids.count) + [Int32](repeating: 0, count: pad)
    }
    let encoded = try model.encode(
      EncoderBatch(ids: encoderIds, attentionMask: mask, batchSize: batch, length: longest))
    // The k-th new token is predicted from decoder token k−1 (the start token first): the cache
    // holds maxNew positions.
    let cache = try model.makeCache(encoded: encoded, capacity: plan.maxNewTokens)
    let start = decoderStartTokenID
    let decoder = BatchDecoder(
      plan: plan, options: options, tokenizer: tokenizer, backend: model.backend,
      vocabularySize: model.vocabularySize, padId: padId)
    return try decoder.run(
      first: [Int32](repeating: start, count: batch),
      // The decoder ids so far (start token included): HF applies the repetition penalty to an
      // encoder–decoder's decoder ids, not to the encoder's input.
      seen: [Set<Int32>](repeating: [start], count: batch),
      step: { try model.nextTokenLogits(ids: $0, cache: cache) }, onText: onText,
      onToken: onToken)
  }
}
