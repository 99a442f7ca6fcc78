import Foundation
import Photon

extension GenerateCommand {
  /// `photon generate` on a T5 folder: the same output as for GPT-2 (streamed text, or one JSON
  /// line per `--jsonl` input), produced by ``Text2TextGenerator``.
  func runText2Text(model: URL, text: String?, options: GenerationOptions) async throws {
    let generator = try Text2TextGenerator(model: model, backend: backend ?? .preferred)
    if jsonl {
      for input in try ModelOptions.parse(["--jsonl"]).readTexts() {
        let result = try generator.generateResult(prompt: input, options: options)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let line = try encoder.encode(
          Output(generatedText: result.text, tokenIds: result.tokenIds))
        print(String(decoding: line, as: UTF8.self))
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
