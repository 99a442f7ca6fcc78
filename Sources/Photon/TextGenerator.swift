import Foundation
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// How ``TextGenerator`` decodes. Unset fields come from the model's `generation_config.json`
/// (HF's defaults where it has none): greedy unless it says `do_sample`.
public struct GenerationOptions: Sendable, Equatable {
  /// New tokens at most (nil: `max_new_tokens`, else `max_length` minus the prompt, at least 1).
  /// Clamped so the sequence stays inside the model's context; ``GenerationResult/finishReason``
  /// says `.context` when that is what stopped it.
  public var maxNewTokens: Int?
  /// Softmax temperature (> 0 samples; 0 means greedy). Setting it turns sampling on.
  public var temperature: Float?
  /// Keep only the `topK` most likely tokens (0 disables). Setting it turns sampling on.
  public var topK: Int?
  /// Keep the smallest set of tokens whose probability reaches `topP`, in (0, 1]. Setting it turns
  /// sampling on.
  public var topP: Float?
  /// Seed of the sampler: the same seed gives the same tokens on `.cpu` and `.gpu`. nil: random.
  public var seed: UInt64?
  /// Force sampling on or off (nil: on when any sampling field is set, else the config's).
  public var doSample: Bool?
  /// HF's `repetition_penalty` (> 0; 1 or nil: none): before choosing each token, the logit of
  /// every token already in the sequence (prompt and generated) is divided by it when positive
  /// and multiplied by it when negative. Applies to greedy decoding too (the logits row is then
  /// read back instead of 4 bytes).
  public var repetitionPenalty: Float?
  /// Generation stops once the new text contains any of these (HF's `stop_strings`; the text
  /// returned still ends with it, and ``GenerationResult/finishReason`` is `.stop`).
  public var stopStrings: [String]

  public init(
    maxNewTokens: Int? = nil, temperature: Float? = nil, topK: Int? = nil, topP: Float? = nil,
    seed: UInt64? = nil, doSample: Bool? = nil, repetitionPenalty: Float? = nil,
    stopStrings: [String] = []
  ) {
    self.maxNewTokens = maxNewTokens
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.seed = seed
    self.doSample = doSample
    self.repetitionPenalty = repetitionPenalty
    self.stopStrings = stopStrings
  }

  /// Throws `.invalidArgument` for temperature < 0, top-p outside (0, 1], top-k < 0,
  /// max-new-tokens < 1, a repetition penalty that is not a positive number, an empty stop string.
  public func validate() throws {
    if let repetitionPenalty, !(repetitionPenalty > 0 && repetitionPenalty.isFinite) {
      throw PhotonError(
        .invalidArgument, "repetition penalty must be a positive number, got \(repetitionPenalty)")
    }
    if stopStrings.contains("") {
      throw PhotonError(.invalidArgument, "stop strings must not be empty")
    }
    if let temperature, !(temperature >= 0) {
      throw PhotonError(.invalidArgument, "temperature must be ≥ 0, got \(temperature)")
    }
    if let topP, !(topP > 0 && topP <= 1) {
      throw PhotonError(.invalidArgument, "top-p must be in (0, 1], got \(topP)")
    }
    if let topK, topK < 0 { throw PhotonError(.invalidArgument, "top-k must be ≥ 0, got \(topK)") }
    if let maxNewTokens, maxNewTokens < 1 {
      throw PhotonError(.invalidArgument, "max new tokens must be at least 1, got \(maxNewTokens)")
    }
  }
}

/// What one generation produced.
public struct GenerationResult: Sendable, Equatable {
  /// Why generation stopped.
  public enum FinishReason: String, Sendable, Equatable {
    /// An end-of-sequence token was generated (it is the last of ``tokenIds``).
    case eos
    /// `maxNewTokens` tokens were generated.
    case length
    /// The model's context (`n_positions`) is full; fewer than `maxNewTokens` were generated.
    case context
    /// The new text contains one of the stop strings (it ends the text or lies in its last token).
    case stop
  }

