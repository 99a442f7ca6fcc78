import ArgumentParser

@main
struct PhotonCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "photon", abstract: "Run Hugging Face Transformer models on OpenCL devices.",
    subcommands: [DevicesCommand.self, BenchGEMMCommand.self])
}
