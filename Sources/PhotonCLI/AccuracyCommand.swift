import ArgumentParser
import Foundation
import Photon

/// `photon accuracy`: the cost of a weight precision, measured against fp32 on the same backend.
struct AccuracyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "accuracy",
    abstract: "Compare embeddings at --precision with fp32 ones on the same backend (texts on stdin).",
    discussion: """
      Prints one JSON object: {"model", "backend", "precision", "texts", "min_cosine",
      "mean_cosine", "max_abs_diff"} over the pooled sentence embeddings.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Texts per batch.") var batchSize = 32

  func run() throws {
    let report = try EmbeddingAccuracy.measure(
      model: options.modelURL, precision: options.precision, backend: options.backendKind,
      maxLength: options.maxLength, texts: options.readTexts(), batchSize: batchSize)
    try printJSONLine(report)
  }
}
