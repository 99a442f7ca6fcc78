import Foundation
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
/// finishing on its own eos or stop string.
///
/// ```swift
/// let t5 = try Text2TextGenerator(model: URL(fileURLWithPath: "Models/t5-small"), backend: .gpu)
/// print(try t5.generate(prompt: "translate English to German: Hello", options: .init(maxNewTokens: 20)))
/// for try await piece in t5.stream(prompt: "summarize: …") { print(piece, terminator: "") }
/// let texts = try t5.generate(prompts: ["translate English to German: Hi", "summarize: …"])
/// ```
public final class Text2TextGenerator: Sendable {
  public let folder: ModelFolder
  public let tokenizer: Tokenizer
  public let model: T5ForConditionalGeneration
  /// `generation_config.json`, or HF's defaults.
  public let generationConfig: GenerationConfig

  /// - Parameters:
  ///   - model: a T5-type model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
  ///   - backend: `.cpu` (reference) or `.gpu` (OpenCL).
  ///   - precision: how every linear weight is stored (fp32, fp16, int8), the LM head included;
  ///     the embedding table, norms and relative position biases stay fp32. nil: the folder's
  ///     own (fp32, or what `photon quantize` wrote).
  public init(model: URL, backend: BackendKind = .preferred, precision: Precision? = nil) throws {
    folder = try ModelFolder(url: model)
    tokenizer = try Tokenizer.load(from: folder.url)
    self.model = try ModelRegistry.text2textModel(
      folder: folder, backend: backend.makeBackend(), precision: precision)
    generationConfig = try GenerationConfig.load(folder: folder.url) ?? GenerationConfig()
  }

  /// Whether the folder at `model` holds a text-to-text model (`model_type` t5), for callers that
  /// dispatch between this and ``TextGenerator``.
  public static func handles(model: URL) throws -> Bool {
    if case .t5 = try ModelFolder(url: model).config { return true }
    return false
  }

  /// The encoder's input ids: the tokenizer's, `</s>` appended (as HF's T5 tokenizer does).
  public func inputIds(_ text: String) -> [Int32] {
    tokenizer.encode(text, addSpecialTokens: true).ids
  }

  /// The first decoder token: `decoder_start_token_id` of `generation_config.json`, else of
  /// `config.json` (the pad token, 0, for T5).
  public var decoderStartTokenID: Int32 {
    Int32(generationConfig.decoderStartTokenID ?? model.config.decoderStartTokenID)
  }

  /// Generates the output text for `prompt`.
  public func generate(prompt: String, options: GenerationOptions = GenerationOptions()) throws
    -> String
  {
    try generateResult(prompt: prompt, options: options).text
  }

  /// Generates the output for `prompt`; `onText` receives each complete piece of text as it is
  /// produced (never half a UTF-8 character), `onToken` each new id.
  public func generateResult(
    prompt: String, options: GenerationOptions = GenerationOptions(),
    onText: (String) throws -> Void = { _ in }, onToken: (Int32) throws -> Void = { _ in }
  ) throws -> GenerationResult {
    try generate(
      ids: [inputIds(prompt)], options: options, onText: { try onText($1) },
      onToken: { try onToken($1) })[0]
  }

  /// Generates the output of each prompt, all in one batch; returns the texts in input order.
  public func generate(prompts: [String], options: GenerationOptions = GenerationOptions()) throws
    -> [String]
  {
    try generateResults(prompts: prompts, options: options).map(\.text)
  }

  /// Generates the output of each prompt in one batch: the inputs are right-padded to the
  /// longest and their pads masked in the encoder and in cross-attention (so each row produces
  /// what it would alone); every decoder step runs all rows from the same position, and a row
  /// that reaches eos or a stop string stops growing while the others go on (it is fed the pad
  /// token, as HF's generate does). Results are in input order.
  public func generateResults(
    prompts: [String], options: GenerationOptions = GenerationOptions()
  ) throws -> [GenerationResult] {
    guard !prompts.isEmpty else { return [] }
    return try generate(ids: prompts.map(inputIds), options: options)
  }

  /// One row of a batched generation.
  private struct Row {
    var generated: [Int32] = []
    var detokenizer: StreamingDetokenizer
    var text = ""
    var reason: GenerationResult.FinishReason?
    var sampler: Sampler?
    /// The decoder ids so far (start token included), for the repetition penalty: HF applies it
    /// to an encoder–decoder's decoder ids, not to the encoder's input.
    var seen: Set<Int32>
  }

