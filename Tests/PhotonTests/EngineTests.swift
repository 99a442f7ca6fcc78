import Dispatch
import Foundation
import PhotonOpenCL
import PhotonTestSupport
import Testing

@testable import Photon

/// One engine, many models and callers: pipelines on one engine share its backend, concurrent
/// callers each get the result they would get alone, and generation (streamed or not) runs on the
/// engine's executor, off Swift's cooperative pool.
@Suite("Engine: one device shared by many models and callers")
struct EngineTests {
  static let tinyBERT = Fixtures.url("tiny-models/tiny-bert")
  static let tinyGPT2 = Fixtures.url("tiny-models/tiny-gpt2")
  static let texts = [
    "A man is eating food.", "A cheetah chases its prey across a field.", "x",
    "The quick brown fox jumps over the lazy dog.", "Hello, world!", "Photon runs on OpenCL.",
    "Two models, one device.", "the the the the the the",
  ]
  static let prompts = [
    "the quick brown fox", "Hello", "Attention lets", "a", "Once upon a time", "1 2 3",
    "The engine", "x y",
  ]
  /// Greedy: the same ids on every run.
  static let greedy = GenerationOptions(maxNewTokens: 6, doSample: false)

  /// A caller's request: embed a few texts, or generate for a few prompts in one batch (batch
  /// sizes vary, so the engine sees several shapes at once).
  enum Request: Sendable {
    case embed([String])
    case generate([String])

    static func make(_ index: Int) -> Request {
      let start = index % 8
      let embedded = (0..<(index % 3 + 1)).map { EngineTests.texts[(start + $0) % EngineTests.texts.count] }
      let prompted = (0..<(index % 2 + 1)).map { EngineTests.prompts[(start + $0) % EngineTests.prompts.count] }
      return index.isMultiple(of: 2) ? .embed(embedded) : .generate(prompted)
    }
  }

  enum Outcome: Equatable, Sendable {
    case embeddings([[Float]])
    case ids([[Int32]])
  }