  /// The new text (special tokens left out; the prompt is not repeated).
  public var text: String
  /// The new token ids, special tokens (the final eos) included.
  public var tokenIds: [Int32]
  public var finishReason: FinishReason
}

/// Text generation with a decoder-only model (GPT-2, DistilGPT-2), like HF's `generate()`:
/// the prompt is run once (prefill) into a KV cache on the device, then one token per step —
/// each step uploads the new token id and reads back 4 bytes (greedy; argmax on the device) or
/// one row of logits (sampling, done on the host with a seeded generator).
///
/// ```swift
/// let generator = try TextGenerator(model: URL(fileURLWithPath: "Models/gpt2"), backend: .gpu)
/// print(try generator.generate(prompt: "Hello", options: .init(maxNewTokens: 20)))
/// for try await piece in generator.stream(prompt: "Hello") { print(piece, terminator: "") }
/// ```
public final class TextGenerator: Sendable {
  public let folder: ModelFolder
  public let tokenizer: Tokenizer
  public let model: GPT2LMHeadModel
  /// `generation_config.json`, or HF's defaults.
  public let generationConfig: GenerationConfig

  /// - Parameters:
  ///   - model: a GPT-2-type model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
  ///   - backend: `.cpu` (reference) or `.gpu` (OpenCL).
  ///   - precision: how the linear weights are stored on the backend (fp32, fp16 or int8): every
  ///     `Conv1D` and the LM head, whose copy of the tied `wte` is stored at this precision while
  ///     the embedding lookup table stays fp32. Decoding reads every weight once per token, so
  ///     fewer weight bytes mean faster steps. nil: the folder's own (fp32, or what
  ///     `photon quantize` wrote).
  public init(model: URL, backend: BackendKind = .preferred, precision: Precision? = nil) throws {
    folder = try ModelFolder(url: model)
    tokenizer = try Tokenizer.load(from: folder.url)
    self.model = try ModelRegistry.causalLanguageModel(
      folder: folder, backend: backend.makeBackend(), precision: precision)
    generationConfig = try GenerationConfig.load(folder: folder.url) ?? GenerationConfig()
  }

  /// The context length (`n_positions`).
  public var contextLength: Int { model.config.nPositions }

  /// Token ids of `prompt` as the model sees them: no special tokens added (as HF's GPT-2
  /// tokenizer); an empty prompt starts from `bos_token_id`, as HF does.
  public func promptIds(_ prompt: String) throws -> [Int32] {
    let ids = tokenizer.encode(prompt, addSpecialTokens: false).ids
    if !ids.isEmpty { return ids }
    guard let bos = generationConfig.bosTokenID ?? model.config.bosTokenID else {
      throw PhotonError(.invalidInput, "empty prompt and no bos_token_id to start from")
    }
    return [Int32(bos)]
  }

  /// Generates a continuation of `prompt` and returns its text.
  public func generate(prompt: String, options: GenerationOptions = GenerationOptions()) throws
    -> String
  {
    try generateResult(prompt: prompt, options: options).text
  }

  /// Generates a continuation of `prompt`; `onText` receives each complete piece of text as it is
  /// produced (never half a UTF-8 character), `onToken` each new id.
  public func generateResult(
    prompt: String, options: GenerationOptions = GenerationOptions(),
    onText: (String) throws -> Void = { _ in }, onToken: (Int32) throws -> Void = { _ in }
  ) throws -> GenerationResult {
    try generate(
      ids: [promptIds(prompt)], options: options, onText: { try onText($1) },
      onToken: { try onToken($1) })[0]
  }

  /// Generates a continuation of each prompt, all in one batch; returns the texts in input order.
  public func generate(prompts: [String], options: GenerationOptions = GenerationOptions()) throws
    -> [String]
  {
    try generateResults(prompts: prompts, options: options).map(\.text)
  }

