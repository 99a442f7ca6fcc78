import Photon
import Testing

/// Checks the GPT-2 and T5 generator tests share, written once over ``TextGenerating``.
enum GenerationChecks {
  /// Each row of a batch equals generating its prompt alone, in input order, for greedy
  /// decoding, the stop string `stop` and seeded penalised sampling.
  static func expectBatchRowsEqualAlone(
    _ generator: some TextGenerating, prompts: [String], stop: String, backend: BackendKind,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let settings: [GenerationOptions] = [
      .init(maxNewTokens: 10),
      .init(maxNewTokens: 10, stopStrings: [stop]),
      .init(maxNewTokens: 8, temperature: 0.9, topK: 30, seed: 5, repetitionPenalty: 1.2),
    ]
    for options in settings {
      let batch = try generator.generateResults(prompts: prompts, options: options)
      #expect(batch.count == prompts.count, sourceLocation: sourceLocation)
      for (prompt, result) in zip(prompts, batch) {
        let alone = try generator.generateResult(prompt: prompt, options: options)
        #expect(
          result == alone, "\(backend) '\(prompt)' \(options)", sourceLocation: sourceLocation)
      }
    }
  }

  /// The ids generated for `prompt` on `.cpu`, having checked that `.gpu` gives the same ones
  /// (seeded sampling draws the same tokens on both).
  static func idsOnBothBackends<Generator: TextGenerating>(
    _ load: (BackendKind) throws -> Generator, prompt: String, options: GenerationOptions,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> [Int32] {
    let cpu = try load(.cpu).generateResult(prompt: prompt, options: options)
    let gpu = try load(.gpu).generateResult(prompt: prompt, options: options)
    #expect(cpu.tokenIds == gpu.tokenIds, sourceLocation: sourceLocation)
    return cpu.tokenIds
  }

  /// Repetition penalties that are not positive numbers and an empty stop string are
  /// `.invalidArgument` errors.
  static func expectBadPenaltiesAndStopStringsRejected(
    _ generator: some TextGenerating, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let bad: [GenerationOptions] = [
      .init(repetitionPenalty: 0), .init(repetitionPenalty: -1.2), .init(repetitionPenalty: .nan),
      .init(repetitionPenalty: .infinity), .init(stopStrings: [""]),
    ]
    for options in bad {
      #expect(sourceLocation: sourceLocation) {
        try generator.generate(prompt: "fox", options: options)
      } throws: { ($0 as? PhotonError)?.code == .invalidArgument }
    }
  }
}
