import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// Text generation with a decoder-only model (GPT-2, DistilGPT-2), like HF's `generate()`:
/// the prompt is run once (prefill) into a KV cache on the device, then one token per step —
/// each step uploads the new token id and reads back 4 bytes (greedy; argmax on the device) or
/// one row of logits (sampling, done on the host with a seeded generator). `generate`,
/// `generateResult`, `generateResults` and `stream` come from ``TextGenerating``.
///
/// ```swift
/// let generator = try TextGenerator(model: URL(fileURLWithPath: "Models/gpt2"), backend: .gpu)
/// print(try generator.generate(prompt: "Hello", options: .init(maxNewTokens: 20)))
/// for try await piece in generator.stream(prompt: "Hello") { print(piece, terminator: "") }
///
/// // Beside other models on one device, from async code:
/// let engine = try Engine(backend: .gpu)
/// let shared = try TextGenerator(model: URL(fileURLWithPath: "Models/gpt2"), engine: engine)
/// let text = try await shared.generate(prompt: "Hello", options: .init(maxNewTokens: 20))
/// ```
public final class TextGenerator: TextGenerating {
  /// The model folder.
  public let folder: ModelFolder
  /// The folder's tokenizer.
  public let tokenizer: Tokenizer
  /// The causal language model (e.g. `GPT2LMHeadModel`) on the engine's backend.
  public let model: any CausalLanguageModel
  /// `generation_config.json`, or HF's defaults.
  public let generationConfig: GenerationConfig
  /// The engine the model runs on.
  public let engine: Engine

  /// Loads the model at `model` onto `engine`, beside the engine's other pipelines.
  ///
  /// - Parameters:
  ///   - model: a GPT-2-type model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
  ///   - engine: the device (or CPU reference) and executor the model shares.
  ///   - precision: how the linear weights are stored on the backend (fp32, fp16 or int8): every
  ///     `Conv1D` and the LM head, whose copy of the tied `wte` is stored at this precision while
  ///     the embedding lookup table stays fp32. Decoding reads every weight once per token, so
  ///     fewer weight bytes mean faster steps. nil: the folder's own (fp32, or what
  ///     `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read or an unsupported model.
  public init(model: URL, engine: Engine, precision: Precision? = nil) throws {
    let folder = try ModelFolder(url: model)
    self.folder = folder
    self.engine = engine
    tokenizer = try Tokenizer.load(from: folder.url)
    self.model = try engine.run {
      try ModelRegistry.causalLanguageModel(folder: folder, backend: engine.backend, precision: precision)
    }
    generationConfig = try GenerationConfig.load(folder: folder.url) ?? GenerationConfig()
  }

  /// Loads the model at `model` onto an engine of its own.
  ///
  /// - Parameters:
  ///   - model: a GPT-2-type model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
  ///   - backend: `.cpu` (reference) or `.gpu` (OpenCL); by default `.gpu` when a device exists.
  ///   - precision: how the linear weights are stored on the backend (fp32, fp16 or int8): every
  ///     `Conv1D` and the LM head, whose copy of the tied `wte` is stored at this precision while
  ///     the embedding lookup table stays fp32. Decoding reads every weight once per token, so
  ///     fewer weight bytes mean faster steps. nil: the folder's own (fp32, or what
  ///     `photon quantize` wrote).
  /// - Throws: `PhotonError` for a folder that cannot be read, an unsupported model or no device.
  public convenience init(model: URL, backend: BackendKind = .preferred, precision: Precision? = nil) throws {
    try self.init(model: model, engine: Engine(backend: backend), precision: precision)
  }

  /// The context length (`n_positions`).
  public var contextLength: Int { model.contextLength }

  /// Token ids of `prompt` as the model sees them: no special tokens added (as HF's GPT-2
  /// tokenizer); an empty prompt starts from `bos_token_id`, as HF does.
  public func promptIds(_ prompt: String) throws -> [Int32] {
    let ids = tokenizer.encode(prompt, addSpecialTokens: false).ids
    if !ids.isEmpty { return ids }
    guard let bos = generationConfig.bosTokenID ?? model.bosTokenID else {
      throw PhotonError(.invalidInput, "empty prompt and no bos_token_id to start from")
    }
    return [Int32(bos)]
  }

  /// Generates a continuation of each row of prompt ids in one batch: the prompts are
  /// left-padded to the longest (each row keeps its own positions and masks its pads, so it
  /// produces what it would alone), every step runs all rows, and a row that reaches eos or a
  /// stop string stops growing while the others go on. Results are in input order.
  public func generate(
    ids prompts: [[Int32]], options: GenerationOptions,
    onText: (Int, String) throws -> Void = { _, _ in },
    onToken: (Int, Int32) throws -> Void = { _, _ in }
  ) throws -> [GenerationResult] {
    guard engine.isOnExecutor else {
      return try engine.run { try generate(ids: prompts, options: options, onText: onText, onToken: onToken) }
    }
    try options.validate()
    for ids in prompts where ids.count > contextLength {
      throw PhotonError(
        .invalidInput,
        "prompt of \(ids.count) tokens is longer than the model's context of \(contextLength) tokens (n_positions)"
      )
    }
    let longest = prompts.map(\.count).max() ?? 1
    let plan = DecodingPlan(
      options, config: generationConfig, tokensBefore: longest,
      room: contextLength - longest + 1, modelEOS: model.eosTokenID)
    let padding = prompts.map { longest - $0.count }
    // The k-th new token needs token k−1 fed at column longest + k − 2: the cache holds
    // longest + maxNew − 1 columns.
    let cache = try model.makeCache(
      batch: prompts.count, capacity: longest + plan.maxNewTokens - 1,
      leftPadding: padding.contains { $0 > 0 } ? padding : nil)
    // Pad columns are masked; any id in the vocabulary will do.
    let padId = Int32(generationConfig.padTokenID ?? model.padTokenID ?? 0)
    let longestStop = options.stopStrings.map(\.count).max() ?? 0
    let decoder = BatchDecoder(
      plan: plan, options: options, tokenizer: tokenizer, backend: model.backend,
      vocabularySize: model.vocabularySize, padId: padId)
    return try decoder.run(
      first: zip(prompts, padding).flatMap { [Int32](repeating: padId, count: $1) + $0 },
      // The penalty counts the prompt: HF penalises the whole sequence.
      seen: prompts.map { Set($0) },
      // HF matches stop strings against the whole sequence, so one may begin in the prompt and
      // end in a new token: the prompt's last characters (one fewer than the longest stop string).
      stopContexts: prompts.map { String(tokenizer.decode($0).suffix(max(0, longestStop - 1))) },
      step: { try model.nextTokenLogits(ids: $0, cache: cache) }, onText: onText,
      onToken: onToken)
  }
}
