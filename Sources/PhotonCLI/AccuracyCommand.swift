import ArgumentParser
import Foundation
import Photon
import PhotonTools

/// `photon accuracy`: the cost of a weight precision, measured against fp32 on the same backend.
struct AccuracyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "accuracy",
    abstract:
      "Compare embeddings (texts on stdin) or GPT-2 generation (--generate) at --precision with fp32 on the same backend.",
    discussion: """
      Encoders: prints one JSON object {"model", "backend", "precision", "texts", "min_cosine",
      "mean_cosine", "max_abs_diff"} over the pooled sentence embeddings.

      --generate: a GPT-2 model (--model DIR, or --random-config gpt2-small with seeded random
      weights) generates --new-tokens greedy tokens from --prompts random prompts of --prompt-len
      ids, at fp32 and at --precision; prints one JSON object {"model", "backend", "precision",
      "prompts", "prompt_len", "new_tokens", "greedy_agreement" (free-running ids equal to fp32's),
      "tokens_before_divergence" (per prompt), "teacher_forced_top1_agreement" and "max_logit_diff"
      (fed fp32's ids: same prefixes), "max_abs_logit"}.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Texts per batch.") var batchSize = 32
  @Flag(help: "Compare GPT-2 generation instead of embeddings.") var generate = false
  @Option(
    help: "Random weights for a named config instead of --model: gpt2-small, gpt2-medium, distilgpt2 (--generate).")
  var randomConfig: String?
  @Option(help: "Seed of the random weights and prompts (--generate).") var seed: UInt64 = 0
  @Option(help: "Random prompts (--generate).") var prompts = 4
  @Option(help: "Ids per prompt (--generate).") var promptLen = 16
  @Option(help: "Greedy tokens per prompt (--generate).") var newTokens = 32

  func validate() throws {
    if randomConfig != nil && !generate { throw ValidationError("--random-config needs --generate") }
    if randomConfig != nil && options.model != nil {
      throw ValidationError("give --model or --random-config, not both")
    }
    guard prompts > 0, promptLen > 0, newTokens > 0 else {
      throw ValidationError("--prompts, --prompt-len and --new-tokens must be positive")
    }
  }

  func run() throws {
    if generate {
      let source: DecodeBenchmark.ModelSource
      if let randomConfig {
        source = .random(name: randomConfig, seed: seed)
      } else if let path = options.model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] {
        source = .folder(URL(fileURLWithPath: path))
      } else {
        throw ValidationError("--generate needs --model DIR (or $PHOTON_MODEL) or --random-config NAME")
      }
      let report = try GenerationAccuracy.measure(
        model: source, precision: options.precision, backend: options.backendKind, prompts: prompts,
        promptLength: promptLen, newTokens: newTokens, seed: seed)
      try printJSONLine(report)
      return
    }
    let report = try EmbeddingAccuracy.measure(
      model: options.modelURL, precision: options.precision, backend: options.backendKind,
      maxLength: options.maxLength, texts: options.readTexts(), batchSize: batchSize)
    try printJSONLine(report)
  }
}