  /// The "Done when" test of issue 16: 64 tasks at once against one engine holding two models —
  /// half embedding, half generating (greedy), some through the async API and some through the
  /// blocking one — and every result equals the one the same request got alone, in sequence.
  @Test(arguments: BackendKind.allCases)
  func concurrentCallersGetTheSequentialResults(backend: BackendKind) async throws {
    let engine = try Engine(backend: backend)
    let embedder = try SentenceEmbedder(model: Self.tinyBERT, engine: engine)
    let generator = try TextGenerator(model: Self.tinyGPT2, engine: engine)

    @Sendable func answer(_ request: Request, async useAsync: Bool) async throws -> Outcome {
      switch (request, useAsync) {
      case (.embed(let texts), true): .embeddings(try await embedder.embed(texts))
      case (.embed(let texts), false): .embeddings(try blocking { try embedder.embed(texts) })
      case (.generate(let prompts), true):
        .ids(try await generator.generateResults(prompts: prompts, options: Self.greedy).map(\.tokenIds))
      case (.generate(let prompts), false):
        .ids(try blocking { try generator.generateResults(prompts: prompts, options: Self.greedy) }.map(\.tokenIds))
      }
    }

    let requests = (0..<64).map(Request.make)
    var sequential: [Outcome] = []
    for request in requests { sequential.append(try await answer(request, async: false)) }
    #expect(sequential.count == 64)

    let concurrent = try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
      for (index, request) in requests.enumerated() {
        // Three in four calls suspend; the rest block their thread, as a synchronous caller does.
        group.addTask { (index, try await answer(request, async: index % 4 != 3)) }
      }
      var outcomes = [Outcome?](repeating: nil, count: requests.count)
      for try await (index, outcome) in group { outcomes[index] = outcome }
      return outcomes
    }
    #expect(concurrent.compactMap { $0 }.count == 64)
    for index in requests.indices {
      #expect(concurrent[index] == sequential[index], "\(backend) request \(index): \(requests[index])")
    }
    // The generator really generated: greedy tiny-gpt2 gives 6 new ids per prompt.
    if case .ids(let ids) = sequential[1] { #expect(ids.allSatisfy { $0.count == 6 }) }
    if case .embeddings(let vectors) = sequential[0] { #expect(vectors[0].count == embedder.dimension) }
  }

  /// Pipelines made with one engine hold its one backend (for `.gpu`: one device, context, queue
  /// and buffer pool, which holds both models' weights); pipelines made with a backend kind get
  /// an engine of their own.
  @Test(arguments: BackendKind.allCases)
  func pipelinesOnOneEngineShareItsBackend(backend: BackendKind) throws {
    let engine = try Engine(backend: backend)
    #expect(engine.kind == backend)
    let pool = (engine.backend as? OpenCLBackend)?.pool
    let empty = pool?.inUseBytes ?? 0
    let embedder = try SentenceEmbedder(model: Self.tinyBERT, engine: engine)
    let oneModel = pool?.inUseBytes ?? 0
    let generator = try TextGenerator(model: Self.tinyGPT2, engine: engine)
    #expect(embedder.engine === engine && generator.engine === engine)
    #expect(embedder.pipeline.backend === engine.backend)
    #expect(generator.model.backend === engine.backend)
    #expect(embedder.deviceName == engine.deviceName)
    if backend == .gpu {
      // Both models' weights live in the engine's pool.
      #expect(oneModel > empty)
      #expect((pool?.inUseBytes ?? 0) > oneModel)
    }
    let alone = try TextGenerator(model: Self.tinyGPT2, backend: backend)
    #expect(alone.engine !== engine && alone.model.backend !== engine.backend)
  }

  /// Streaming runs its decode loop on the engine's executor: outside any Swift task (so it never
  /// blocks the cooperative pool), and two concurrent streams on one engine both finish with the
  /// text of a plain generation. So does the async `generateResult`.
  @Test func streamingDecodesOnTheEngineExecutor() async throws {
    let probe = try Probe(TextGenerator(model: Self.tinyGPT2, engine: Engine(backend: .cpu)))
    let expected = try blocking { try probe.base.generate(prompt: "Hello", options: Self.greedy) }
    #expect(!expected.isEmpty)
    probe.reset()

    let texts = try await withThrowingTaskGroup(of: String.self) { group in
      for _ in 0..<2 {
        group.addTask {
          var text = ""
          for try await piece in probe.stream(prompt: "Hello", options: Self.greedy) { text += piece }
          return text
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(texts == [expected, expected])
    let steps = probe.steps()
    #expect(steps.count == 12, "two streams of 6 tokens")
    #expect(steps.allSatisfy { $0.onExecutor && !$0.inTask })

    // The async entry points too: the task suspends, the executor decodes.
    probe.reset()
    #expect(try await probe.generateResult(prompt: "Hello", options: Self.greedy).text == expected)
    #expect(probe.steps().count == 6 && probe.steps().allSatisfy { $0.onExecutor && !$0.inTask })
  }

  /// A consumer that stops reading cancels the generation at its next token, and the engine is
  /// free for the next caller.
  @Test func cancellingAStreamStopsItsDecodeLoop() async throws {
    let probe = try Probe(TextGenerator(model: Self.tinyGPT2, engine: Engine(backend: .cpu)))
    // Hold the loop at its second token until the consumer has gone, so cancellation is seen
    // there, whatever the machine's speed.
    let consumerGone = DispatchSemaphore(value: 0)
    probe.hold(atToken: 2, until: consumerGone)
    let options = GenerationOptions(maxNewTokens: 40, doSample: false)
    do {
      // The iterator goes at the end of this scope, which ends the stream.
      for try await _ in probe.stream(prompt: "the quick brown fox", options: options) { break }
    }
    consumerGone.signal()
    // Queued behind the stream's job: when it returns, the cancelled loop has ended.
    let next = try await probe.base.generate(prompt: "Hello", options: Self.greedy)
    #expect(!next.isEmpty)
    let stepsOfStream = probe.steps().count
    #expect(stepsOfStream >= 1 && stepsOfStream <= 2, "the loop stopped after \(stepsOfStream) of 40 tokens")
  }

  /// A blocking call made from the executor itself (here from a generation's callback) runs
  /// inline instead of waiting for the executor it is running on.
  @Test func aNestedCallRunsInline() throws {
    let engine = try Engine(backend: .cpu)
    let embedder = try SentenceEmbedder(model: Self.tinyBERT, engine: engine)
    let generator = try TextGenerator(model: Self.tinyGPT2, engine: engine)
    let alone = try embedder.embed(["nested"])
    var nested: [[Float]] = []
    _ = try generator.generateResult(
      prompt: "Hello", options: Self.greedy,
      onToken: { _ in
        #expect(engine.isOnExecutor)
        nested = try embedder.embed(["nested"])
      })
    #expect(nested == alone)
    #expect(!engine.isOnExecutor)
  }
}

/// Runs `body` in a synchronous context: from async code, `blocking { try embedder.embed(texts) }`
/// calls the blocking `embed`, which the async overload would otherwise shadow.
func blocking<T>(_ body: () throws -> T) rethrows -> T { try body() }

/// A generator that records, at each new token, where its decode loop runs, and can hold the loop
/// at one token until a semaphore is signalled.
final class Probe: TextGenerating, @unchecked Sendable {
  struct Step {
    var onExecutor: Bool
    var inTask: Bool
  }

  let base: TextGenerator
  private let lock = NSLock()
  private var recorded: [Step] = []
  private var gate: (token: Int, semaphore: DispatchSemaphore)?

  init(_ base: TextGenerator) { self.base = base }

  var engine: Engine { base.engine }

  func promptIds(_ prompt: String) throws -> [Int32] { try base.promptIds(prompt) }

  func generate(
    ids: [[Int32]], options: GenerationOptions, onText: (Int, String) throws -> Void,
    onToken: (Int, Int32) throws -> Void
  ) throws -> [GenerationResult] {
    var tokens = 0
    return try base.generate(
      ids: ids, options: options, onText: onText,
      onToken: { row, id in
        tokens += 1
        let step = Step(onExecutor: engine.isOnExecutor, inTask: withUnsafeCurrentTask { $0 != nil })
        let gate = lock.withLock {
          recorded.append(step)
          return self.gate
        }
        if let gate, gate.token == tokens {
          // Bounded, so a broken test fails instead of hanging; long, because in a full parallel
          // run the consumer's task may wait minutes for a cooperative thread.
          _ = gate.semaphore.wait(timeout: .now() + 600)
        }
        try onToken(row, id)
      })
  }

  func steps() -> [Step] { lock.withLock { recorded } }
  func reset() { lock.withLock { recorded = [] } }
  func hold(atToken token: Int, until semaphore: DispatchSemaphore) {
    lock.withLock { gate = (token, semaphore) }
  }
}
