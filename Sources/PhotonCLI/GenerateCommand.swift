import ArgumentParser
import Foundation

import Photon

struct GenerateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Text generation (GPT-2, T5): streams the continuation of a prompt to standard output.",
    discussion: """
      The prompt comes from the argument, else from standard input (all of it). With --jsonl,
      standard input holds one JSON string per line and each prompt's result is written as one
      line {"generated_text": …, "token_ids": […]} (new tokens only, special tokens included in
      the ids), in input order. Without sampling flags, decoding follows the model's
      generation_config.json (greedy unless it samples), so output is comparable with HF generate().
      """)

  @Argument(help: "The prompt (default: standard input).")
  var prompt: String?

  @Option(help: "Model folder (default: $PHOTON_MODEL).")
  var model: String?

  @Option(help: "cpu (reference) or gpu (OpenCL; the device PHOTON_DEVICE names).")
  var backend: BackendKind?

  @Option(
    help:
      "Linear weights (the LM head's copy of the tied embeddings included) as fp32, fp16 or int8 (default: the folder's own: fp32, or what photon quantize wrote)."
  )
  var precision: Precision?

  @Option(help: "New tokens at most (default: generation_config.json, else HF's max_length 20).")
  var maxNewTokens: Int?

  @Option(help: "Sampling temperature (> 0 samples; 0 is greedy).")
  var temperature: Float?

  @Option(help: "Sample from the k most likely tokens (0: no limit).")
  var topK: Int?

  @Option(help: "Sample from the smallest set of tokens whose probability reaches p, in (0, 1].")
  var topP: Float?

  @Option(help: "Seed of the sampler (the same seed gives the same text on cpu and gpu).")
  var seed: UInt64?

  @Option(help: "HF's repetition_penalty (> 0; 1: none).")
  var repetitionPenalty: Float?

  @Option(help: "Stop once the new text contains this string (repeatable).")
  var stop: [String] = []

  @Flag(help: "Read one JSON string per input line; write one JSON object per prompt.")
  var jsonl = false

  @Option(help: "With --jsonl: prompts generated together in one batch (padded to the longest).")
  var batchSize = 8

  /// One `--jsonl` result line.
  struct Output: Encodable {
    var generatedText: String
    var tokenIds: [Int32]
    enum CodingKeys: String, CodingKey {
      case generatedText = "generated_text"
      case tokenIds = "token_ids"
    }
  }

  func run() async throws {
    guard let path = model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] else {
      throw ValidationError("--model DIR is required (or set PHOTON_MODEL)")
    }
    let options = GenerationOptions(
      maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
      repetitionPenalty: repetitionPenalty, stopStrings: stop)
    try options.validate()
    guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    // One path for both kinds: a T5 folder (model_type t5) gets the text-to-text generator.
    let url = URL(fileURLWithPath: path)
    let generator: any TextGenerating =
      try Text2TextGenerator.handles(model: url)
      ? try Text2TextGenerator(model: url, backend: backend ?? .preferred, precision: precision)
      : try TextGenerator(model: url, backend: backend ?? .preferred, precision: precision)
    if jsonl {
      // The shared reader of the other text commands: one JSON string per line.
      // Batches of --batch-size prompts (GPT-2 left-pads, T5 right-pads; rows finish
      // independently); output in input order.
      let texts = try ModelOptions.parse(["--jsonl"]).readTexts()
      // Sorted keys: generated_text, then token_ids, on every run.
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
      for start in stride(from: 0, to: texts.count, by: batchSize) {
        let chunk = Array(texts[start..<min(start + batchSize, texts.count)])
        for result in try await generator.generateResults(prompts: chunk, options: options) {
          let line = try encoder.encode(
            Output(generatedText: result.text, tokenIds: result.tokenIds))
          try StandardStreams.write(String(decoding: line, as: UTF8.self) + "\n")
        }
      }
      return
    }
    var text = prompt
    if text == nil {
      var input = String(decoding: try StandardStreams.readInput(), as: UTF8.self)
      if input.hasSuffix("\n") { input.removeLast() }
      text = input
    }
    for try await piece in generator.stream(prompt: text ?? "", options: options) {
      try StandardStreams.write(piece, flush: true)  // each piece as it comes
    }
    try StandardStreams.write("\n")
  }
}
