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
}
