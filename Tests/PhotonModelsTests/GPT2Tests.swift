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
    try GPT2LMHeadModel(folder: ModelFolder(url: folderURL), backend: backend)
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

  /// A GPT-2 built from a config alone: seeded random weights with HF's initialisation, the same
  /// for a seed on both backends, another for another seed; it runs the cache path end to end.
  @Test func randomWeightsAreSeededAndRun() throws {
    let config = try GPT2Config.decode(
      Data(
        #"{"n_layer": 2, "n_embd": 32, "n_head": 4, "vocab_size": 97, "n_positions": 16, "bos_token_id": 0, "eos_token_id": 0}"#
          .utf8),
      file: "random")
    var perBackend: [[Float]] = []
    for backend in try Backends.all() {
      let model = try GPT2LMHeadModel(randomWeights: config, seed: 7, backend: backend)
      let (ids, steps) = try Self.greedy(model, prompt: [3, 50, 96, 0], steps: 4)
      #expect(ids.count == 4)
      let full = try backend.floats(model.logits(ids: [3, 50, 96, 0]))
      expectClose(steps[0], Array(full[(3 * 97)...]), atol: 1e-5, "\(backend.kind) prefill")
      perBackend.append(steps.flatMap { $0 })
    }
    expectClose(perBackend.last!, perBackend[0], atol: 1e-5, "gpu vs cpu, random weights")
    let again = try GPT2LMHeadModel(randomWeights: config, seed: 7, backend: Backends.cpu)
    let other = try GPT2LMHeadModel(randomWeights: config, seed: 8, backend: Backends.cpu)
    let a = try Backends.cpu.floats(again.logits(ids: [1, 2]))
    #expect(a == (try Backends.cpu.floats(again.logits(ids: [1, 2]))))
    #expect(a != (try Backends.cpu.floats(other.logits(ids: [1, 2]))))
    // HF's initialisation: wte ~ normal(0, 0.02); logits of a tied head stay small.
    #expect(a.allSatisfy { abs($0) < 1 })
  }

  /// A left-padded batch (rows of different lengths, per-row positions and masks) gives each row
  /// the logits it has alone, at the prefill and at every step, on both backends.
  @Test func leftPaddedBatchMatchesSingleRows() throws {
    let rows: [[Int32]] = [[84, 297, 493, 474, 12], [487, 12], [5, 6, 7]]
    let longest = 5
    let padding = rows.map { longest - $0.count }
    let feed: [[Int32]] = [[455, 319, 3], [1, 2, 530]]
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      let vocab = model.config.vocabSize
      let cache = try model.makeCache(batch: 3, capacity: longest + 2, leftPadding: padding)
      var batched = [
        try backend.floats(
          model.nextTokenLogits(
            ids: zip(rows, padding).flatMap { [Int32](repeating: 0, count: $1) + $0 }, cache: cache))
      ]
      for step in feed { batched.append(try backend.floats(model.nextTokenLogits(ids: step, cache: cache))) }
      for (r, row) in rows.enumerated() {
        let alone = try backend.floats(model.logits(ids: row + feed.map { $0[r] }))
        for (s, logits) in batched.enumerated() {
          let position = row.count - 1 + s
          expectClose(
            Array(logits[(r * vocab)..<((r + 1) * vocab)]),
            Array(alone[(position * vocab)..<((position + 1) * vocab)]), atol: 1e-5,
            "\(backend.kind) row \(r) step \(s)")
        }
      }
    }
  }

  /// The counters of a greedy decode step after warm-up: no buffer allocated, one small upload
  /// (the new ids; with padding also their positions, in the same transfer), one read-back of
  /// 4 bytes per row (the argmax) and that read as the one blocking wait.
  @Test(arguments: [nil, [0, 3]] as [[Int]?])
  func greedyDecodeStepCounters(padding: [Int]?) throws {
    // A device of its own: counters live on the device, and other tests run in parallel.
    let backend = try OpenCLBackend()
    let model = try Self.model(backend)
    let batch = padding?.count ?? 1
    let cache = try model.makeCache(batch: batch, capacity: 24, leftPadding: padding)
    var next = try backend.ints(
      backend.argmax(
        model.nextTokenLogits(
          ids: [Int32](repeating: 84, count: 4 * batch), cache: cache)))
    next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    for _ in 0..<6 {
      backend.resetCounters()
      next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
      let c = backend.counters
      #expect(c.bufferAllocations == 0, "allocations in a decode step")
      #expect(c.uploads == 1, "uploads in a decode step")
      // Grouped uploads align each group to the device's base address alignment.
      #expect(padding == nil ? c.bytesHostToDevice == 4 * batch : c.bytesHostToDevice <= 1024)
      #expect(c.readBacks == 1, "read-backs in a decode step")
      #expect(c.bytesDeviceToHost == 4 * batch)
      #expect(c.blockingWaits == 1)
    }
  }
}
