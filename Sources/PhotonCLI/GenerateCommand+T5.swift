import Foundation
import Photon

extension GenerateCommand {
  /// `photon generate` on a T5 folder: the same output as for GPT-2 (streamed text, or one JSON
  /// line per `--jsonl` input, run in batches of `--batch-size`), produced by ``Text2TextGenerator``.
  /// `precision` applies to every linear weight of T5 (the tied LM head's copy included).
  func runText2Text(
    model: URL, text: String?, options: GenerationOptions, precision: Precision? = nil
  ) async throws {
    let generator = try Text2TextGenerator(
      model: model, backend: backend ?? .preferred, precision: precision)
    if jsonl {
      // Batches of --batch-size prompts (right-padded; rows finish independently), in order.
      let texts = try ModelOptions.parse(["--jsonl"]).readTexts()
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
      for start in stride(from: 0, to: texts.count, by: batchSize) {
        let chunk = Array(texts[start..<min(start + batchSize, texts.count)])
        for result in try generator.generateResults(prompts: chunk, options: options) {
          let line = try encoder.encode(
            Output(generatedText: result.text, tokenIds: result.tokenIds))
          print(String(decoding: line, as: UTF8.self))
        }
      }
      return
    }
    var prompt = text
    if prompt == nil {
      var input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
      if input.hasSuffix("\n") { input.removeLast() }
      prompt = input
    }
    for try await piece in generator.stream(prompt: prompt ?? "", options: options) {
      FileHandle.standardOutput.write(Data(piece.utf8))
    }
    FileHandle.standardOutput.write(Data("\n".utf8))
  }
}
