import Foundation
import PhotonCore
import PhotonLoading
import PhotonTokenizers

/// How a generator decodes. Unset fields come from the model's `generation_config.json`
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

  /// Options with the given fields set; nil leaves a field to `generation_config.json`. Invalid
  /// values are reported by ``validate()``, which every generation calls first.
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
  /// Why generation stopped.
  public var finishReason: FinishReason
}

/// A text generator: ``TextGenerator`` (GPT-2) or ``Text2TextGenerator`` (T5). A model supplies
/// the two requirements — how a prompt becomes ids, and how a batch of id rows is decoded (GPT-2
/// left-pads, T5 right-pads and encodes once); one prompt, several prompts and streaming are
/// written once on top of them.
public protocol TextGenerating: Sendable {
  /// The engine the model runs on: every generation, streamed or not, runs on its executor.
  var engine: Engine { get }

  /// The token ids the model is given for `prompt`.
  func promptIds(_ prompt: String) throws -> [Int32]

  /// Generates for each row of prompt ids, all rows in one batch, on the engine's executor (the
  /// caller waits); results in row order. `onText` receives `(row, piece)` for each complete
  /// piece of a row's text as it is produced (never half a UTF-8 character), `onToken`
  /// `(row, id)` for each new id; both are called on the executor.
  func generate(
    ids: [[Int32]], options: GenerationOptions, onText: (Int, String) throws -> Void,
    onToken: (Int, Int32) throws -> Void
  ) throws -> [GenerationResult]
}

extension TextGenerating {
  /// Generates for `prompt` (a GPT-2 continuation, a T5 output) and returns its text.
  public func generate(prompt: String, options: GenerationOptions = GenerationOptions()) throws
    -> String
  {
    try generateResult(prompt: prompt, options: options).text
  }

  /// Generates for `prompt`; `onText` receives each complete piece of text as it is produced
  /// (never half a UTF-8 character), `onToken` each new id.
  public func generateResult(
    prompt: String, options: GenerationOptions = GenerationOptions(),
    onText: (String) throws -> Void = { _ in }, onToken: (Int32) throws -> Void = { _ in }
  ) throws -> GenerationResult {
    try generate(
      ids: [promptIds(prompt)], options: options, onText: { try onText($1) },
      onToken: { try onToken($1) })[0]
  }

  /// Generates for each prompt, all in one batch; returns the texts in input order.
  public func generate(prompts: [String], options: GenerationOptions = GenerationOptions()) throws
    -> [String]
  {
    try generateResults(prompts: prompts, options: options).map(\.text)
  }

  /// Generates for each prompt in one batch (how rows are padded: the model's
  /// `generate(ids:options:onText:onToken:)`): each row produces what it would alone, and a row
  /// that reaches eos or a stop string stops growing while the others go on. Results are in
  /// input order.
  public func generateResults(
    prompts: [String], options: GenerationOptions = GenerationOptions()
  ) throws -> [GenerationResult] {
    guard !prompts.isEmpty else { return [] }
    return try generate(
      ids: prompts.map(promptIds), options: options, onText: { _, _ in }, onToken: { _, _ in })
  }

  /// ``generate(prompt:options:)`` queued on the engine's executor; the calling task suspends
  /// without holding a thread until it is done.
  public func generate(prompt: String, options: GenerationOptions = GenerationOptions()) async throws
    -> String
  {
    try await engine.perform { try self.generate(prompt: prompt, options: options) }
  }

  /// ``generateResult(prompt:options:onText:onToken:)`` queued on the engine's executor; the
  /// calling task suspends without holding a thread until it is done. (For the pieces as they
  /// come, use ``stream(prompt:options:)``.)
  public func generateResult(prompt: String, options: GenerationOptions = GenerationOptions())
    async throws -> GenerationResult
  {
    try await engine.perform { try self.generateResult(prompt: prompt, options: options) }
  }

  /// ``generate(prompts:options:)`` queued on the engine's executor; the calling task suspends
  /// without holding a thread until it is done.
  public func generate(prompts: [String], options: GenerationOptions = GenerationOptions()) async throws
    -> [String]
  {
    try await engine.perform { try self.generate(prompts: prompts, options: options) }
  }

  /// ``generateResults(prompts:options:)`` queued on the engine's executor; the calling task
  /// suspends without holding a thread until it is done.
  public func generateResults(prompts: [String], options: GenerationOptions = GenerationOptions())
    async throws -> [GenerationResult]
  {
    try await engine.perform { try self.generateResults(prompts: prompts, options: options) }
  }

  /// The pieces of text of a generation as they are produced, for `for try await`. The decode
  /// loop runs on the engine's executor (not on Swift's cooperative pool, which it would block
  /// between tokens), queued behind the engine's other work; cancelling the consumer stops it at
  /// its next token.
  public func stream(prompt: String, options: GenerationOptions = GenerationOptions())
    -> AsyncThrowingStream<String, any Error>
  {
    AsyncThrowingStream { continuation in
      let cancelled = CancellationFlag()
      continuation.onTermination = { _ in cancelled.set() }
      engine.submit { [self] in
        do {
          _ = try generateResult(
            prompt: prompt, options: options,
            onText: { piece in
              try cancelled.check()
              continuation.yield(piece)
            },
            onToken: { _ in try cancelled.check() })
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
    }
  }
}

/// Set when a stream's consumer goes away; the decode loop on the executor checks it each token
/// (it runs outside any task, so `Task.checkCancellation()` would never fire).
final class CancellationFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var isSet = false

  func set() { lock.withLock { isSet = true } }

  /// Throws `CancellationError` once set.
  func check() throws {
    if lock.withLock({ isSet }) { throw CancellationError() }
  }
}

/// Options resolved against `generation_config.json` and the model's config.
struct DecodingPlan {
  var sample: Bool
  var temperature: Float
  var topK: Int
  var topP: Float
  var maxNewTokens: Int
  /// maxNewTokens was cut to fit the context.
  var clamped: Bool
  var eos: [Int32]

