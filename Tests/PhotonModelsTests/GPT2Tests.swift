import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL
import PhotonTestSupport
import Testing

/// tiny-gpt2 (GPT2LMHeadModel) against transformers' logits and greedy generation, on both
/// backends: full-sequence logits, every greedy step's logits through the KV cache, the cache path
/// against a full recompute, and the GPU against the CPU reference step by step.
@Suite("GPT-2: Photon vs transformers, KV cache vs recompute, .gpu vs .cpu")
struct GPT2Tests {
  static let folderURL = Fixtures.url("tiny-models/tiny-gpt2")

  static func model(_ backend: any Backend) throws -> GPT2LMHeadModel {
    try ModelRegistry.causalLanguageModel(folder: ModelFolder(url: folderURL), backend: backend)
  }

  /// Greedy decoding through the cache: the prompt as one prefill, then one token per step.
  /// Returns the new ids and each step's logits `[V]`.
  static func greedy(_ model: GPT2LMHeadModel, prompt: [Int32], steps: Int) throws -> (
    [Int32], [[Float]]
  ) {
    let backend = model.backend
    let cache = try model.makeCache(capacity: prompt.count + steps)
    var ids: [Int32] = []
    var stepLogits: [[Float]] = []
    var input = prompt
    for _ in 0..<steps {
      let logits = try model.nextTokenLogits(ids: input, cache: cache)
      stepLogits.append(try backend.floats(logits))
      let next = try backend.ints(backend.argmax(logits))[0]
      ids.append(next)
      input = [next]
    }
    return (ids, stepLogits)
  }

  @Test func logitsMatchTransformers() throws {
    let reference = try Reference("tiny-models/tiny-gpt2/reference.json")
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      for (index, testCase) in reference.cases.enumerated() {
        let ids = int32s(testCase["input_ids"])
        let logits = try model.logits(ids: ids)
        #expect(logits.shape == [1, ids.count, model.config.vocabSize])
        let diff = expectClose(
          try backend.floats(logits), flatFloats(testCase["logits"]), atol: 1e-5,
          "\(backend.kind) case \(index) logits")
        print("tiny-gpt2 \(backend.kind) case \(index): logits max abs diff \(diff)")
      }
    }
  }

  @Test func greedyTenMatchesTransformersStepByStep() throws {
    let reference = try Reference("tiny-models/tiny-gpt2/reference.json")
    var perBackend: [BackendKind: [[[Float]]]] = [:]
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      for (index, testCase) in reference.cases.enumerated() {
        let prompt = int32s(testCase["input_ids"])
        let expected = int32s(testCase["greedy_10"])
        let referenceSteps = (testCase["greedy_10_step_logits"] as? [Any] ?? []).map(flatFloats)
        let (ids, steps) = try Self.greedy(model, prompt: prompt, steps: 10)
        #expect(prompt + ids == expected, "\(backend.kind) case \(index) greedy ids")
        var worst: Float = 0
        for (step, logits) in steps.enumerated() {
          worst = max(
            worst,
            expectClose(
              logits, referenceSteps[step], atol: 1e-4, "\(backend.kind) case \(index) step \(step)"
            ))
        }
        print("tiny-gpt2 \(backend.kind) case \(index): greedy step logits max abs diff \(worst)")
        perBackend[backend.kind, default: []].append(steps)
      }
    }
    // GPU vs CPU, per step.
    if let cpu = perBackend[.cpu], let gpu = perBackend[.gpu] {
      for (index, (c, g)) in zip(cpu, gpu).enumerated() {
        for step in c.indices {
          expectClose(g[step], c[step], atol: 1e-5, "case \(index) step \(step): gpu vs cpu")
        }
      }
    }
  }

  /// The KV-cache path equals recomputing the whole sequence at every step.
  @Test func cacheEqualsFullRecompute() throws {
    let reference = try Reference("tiny-models/tiny-gpt2/reference.json")
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      let testCase = try #require(reference.cases.last)
      let prompt = int32s(testCase["input_ids"])
      let (ids, steps) = try Self.greedy(model, prompt: prompt, steps: 6)
      let vocab = model.config.vocabSize
      for step in steps.indices {
        let sequence = prompt + ids.prefix(step)
        let full = try backend.floats(model.logits(ids: sequence))
        expectClose(
          steps[step], Array(full[((sequence.count - 1) * vocab)...]), atol: 1e-5,
          "\(backend.kind) step \(step): cache vs recompute")
      }
      // A prompt fed token by token (no prefill) gives the same logits as the prefill.
      let cache = try model.makeCache(capacity: prompt.count)
      var last: [Float] = []
      for id in prompt { last = try backend.floats(model.nextTokenLogits(ids: [id], cache: cache)) }
      expectClose(last, steps[0], atol: 1e-5, "\(backend.kind) token-by-token prompt vs prefill")
    }
  }

  @Test func batchedPrefillMatchesSingleRows() throws {
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      let rows: [[Int32]] = [[84, 297, 493, 474], [487, 12, 479, 1]]
      let cache = try model.makeCache(batch: 2, capacity: 6)
      let batched = try backend.floats(model.nextTokenLogits(ids: rows[0] + rows[1], cache: cache))
      let step = try backend.floats(model.nextTokenLogits(ids: [455, 319], cache: cache))
      let vocab = model.config.vocabSize
      for (r, row) in rows.enumerated() {
        let single = try backend.floats(model.logits(ids: row + [r == 0 ? 455 : 319]))
        expectClose(
          Array(batched[(r * vocab)..<((r + 1) * vocab)]), Array(single[(3 * vocab)..<(4 * vocab)]),
          atol: 1e-5,
          "\(backend.kind) row \(r) prefill")
        expectClose(
          Array(step[(r * vocab)..<((r + 1) * vocab)]), Array(single[(4 * vocab)...]), atol: 1e-5,
          "\(backend.kind) row \(r) step")
      }
    }
  }

  /// Decode steps reuse pooled buffers: after the first step, no new device allocations.
  @Test func decodeStepsAllocateNothingNew() throws {
    // A backend of its own: its pool's counter sees no other test's allocations.
    let backend = try OpenCLBackend(device: Backends.gpu.get().device)
    let model = try Self.model(backend)
    let cache = try model.makeCache(capacity: 20)
    var next = try backend.ints(
      backend.argmax(model.nextTokenLogits(ids: [84, 297, 493], cache: cache)))
    next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    let before = backend.pool.allocations
    for _ in 0..<8 {
      next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    }
    #expect(backend.pool.allocations == before, "device allocations during decode steps")
  }

  @Test func badInputIsATypedError() throws {
    let model = try Self.model(Backends.cpu)
    let tooLong = [Int32](repeating: 5, count: model.config.nPositions + 1)
    #expect {
      try model.logits(ids: tooLong)
    } throws: { error in
      let e = error as? PhotonError
      return e?.code == .invalidInput && e!.message.contains("\(tooLong.count)")
        && e!.message.contains("128")
    }
    #expect(throws: PhotonError.self) { try model.logits(ids: [600]) }
    #expect(throws: PhotonError.self) { try model.logits(ids: []) }
    let cache = try model.makeCache(capacity: 2)
    #expect(throws: PhotonError.self) { try model.nextTokenLogits(ids: [1, 2, 3], cache: cache) }
  }
}
