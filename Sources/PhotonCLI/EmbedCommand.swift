import ArgumentParser
import Foundation
import Photon

struct EmbedCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "embed",
    abstract: "Sentence embeddings: one JSON array of floats per input line, in order.")

  @OptionGroup var options: ModelOptions

  @Option(help: "Texts per forward pass.")
  var batchSize = 32

  func run() throws {
    let embedder = try SentenceEmbedder(
      model: options.modelURL, backend: options.backendKind, maxLength: options.maxLength,
      precision: options.requestedPrecision)
    for embedding in try embedder.embed(try options.readTexts(), batchSize: batchSize) {
      try printJSONLine(embedding)
    }
  }
}

struct TokenizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenize",
    abstract: "Token ids (special tokens included), truncated exactly as embed truncates.")

  @OptionGroup var options: ModelOptions

  func run() throws {
    // Tokenising needs no device: the CPU backend keeps start-up light.
    let embedder = try SentenceEmbedder(model: options.modelURL, backend: .cpu, maxLength: options.maxLength)
    for ids in embedder.tokenize(try options.readTexts()) { try printJSONLine(ids) }
  }
}

struct ClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify", abstract: "Text classification: one JSON array of {label, score} per text, best first.")

  @OptionGroup var options: ModelOptions

  @Option(help: "Labels per text (default 1; 0 for all).")
  var topK = 1

  @Option(help: "Texts per forward pass.")
  var batchSize = 32

  func run() throws {
    let classifier = try TextClassifier(
      model: options.modelURL, backend: options.backendKind, maxLength: options.maxLength,
      precision: options.requestedPrecision)
    for scores in try classifier.classify(try options.readTexts(), topK: topK == 0 ? nil : topK, batchSize: batchSize) {
      try printJSONLine(scores)
    }
  }
}

struct FillMaskCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fill-mask", abstract: "Top-k candidates for the mask token of each text, as JSON.")

  @OptionGroup var options: ModelOptions

  @Option(help: "Candidates per text.")
  var topK = 5

  func run() throws {
    let model = try FillMask(
      model: options.modelURL, backend: options.backendKind, maxLength: options.maxLength,
      precision: options.requestedPrecision)
    for predictions in try model.predict(try options.readTexts(), topK: topK) { try printJSONLine(predictions) }
  }
}

struct NERCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ner", abstract: "Token classification: one JSON array of entities per text.")

  @OptionGroup var options: ModelOptions

  func run() throws {
    let model = try TokenClassifier(
      model: options.modelURL, backend: options.backendKind, maxLength: options.maxLength,
      precision: options.requestedPrecision)
    for entities in try model.entities(try options.readTexts()) { try printJSONLine(entities) }
  }
}