  /// The decoding loop for a batch of encoder inputs (one row each).
  func generate(
    ids inputs: [[Int32]], options: GenerationOptions,
    onText: (Int, String) throws -> Void = { _, _ in },
    onToken: (Int, Int32) throws -> Void = { _, _ in }
  ) throws -> [GenerationResult] {
    try options.validate()
    let plan = decodingPlan(options)
    let backend = model.backend
    let batch = inputs.count
    let longest = max(1, inputs.map(\.count).max() ?? 1)
    let padId = Int32(generationConfig.padTokenID ?? model.config.padTokenID ?? 0)
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
    let penalty = options.repetitionPenalty ?? 1
    var rows = inputs.map { _ in
      Row(
        detokenizer: StreamingDetokenizer(tokenizer: tokenizer),
        sampler: plan.sample
          ? Sampler(temperature: plan.temperature, topK: plan.topK, topP: plan.topP, seed: options.seed)
          : nil,
        seen: [start])
    }
    var input = [Int32](repeating: start, count: batch)
    let eos = Set(plan.eos)
    let vocabulary = model.config.vocabSize
    for _ in 0..<plan.maxNewTokens {
      let logits = try model.nextTokenLogits(ids: input, cache: cache)
      var next: [Int32]
      if !plan.sample && penalty == 1 {
        // Greedy: argmax on the device, 4 bytes per row back.
        next = try backend.ints(backend.argmax(logits))
      } else {
        let all = try backend.floats(logits)
        next = [Int32](repeating: padId, count: batch)
        for r in rows.indices where rows[r].reason == nil {
          var row = Array(all[(r * vocabulary)..<((r + 1) * vocabulary)])
          if penalty != 1 {
            GenerationControls.applyRepetitionPenalty(penalty, to: &row, seen: rows[r].seen)
          }
          if var sampler = rows[r].sampler {
            next[r] = sampler.sample(row)
            rows[r].sampler = sampler
          } else {
            next[r] = GenerationControls.argmax(row)
          }
        }
      }
      for r in rows.indices where rows[r].reason == nil {
        let token = next[r]
        rows[r].generated.append(token)
        rows[r].seen.insert(token)
        try onToken(r, token)
        let piece = rows[r].detokenizer.append(token)
        if !piece.isEmpty {
          rows[r].text += piece
          try onText(r, piece)
        }
        if eos.contains(token) {
          rows[r].reason = .eos
        } else if GenerationControls.containsStop(options.stopStrings, rows[r].text) {
          rows[r].reason = .stop
        }
        if rows[r].reason != nil { try finish(&rows[r], r, onText) }
      }
      if rows.allSatisfy({ $0.reason != nil }) { break }
      // Finished rows keep running on the pad token (their tokens are ignored), as HF's do.
      input = zip(next, rows).map { $1.reason == nil ? $0 : padId }
    }
    for r in rows.indices where rows[r].reason == nil {
      rows[r].reason = .length
      try finish(&rows[r], r, onText)
    }
    return rows.map {
      GenerationResult(text: $0.text, tokenIds: $0.generated, finishReason: $0.reason ?? .length)
    }
  }

  /// Flushes a finished row's detokenizer.
  private func finish(_ row: inout Row, _ index: Int, _ onText: (Int, String) throws -> Void)
    throws
  {
    let rest = row.detokenizer.finish()
    if !rest.isEmpty {
      row.text += rest
      try onText(index, rest)
    }
  }

  /// The pieces of text of a generation as they are produced, for `for try await`.
  public func stream(prompt: String, options: GenerationOptions = GenerationOptions())
    -> AsyncThrowingStream<String, any Error>
  {
    textStream { [self] onText in _ = try generateResult(prompt: prompt, options: options, onText: onText) }
  }

  /// Options resolved against `generation_config.json`.
  struct Plan {
    var sample: Bool
    var temperature: Float
    var topK: Int
    var topP: Float
    var maxNewTokens: Int
    var eos: [Int32]
  }

  func decodingPlan(_ options: GenerationOptions) -> Plan {
    let config = generationConfig
    let samplingFlag = options.temperature != nil || options.topK != nil || options.topP != nil
    let temperature = options.temperature ?? config.temperature
    let sample = (options.doSample ?? (samplingFlag || config.doSample)) && temperature > 0
    // For an encoder–decoder, HF's max_length counts decoder tokens, the start token included.
    let maxNew = options.maxNewTokens ?? config.maxNewTokens ?? max(1, config.maxLength - 1)
    var eos = config.eosTokenIDs.map(Int32.init)
    if eos.isEmpty, let id = model.config.eosTokenID { eos = [Int32(id)] }
    return Plan(
      sample: sample, temperature: temperature, topK: options.topK ?? config.topK,
      topP: options.topP ?? config.topP, maxNewTokens: maxNew, eos: eos)
  }
}
