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

  public init(
    maxNewTokens: Int? = nil, temperature: Float? = nil, topK: Int? = nil, topP: Float? = nil,
    seed: UInt64? = nil, doSample: Bool? = nil
  ) {
    self.maxNewTokens = maxNewTokens
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.seed = seed
    self.doSample = doSample
  }

  /// Throws `.invalidArgument` for temperature < 0, top-p outside (0, 1], top-k < 0,
  /// max-new-tokens < 1.
  public func validate() throws {
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
  public init(model: URL, backend: BackendKind = .preferred) throws {
    folder = try ModelFolder(url: model)
    tokenizer = try Tokenizer.load(from: folder.url)
    self.model = try ModelRegistry.causalLanguageModel(
      folder: folder, backend: backend.makeBackend())
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
    try options.validate()
    let ids = try promptIds(prompt)
    guard ids.count <= contextLength else {
      throw PhotonError(
        .invalidInput,
        "prompt of \(ids.count) tokens is longer than the model's context of \(contextLength) tokens (n_positions)"
      )
    }
    let plan = decodingPlan(options, promptLength: ids.count)
    var sampler = plan.sample ? Sampler(options: plan, seed: options.seed) : nil
    let backend = model.backend
    // The k-th new token needs token k−1 fed at position prompt + k − 2: the cache holds
    // prompt + maxNew − 1 positions.
    let cache = try model.makeCache(capacity: ids.count + plan.maxNewTokens - 1)
    var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
    var generated: [Int32] = []
    var text = ""
    var input = ids
    var reason = GenerationResult.FinishReason.length
    let eos = Set(plan.eos)
    while generated.count < plan.maxNewTokens {
      let logits = try model.nextTokenLogits(ids: input, cache: cache)
      let next: Int32
      if var active = sampler {
        next = try active.sample(backend.floats(logits))
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
    if reason == .length && plan.clamped { reason = .context }
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
    AsyncThrowingStream { continuation in
      let task = Task.detached { [self] in
        do {
          _ = try generateResult(
            prompt: prompt, options: options,
            onText: { piece in
              try Task.checkCancellation()
              continuation.yield(piece)
            })
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
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
    temperature = Double(options.temperature)
    topK = options.topK
    topP = Double(options.topP)
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

/// SplitMix64: small, fast and the same on every platform, so seeds reproduce.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
