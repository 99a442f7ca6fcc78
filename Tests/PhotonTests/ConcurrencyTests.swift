import Foundation
import Photon
import PhotonTestSupport
import Testing

/// One pipeline shared by many tasks at once gives each the answer it gets alone. These are the
/// tests scripts/sanitizers.sh runs under ThreadSanitizer (a data race fails the run), on the CPU
/// backend: PoCL's own threads are not instrumented, so a race there could not be told apart.
@Suite("Concurrency: pipelines called from many tasks")
struct ConcurrencyTests {
  static let tasks = 8

  /// Runs `body(i)` for i in 0..<tasks on a task group; results by i.
  static func concurrently<T: Sendable>(_ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
      for i in 0..<tasks { group.addTask { (i, try body(i)) } }
      var results = [T?](repeating: nil, count: tasks)
      for try await (i, value) in group { results[i] = value }
      return results.map { $0! }
    }
  }

  @Test func textGeneratorSharedByTasks() async throws {
    let generator = try TextGenerator(model: Fixtures.url("tiny-models/tiny-gpt2"), backend: .cpu)
    let prompts = ["the quick brown fox", "Attention lets", "Hello", "a b c d e f"]
    let options = GenerationOptions(maxNewTokens: 6)
    let alone = try prompts.map { try generator.generateResult(prompt: $0, options: options).tokenIds }
    let together = try await Self.concurrently { i in
      try generator.generateResult(prompt: prompts[i % prompts.count], options: options).tokenIds
    }
    for i in 0..<Self.tasks { #expect(together[i] == alone[i % prompts.count], "task \(i)") }
  }

  @Test func text2TextGeneratorSharedByTasks() async throws {
    let generator = try Text2TextGenerator(model: Fixtures.url("tiny-models/tiny-t5"), backend: .cpu)
    let prompts = ["translate English to German: hello", "summarize: the cat sat on the mat"]
    let options = GenerationOptions(maxNewTokens: 5)
    let alone = try prompts.map { try generator.generateResult(prompt: $0, options: options).tokenIds }
    let together = try await Self.concurrently { i in
      try generator.generateResult(prompt: prompts[i % prompts.count], options: options).tokenIds
    }
    for i in 0..<Self.tasks { #expect(together[i] == alone[i % prompts.count], "task \(i)") }
  }

  @Test func classifierSharedByTasks() async throws {
    let classifier = try TextClassifier(
      model: Fixtures.url("tiny-models/tiny-bert-classifier"), backend: .cpu)
    let texts = ["a good film", "terrible, awful", "it was fine I guess"]
    let alone = try await classifier.classify(texts, topK: nil)
    let together = try await Self.concurrently { _ in try classifier.classify(texts, topK: nil) }
    for result in together { #expect(result == alone) }
  }
}