  /// Generates a continuation of each prompt in one batch: the prompts are left-padded to the
  /// longest (each row keeps its own positions and masks its pads, so it produces what it would
  /// alone), every step runs all rows, and a row that reaches eos or a stop string stops growing
  /// while the others go on. Results are in input order.
  public func generateResults(
    prompts: [String], options: GenerationOptions = GenerationOptions()
  ) throws -> [GenerationResult] {
    guard !prompts.isEmpty else { return [] }
    return try generate(ids: prompts.map(promptIds), options: options)
  }

  /// One row of a batched generation.
  private struct Row {
    var prompt: [Int32]
    var generated: [Int32] = []
    var detokenizer: StreamingDetokenizer
    var text = ""
    var reason: GenerationResult.FinishReason?
    var sampler: Sampler?
    /// Ids already in the sequence, for the repetition penalty.
    var seen: Set<Int32>
    /// The prompt's last characters (one fewer than the longest stop string): HF matches stop
    /// strings against the whole sequence, so one may begin in the prompt and end in a new token.
    var promptTail = ""
  }

  /// The decoding loop for a batch of prompt ids (one row each).
  func generate(
    ids prompts: [[Int32]], options: GenerationOptions,
    onText: (Int, String) throws -> Void = { _, _ in },
    onToken: (Int, Int32) throws -> Void = { _, _ in }
  ) throws -> [GenerationResult] {
    try options.validate()
    for ids in prompts where ids.count > contextLength {
      throw PhotonError(
        .invalidInput,
        "prompt of \(ids.count) tokens is longer than the model's context of \(contextLength) tokens (n_positions)"
      )
    }
    let longest = prompts.map(\.count).max() ?? 1
    let plan = decodingPlan(options, promptLength: longest)
    let backend = model.backend
    let batch = prompts.count
    let padding = prompts.map { longest - $0.count }
    // The k-th new token needs token k−1 fed at column longest + k − 2: the cache holds
    // longest + maxNew − 1 columns.
    let cache = try model.makeCache(
      batch: batch, capacity: longest + plan.maxNewTokens - 1,
      leftPadding: padding.contains { $0 > 0 } ? padding : nil)
    // Pad columns are masked; any id in the vocabulary will do.
    let padId = Int32(generationConfig.padTokenID ?? model.config.padTokenID ?? 0)
    let penalty = options.repetitionPenalty ?? 1
    let longestStop = options.stopStrings.map(\.count).max() ?? 0
    var rows = prompts.map { ids in
      Row(
        prompt: ids, detokenizer: StreamingDetokenizer(tokenizer: tokenizer),
        sampler: plan.sample ? Sampler(options: plan, seed: options.seed) : nil,
        seen: Set(ids),
        promptTail: String(tokenizer.decode(ids).suffix(max(0, longestStop - 1))))
    }
    var input = zip(prompts, padding).flatMap { [Int32](repeating: padId, count: $1) + $0 }
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
          if penalty != 1 { applyRepetitionPenalty(penalty, to: &row, seen: rows[r].seen) }
          if var sampler = rows[r].sampler {
            next[r] = sampler.sample(row)
            rows[r].sampler = sampler
          } else {
            next[r] = Self.argmax(row)
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
        } else if Self.containsStop(options.stopStrings, rows[r].promptTail + rows[r].text) {
          rows[r].reason = .stop
        }
        if rows[r].reason != nil { try finish(&rows[r], r, onText) }
      }
      if rows.allSatisfy({ $0.reason != nil }) { break }
      // Finished rows keep running (their tokens are ignored), as HF's padded batches do.
      input = zip(next, rows).map { $1.reason == nil ? $0 : padId }
    }
    for r in rows.indices where rows[r].reason == nil {
      rows[r].reason = plan.clamped ? .context : .length
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

  /// Whether `text` (a prompt tail and the new text) contains a stop string.
  static func containsStop(_ stops: [String], _ text: String) -> Bool {
    GenerationControls.containsStop(stops, text)
  }

  /// HF's `RepetitionPenaltyLogitsProcessor`: each seen token's logit divided by `penalty` when
  /// positive, multiplied when negative.
  func applyRepetitionPenalty(_ penalty: Float, to logits: inout [Float], seen: Set<Int32>) {
    GenerationControls.applyRepetitionPenalty(penalty, to: &logits, seen: seen)
  }

  /// The first index of the largest value (as `torch.argmax` and the device's argmax).
  static func argmax(_ values: [Float]) -> Int32 { GenerationControls.argmax(values) }

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
    /// maxNewTokens was cut to fit the context.
    var clamped: Bool
    var eos: [Int32]
  }

  func decodingPlan(_ options: GenerationOptions, promptLength: Int) -> Plan {
    let config = generationConfig
    let samplingFlag = options.temperature != nil || options.topK != nil || options.topP != nil
    let temperature = options.temperature ?? config.temperature
    // Temperature 0 is greedy (HF would reject it with do_sample).
    let sample = (options.doSample ?? (samplingFlag || config.doSample)) && temperature > 0
    let requested =
      options.maxNewTokens ?? config.maxNewTokens ?? max(1, config.maxLength - promptLength)
    let room = contextLength - promptLength + 1
    var eos = config.eosTokenIDs.map(Int32.init)
    if eos.isEmpty, let id = model.config.eosTokenID { eos = [Int32(id)] }
    return Plan(
      sample: sample, temperature: temperature, topK: options.topK ?? config.topK,
      topP: options.topP ?? config.topP, maxNewTokens: min(requested, room),
      clamped: requested > room, eos: eos)
  }
}

