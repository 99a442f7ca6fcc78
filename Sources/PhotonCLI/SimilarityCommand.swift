import ArgumentParser
import Foundation
import HeapModule
import Photon

struct SimilarityCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "similarity",
    abstract: "Embed the input texts and print their pairwise cosine similarities, most similar pairs first.")

  @OptionGroup var options: ModelOptions

  @Option(help: "Pairs to print (0 for all).")
  var top = 10

  /// All pairs (`--top 0`) are kept in memory and sorted: refused beyond this many.
  static let maxAllPairs = 10_000_000

  func validate() throws {
    if top < 0 { throw ValidationError("--top must be 0 (all pairs) or more, got \(top)") }
  }

  func run() throws {
    let texts = try options.readTexts()
    let pairCount = texts.count * max(texts.count - 1, 0) / 2
    if top == 0 && pairCount > Self.maxAllPairs {
      throw ValidationError(
        "--top 0 would keep all \(pairCount) pairs of \(texts.count) texts (at most \(Self.maxAllPairs)); pass --top N")
    }
    let started = Date()
    let embedder = try SentenceEmbedder(
      model: options.modelURL, backend: options.backendKind, maxLength: options.maxLength,
      precision: options.requestedPrecision)
    let loaded = Date()
    let embeddings = try embedder.embed(texts)
    let finished = Date()
    let pairs = mostSimilar(embeddings)
    print(
      "\(texts.count) texts on \(embedder.deviceName): load \(milliseconds(started, loaded)) ms, embed \(milliseconds(loaded, finished)) ms"
    )
    for (i, j, score) in pairs {
      print(String(format: "%.4f  ", score) + "\(clip(texts[i]))  ↔  \(clip(texts[j]))")
    }
  }

  /// The `--top` most similar pairs, most similar first: a bounded heap, so memory is O(top)
  /// however many texts come in (ties: the earlier pair first).
  private func mostSimilar(_ embeddings: [[Float]]) -> [(Int, Int, Float)] {
    let n = embeddings.count
    let pairCount = n * max(n - 1, 0) / 2
    let keep = top == 0 ? pairCount : top
    var heap = Heap<Pair>()  // the least similar kept pair on top, evicted first
    for i in 0..<n {
      for j in (i + 1)..<n {
        let pair = Pair(i: i, j: j, score: SentenceEmbedder.cosine(embeddings[i], embeddings[j]))
        if heap.count < keep {
          heap.insert(pair)
        } else if let worst = heap.min, worst < pair {
          heap.replaceMin(with: pair)
        }
      }
    }
    return heap.unordered.sorted { $1 < $0 }.map { ($0.i, $0.j, $0.score) }
  }

  /// Ordered by similarity; among equal scores the later pair counts as less similar.
  private struct Pair: Comparable {
    let i: Int
    let j: Int
    let score: Float
    static func < (a: Pair, b: Pair) -> Bool {
      a.score != b.score ? a.score < b.score : (a.i, a.j) > (b.i, b.j)
    }
  }

  private func clip(_ text: String) -> String {
    let flat = text.replacingOccurrences(of: "\n", with: " ")
    return flat.count > 48 ? String(flat.prefix(47)) + "…" : flat
  }

  private func milliseconds(_ a: Date, _ b: Date) -> String { String(format: "%.0f", b.timeIntervalSince(a) * 1000) }
}
