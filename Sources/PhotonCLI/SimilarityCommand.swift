import ArgumentParser
import Foundation
import Photon

struct SimilarityCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "similarity",
    abstract: "Embed the input texts and print their pairwise cosine similarities, most similar pairs first.")

  @OptionGroup var options: ModelOptions

  @Option(help: "Pairs to print (0 for all).")
  var top = 10

  func run() throws {
    let texts = try options.readTexts()
    let started = Date()
    let embedder = try SentenceEmbedder(
      model: options.modelURL, backend: options.backendKind, maxLength: options.maxLength,
      precision: options.requestedPrecision)
    let loaded = Date()
    let embeddings = try embedder.embed(texts)
    let finished = Date()
    var pairs: [(Int, Int, Float)] = []
    for i in texts.indices {
      for j in texts.indices where j > i {
        pairs.append((i, j, SentenceEmbedder.cosine(embeddings[i], embeddings[j])))
      }
    }
    pairs.sort { $0.2 > $1.2 }
    print(
      "\(texts.count) texts on \(embedder.deviceName): load \(milliseconds(started, loaded)) ms, embed \(milliseconds(loaded, finished)) ms"
    )
    for (i, j, score) in top == 0 ? pairs[...] : pairs.prefix(top) {
      print(String(format: "%.4f  ", score) + "\(clip(texts[i]))  ↔  \(clip(texts[j]))")
    }
  }

  private func clip(_ text: String) -> String {
    let flat = text.replacingOccurrences(of: "\n", with: " ")
    return flat.count > 48 ? String(flat.prefix(47)) + "…" : flat
  }

  private func milliseconds(_ a: Date, _ b: Date) -> String { String(format: "%.0f", b.timeIntervalSince(a) * 1000) }
}