/// Temperature, top-k and top-p sampling on the host, in HF's order (temperature, then top-k,
/// then top-p), from a seeded SplitMix64 generator so a seed reproduces the same tokens.
struct Sampler {
  let temperature: Double
  let topK: Int
  let topP: Double
  var random: SplitMix64

  init(options: TextGenerator.Plan, seed: UInt64?) {
    self.init(temperature: options.temperature, topK: options.topK, topP: options.topP, seed: seed)
  }

  /// Shared by every generator (GPT-2 and T5 sample the same way).
  init(temperature: Float, topK: Int, topP: Float, seed: UInt64?) {
    self.temperature = Double(temperature)
    self.topK = topK
    self.topP = Double(topP)
    var system = SystemRandomNumberGenerator()
    random = SplitMix64(seed: seed ?? system.next())
  }

  /// One id drawn from `softmax(logits / T)` restricted to the top-k / top-p candidates.
  mutating func sample(_ logits: [Float]) -> Int32 {
    var order = logits.indices.sorted {
      logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1)
    }
    if topK > 0 && topK < order.count { order.removeLast(order.count - topK) }
    let maximum = Double(logits[order[0]])
    var weights = order.map { Foundation.exp((Double(logits[$0]) - maximum) / temperature) }
    let total = weights.reduce(0, +)
    if topP < 1 {
      // Keep tokens until their cumulative probability reaches top-p (at least one).
      var cumulative = 0.0
      var keep = 0
      while keep < weights.count {
        cumulative += weights[keep] / total
        keep += 1
        if cumulative >= topP { break }
      }
      order.removeLast(order.count - keep)
      weights.removeLast(weights.count - keep)
    }
    let draw = Double(random.next() >> 11) / Double(1 << 53) * weights.reduce(0, +)
    var cumulative = 0.0
    for (index, weight) in weights.enumerated() {
      cumulative += weight
      if draw < cumulative { return Int32(order[index]) }
    }
    return Int32(order[order.count - 1])
  }
}

/// Runs a generation on a detached task and hands its text pieces to `for try await`; cancelling
/// the consumer cancels the generation at its next piece. Shared by every generator.
func textStream(
  _ generate: @escaping @Sendable (_ onText: (String) throws -> Void) throws -> Void
) -> AsyncThrowingStream<String, any Error> {
  AsyncThrowingStream { continuation in
    let task = Task.detached {
      do {
        try generate { piece in
          try Task.checkCancellation()
          continuation.yield(piece)
        }
        continuation.finish()
      } catch {
        continuation.finish(throwing: error)
      }
    }
    continuation.onTermination = { _ in task.cancel() }
  }
}
