import ArgumentParser

@main
struct PhotonCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "photon", abstract: "Run Hugging Face Transformer models on OpenCL devices.",
    subcommands: [
      EmbedCommand.self, SimilarityCommand.self, TokenizeCommand.self, ClassifyCommand.self, FillMaskCommand.self,
      NERCommand.self, GenerateCommand.self,
      BenchCommand.self, AccuracyCommand.self, QuantizeCommand.self, TuneCommand.self, CheckCommand.self,
      DevicesCommand.self, BenchGEMMCommand.self,
    ])

  /// ArgumentParser's main, plus one check at the end that standard output took everything
  /// (`print` reports nothing: a full disk would otherwise exit 0 with the output lost).
  static func main() async {
    do {
      var command = try parseAsRoot()
      if var command = command as? any AsyncParsableCommand {
        try await command.run()
      } else {
        try command.run()
      }
      try StandardStreams.finish()
    } catch {
      exit(withError: error)
    }
  }
}