  /// - Parameters:
  ///   - tokensBefore: the tokens HF's `max_length` counts before the new ones.
  ///   - room: the most new tokens the model's context holds (nil: no limit).
  ///   - modelEOS: `eos_token_id` of `config.json`, used when `config` names none.
  init(
    _ options: GenerationOptions, config: GenerationConfig, tokensBefore: Int, room: Int?,
    modelEOS: Int?
  ) {
    let samplingFlag = options.temperature != nil || options.topK != nil || options.topP != nil
    temperature = options.temperature ?? config.temperature
    // Temperature 0 is greedy (HF would reject it with do_sample).
    sample = (options.doSample ?? (samplingFlag || config.doSample)) && temperature > 0
    topK = options.topK ?? config.topK
    topP = options.topP ?? config.topP
    let requested =
      options.maxNewTokens ?? config.maxNewTokens ?? max(1, config.maxLength - tokensBefore)
    maxNewTokens = min(requested, room ?? requested)
    clamped = requested > maxNewTokens
    eos = config.eosTokenIDs.map(Int32.init)
    if eos.isEmpty, let modelEOS { eos = [Int32(modelEOS)] }
  }
}

/// One row of a batched generation.
struct GenerationRow {
  var generated: [Int32] = []
  var detokenizer: StreamingDetokenizer
  var text = ""
  var reason: GenerationResult.FinishReason?
  var sampler: Sampler?
  /// Ids the repetition penalty applies to.
  var seen: Set<Int32>
  /// Text before the new text in which a stop string may begin.
  var stopContext: String

  /// Appends `token`; reports it and any complete text, and sets `reason` on eos or a stop string.
  mutating func append(
    _ token: Int32, eos: Set<Int32>, stopStrings: [String], onText: (String) throws -> Void,
    onToken: (Int32) throws -> Void
  ) throws {
    generated.append(token)
    seen.insert(token)
    try onToken(token)
    let piece = detokenizer.append(token)
    if !piece.isEmpty {
      text += piece
      try onText(piece)
    }
    if eos.contains(token) {
      reason = .eos
    } else if GenerationControls.containsStop(stopStrings, stopContext + text) {
      reason = .stop
    }
    if reason != nil { try flush(onText) }
  }

  /// Ends the row for `reason` (it ran out of tokens).
  mutating func finish(_ reason: GenerationResult.FinishReason, onText: (String) throws -> Void)
    throws
  {
    self.reason = reason
    try flush(onText)
  }

  /// Hands over the text the detokenizer still holds.
  private mutating func flush(_ onText: (String) throws -> Void) throws {
    let rest = detokenizer.finish()
    if !rest.isEmpty {
      text += rest
      try onText(rest)
    }
  }
}

/// The token-by-token loop both generators run over a batch, written once: each step feeds one
/// id per row to the model, picks every unfinished row's next token (argmax on the device when
/// greedy without a penalty; else on the host: penalty, then sampling or argmax) and appends it.
struct BatchDecoder {
  let plan: DecodingPlan
  let options: GenerationOptions
  let tokenizer: Tokenizer
  let backend: any Backend
  let vocabularySize: Int
  /// Fed to finished rows, which keep running (their tokens are ignored), as HF's padded batches do.
  let padId: Int32

  /// - Parameters:
  ///   - first: the ids of the first step, `[B, L]` flattened.
  ///   - seen: per row, the ids the repetition penalty starts from.
  ///   - stopContexts: per row, text before the new text in which a stop string may begin
  ///     (nil: none).
  ///   - step: the model: ids `[B, L]` (then `[B, 1]`) in, next-token logits `[B, V]` out.
  func run(
    first: [Int32], seen: [Set<Int32>], stopContexts: [String]? = nil,
    step: ([Int32]) throws -> Tensor, onText: (Int, String) throws -> Void,
    onToken: (Int, Int32) throws -> Void
  ) throws -> [GenerationResult] {
    let batch = seen.count
    let penalty = options.repetitionPenalty ?? 1
    var rows = seen.indices.map { r in
      GenerationRow(
        detokenizer: StreamingDetokenizer(tokenizer: tokenizer),
        sampler: plan.sample ? Sampler(plan: plan, seed: options.seed) : nil, seen: seen[r],
        stopContext: stopContexts?[r] ?? "")
    }
    var input = first
    let eos = Set(plan.eos)
    for _ in 0..<plan.maxNewTokens {
      let logits = try step(input)
      var next: [Int32]
      if !plan.sample && penalty == 1 {
        // Greedy: argmax on the device, 4 bytes per row back.
        next = try backend.ints(backend.argmax(logits))
      } else {
        let all = try backend.floats(logits)
        next = [Int32](repeating: padId, count: batch)
        for r in rows.indices where rows[r].reason == nil {
          var row = Array(all[(r * vocabularySize)..<((r + 1) * vocabularySize)])
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
        try rows[r].append(
          next[r], eos: eos, stopStrings: options.stopStrings, onText: { try onText(r, $0) },
          onToken: { try onToken(r, $0) })
      }
      if rows.allSatisfy({ $0.reason != nil }) { break }
      input = zip(next, rows).map { $1.reason == nil ? $0 : padId }
    }
    for r in rows.indices where rows[r].reason == nil {
      try rows[r].finish(plan.clamped ? .context : .length, onText: { try onText(r, $0) })
    }
    return rows.map {
      GenerationResult(text: $0.text, tokenIds: $0.generated, finishReason: $0.reason ?? .length)
    }
  }
}
