import Foundation
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// Text-to-text generation with T5 (`T5ForConditionalGeneration`), like HF's `generate()` for an
/// encoder–decoder: the input (with `</s>` appended by the tokenizer) is encoded once, the
/// cross-attention keys and values of every decoder layer are computed once and kept on the
/// device, then the decoder runs one token per step from `decoder_start_token_id` through its KV
/// cache — each step uploads the new token id and reads back 4 bytes (greedy; argmax on the
/// device) or one row of logits (sampling, on the host with a seeded generator).
///
/// ```swift
/// let t5 = try Text2TextGenerator(model: URL(fileURLWithPath: "Models/t5-small"), backend: .gpu)
/// print(try t5.generate(prompt: "translate English to German: Hello", options: .init(maxNewTokens: 20)))
/// for try await piece in t5.stream(prompt: "summarize: …") { print(piece, terminator: "") }
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
  public init(model: URL, backend: BackendKind = .preferred) throws {
    folder = try ModelFolder(url: model)
    tokenizer = try Tokenizer.load(from: folder.url)
    self.model = try ModelRegistry.text2textModel(folder: folder, backend: backend.makeBackend())
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
    try options.validate()
    let ids = inputIds(prompt)
    let plan = decodingPlan(options)
    var sampler = plan.sample ? Sampler(temperature: plan.temperature, topK: plan.topK, topP: plan.topP, seed: options.seed) : nil
    let backend = model.backend
    let encoded = try model.encode(
      EncoderBatch(
        ids: ids, attentionMask: [Int32](repeating: 1, count: ids.count), batchSize: 1,
        length: ids.count))
    // The k-th new token is predicted from decoder token k−1 (the start token first): the cache
    // holds maxNew positions.
    let cache = try model.makeCache(encoded: encoded, capacity: plan.maxNewTokens)
    var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
    var generated: [Int32] = []
    var text = ""
    var input = [decoderStartTokenID]
    var reason = GenerationResult.FinishReason.length
    let eos = Set(plan.eos)
    while generated.count < plan.maxNewTokens {
      let logits = try model.nextTokenLogits(ids: input, cache: cache)
      let next: Int32
      if var active = sampler {
        next = active.sample(try backend.floats(logits))
        sampler = active
      } else {
        next = try backend.ints(backend.argmax(logits))[0]
      }
      generated.append(next)
      try onToken(next)
      let piece = detokenizer.append(next)
      if !piece.isEmpty {
        text += piece
        try onText(piece)
      }
      if eos.contains(next) {
        reason = .eos
        break
      }
      input = [next]
    }
    let rest = detokenizer.finish()
    if !rest.isEmpty {
      text += rest
      try onText(rest)
    }
    return GenerationResult(text: text, tokenIds: generated, finishReason: reason)
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

