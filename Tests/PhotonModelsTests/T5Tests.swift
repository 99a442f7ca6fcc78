import Foundation
import PhotonCore
import PhotonLoading
@testable import PhotonModels
import PhotonOpenCL
import PhotonTestSupport
import Testing

/// tiny-t5 (T5ForConditionalGeneration) against transformers, on both backends: encoder states,
/// teacher-forced logits, every greedy step's logits through the decoder's KV cache, the padded
/// batch, the cache path against a full recompute, the GPU against the CPU step by step, and both
/// against transformers recomputed in float64.
///
/// Tolerances, measured (Tests/Fixtures/make_t5_generation.py recomputes the cases in float64;
/// t5_float64_analysis.py there prints the per-module and per-machine figures below):
/// tiny-t5's projection weights were multiplied by 3 (so that greedy decoding depends on the
/// input), which makes T5's unscaled attention scores large (|q·k| up to 33 in encoder layer 0,
/// softmax peaks of 0.9999) and amplifies fp32 rounding about 250× from the embeddings to the
/// logits; per layer, transformers' own fp32 error jumps at attention (encoder layer 0: q, k, v
/// within 3.4e-6 of float64, the softmax-weighted context 1.6e-5), RMS norms shrink it (the
/// decoder's final norm takes 4.3e-4 down to 2.8e-5) and the FFNs roughly double it. transformers' own fp32 fixture is 0.8–1.7e-5 (encoder states), 3.0–3.7e-5 (logits) and
/// 1.4–2.5e-5 (greedy step logits) away from its float64 result; the same transformers on this
/// machine differs from the fixture by up to 7e-6 (states) and 1.4e-5 (logits), and the fixture's
/// 6-significant-digit rounding alone is up to 5e-6. Photon's fp32 error against float64 is of the
/// same size (CPU: states ≤ 1.2e-5, logits ≤ 2.8e-5, steps ≤ 3.5e-5; GPU: ≤ 1.5e-5, 5.4e-5,
/// 2.4e-5), smaller than transformers' (recomputed here) in 11 of the 18 comparisons and at most
/// 1.6× it. Two fp32 computations that are each that far from the truth cannot agree to 1e-5
/// unless they round identically (the same GEMM summation order as transformers' CPU kernels), so
/// the issue's 1e-5 is not reachable honestly; the tests hold: vs the fixture, states 3e-5
/// (measured ≤ 2.2e-5) and logits, teacher-forced and greedy steps, 5e-5 (measured ≤ 3.9e-5); vs
/// float64, at most twice transformers' own error on the same case; GPU vs CPU 8e-5 (measured
/// ≤ 4.2e-5); the KV cache vs a recompute on the same backend 1e-5. The printed max-abs figures are the record.
@Suite("T5: Photon vs transformers, KV cache vs recompute, .gpu vs .cpu")
struct T5Tests {
  static let folderURL = Fixtures.url("tiny-models/tiny-t5")

  static func model(_ backend: any Backend) throws -> T5ForConditionalGeneration {
    try T5ForConditionalGeneration(folder: ModelFolder(url: folderURL), backend: backend)
  }

  /// Greedy decoding through the cache from the start token: one token per step, rows that
  /// produced eos continue with the pad token (as HF's generate does for a batch). Returns
  /// the ids `[B][1 + steps]` (start token first) and each step's logits `[B·V]`.
  static func greedy(
    _ model: T5ForConditionalGeneration, _ batch: EncoderBatch, steps: Int
  ) throws -> ([[Int32]], [[Float]]) {
    let backend = model.backend
    let cache = try model.makeCache(encoded: model.encode(batch), capacity: steps)
    let start = Int32(model.config.decoderStartTokenID)
    let (eos, pad) = (Int32(model.config.eosTokenID ?? 1), Int32(model.config.padTokenID ?? 0))
    var rows = [[Int32]](repeating: [start], count: batch.batchSize)
    var stepLogits: [[Float]] = []
    for _ in 0..<steps {
      let logits = try model.nextTokenLogits(ids: rows.map { $0.last! }, cache: cache)
      stepLogits.append(try backend.floats(logits))
      let next = try backend.ints(backend.argmax(logits))
      for r in rows.indices {
        let done =
          rows[r].count > 1 && (rows[r].last == eos || rows[r].last == pad && rows[r].dropFirst().contains(eos))
        rows[r].append(done ? pad : next[r])
      }
    }
    return (rows, stepLogits)
  }

  @Test func encoderStatesMatchTransformers() throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      for (index, testCase) in reference.cases.enumerated() {
        let encoded = try model.encode(singleBatch(testCase))
        let diff = expectClose(
          try backend.floats(encoded.lastHiddenState),
          flatFloats(testCase["encoder_last_hidden_state"]), atol: 3e-5,
          "\(backend.kind) case \(index) encoder states")
        print("tiny-t5 \(backend.kind) case \(index): encoder max abs diff \(diff)")
      }
      // T5EncoderModel alone, from the same folder.
      let encoderOnly = try T5EncoderModel(
        folder: ModelFolder(url: Self.folderURL), backend: backend)
      let first = try #require(reference.cases.first)
      expectClose(
        try backend.floats(encoderOnly.forward(singleBatch(first)).lastHiddenState),
        flatFloats(first["encoder_last_hidden_state"]), atol: 3e-5,
        "\(backend.kind) T5EncoderModel")
    }
  }

  @Test func teacherForcedLogitsMatchTransformers() throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      for (index, testCase) in reference.cases.enumerated() {
        let decoderIds = int32s(testCase["decoder_input_ids"])
        let logits = try model.logits(singleBatch(testCase), decoderIds: decoderIds)
        #expect(logits.shape == [1, decoderIds.count, model.config.vocabSize])
        let diff = expectClose(
          try backend.floats(logits), flatFloats(testCase["logits"]), atol: 5e-5,
          "\(backend.kind) case \(index) logits")
        print("tiny-t5 \(backend.kind) case \(index): teacher-forced logits max abs diff \(diff)")
      }
    }
  }

  @Test func greedyTenMatchesTransformersStepByStep() throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    var perBackend: [BackendKind: [[[Float]]]] = [:]
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      for (index, testCase) in reference.cases.enumerated() {
        let expected = int32s(testCase["greedy_10"])
        let referenceSteps = (testCase["greedy_10_step_logits"] as? [Any] ?? []).map(flatFloats)
        let (rows, steps) = try Self.greedy(model, singleBatch(testCase), steps: 10)
        #expect(rows[0] == expected, "\(backend.kind) case \(index) greedy ids")
        var worst: Float = 0
        for (step, logits) in steps.enumerated() {
          worst = max(
            worst,
            expectClose(
              logits, referenceSteps[step], atol: 5e-5, "\(backend.kind) case \(index) step \(step)"
            ))
        }
        print("tiny-t5 \(backend.kind) case \(index): greedy step logits max abs diff \(worst)")
        perBackend[backend.kind, default: []].append(steps)
      }
    }
    if let cpu = perBackend[.cpu], let gpu = perBackend[.gpu] {
      var worst: Float = 0
      for (index, (c, g)) in zip(cpu, gpu).enumerated() {
        for step in c.indices {
          worst = max(
            worst, expectClose(g[step], c[step], atol: 8e-5, "case \(index) step \(step): gpu vs cpu"))
        }
      }
      print("tiny-t5 greedy step logits gpu vs cpu max abs diff \(worst)")
    }
  }

  /// Against tiny-t5 recomputed by transformers in float64 (`generation.json`, `float64`): the
  /// truth both fp32 computations round away from. Photon's error is held to at most twice
  /// transformers' own fp32 error on the same case and quantity (recorded in the fixture: its
  /// fp32 states and logits recomputed, and its fixture's greedy step logits).
  @Test func float64ReferenceBoundsTheError() throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    let generation = try Reference("tiny-models/tiny-t5/generation.json")
    let truth = try #require(
      (generation.json["float64"] as? [String: Any])?["cases"] as? [[String: Any]])
    #expect(truth.count == reference.cases.count)
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      for (index, (testCase, exact)) in zip(reference.cases, truth).enumerated() {
        let hf = try #require(exact["hf_fp32_max_abs"] as? [String: Double])
        func bound(_ key: String) throws -> Float { Float(2 * (try #require(hf[key]))) }
        let batch = try singleBatch(testCase)
        let states = try backend.floats(model.encode(batch).lastHiddenState)
        let stateDiff = expectClose(
          states, flatFloats(exact["encoder_last_hidden_state"]),
          atol: try bound("encoder_last_hidden_state"),
          "\(backend.kind) case \(index) encoder states vs float64")
        let logits = try backend.floats(
          model.logits(batch, decoderIds: int32s(testCase["decoder_input_ids"])))
        let logitDiff = expectClose(
          logits, flatFloats(exact["logits"]), atol: try bound("logits"),
          "\(backend.kind) case \(index) logits vs float64")
        let (_, steps) = try Self.greedy(model, batch, steps: 10)
        let stepDiff = expectClose(
          steps.flatMap { $0 }, flatFloats(exact["greedy_10_step_logits"]),
          atol: try bound("fixture_greedy_10_step_logits"),
          "\(backend.kind) case \(index) step logits vs float64")
        print(
          "tiny-t5 \(backend.kind) case \(index) vs float64: states \(stateDiff) (transformers fp32 \(hf["encoder_last_hidden_state"] ?? .nan)), logits \(logitDiff) (\(hf["logits"] ?? .nan)), greedy steps \(stepDiff) (\(hf["fixture_greedy_10_step_logits"] ?? .nan))"
        )
      }
    }
  }

  /// The padded batch: encoder states on real tokens, and its greedy_10 ids row by row.
  @Test func paddedBatchMatchesTransformers() throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    let padded = try #require(reference.paddedBatch)
    let batch = try paddedBatch(padded)
    let expected = (padded["greedy_10"] as? [Any] ?? []).map(int32s)
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      let states = try backend.floats(model.encode(batch).lastHiddenState)
      let c = model.config.dModel
      let diff = expectClose(
        unpaddedRows(states, mask: batch.attentionMask, width: c),
        unpaddedRows(
          flatFloats(padded["encoder_last_hidden_state"]), mask: batch.attentionMask, width: c),
        atol: 3e-5, "\(backend.kind) padded encoder states")
      print("tiny-t5 \(backend.kind) padded batch: encoder max abs diff \(diff)")
      let (rows, _) = try Self.greedy(model, batch, steps: 10)
      #expect(rows == expected, "\(backend.kind) padded batch greedy ids")
    }
  }

  /// The KV-cache path equals recomputing the whole decoder sequence at every step, and the
  /// GPU's teacher-forced logits equal the CPU's.
  @Test func cacheEqualsFullRecompute() throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    var teacherForced: [BackendKind: [Float]] = [:]
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      let testCase = try #require(reference.cases.last)
      let batch = try singleBatch(testCase)
      let (rows, steps) = try Self.greedy(model, batch, steps: 6)
      let vocab = model.config.vocabSize
      for step in steps.indices {
        let sequence = Array(rows[0].prefix(step + 1))
        let full = try backend.floats(model.logits(batch, decoderIds: sequence))
        expectClose(
          steps[step], Array(full[(step * vocab)...]), atol: 1e-5,
          "\(backend.kind) step \(step): cache vs recompute")
      }
      teacherForced[backend.kind] = try backend.floats(
        model.logits(batch, decoderIds: int32s(testCase["decoder_input_ids"])))
    }
    if let cpu = teacherForced[.cpu], let gpu = teacherForced[.gpu] {
      let diff = expectClose(gpu, cpu, atol: 8e-5, "teacher-forced logits: gpu vs cpu")
      print("tiny-t5 teacher-forced logits gpu vs cpu max abs diff \(diff)")
    }
  }

  /// Decode steps reuse pooled buffers: after the first step, no new device allocations.
  @Test func decodeStepsAllocateNothingNew() throws {
    let backend = try OpenCLBackend(device: Backends.gpu.get().device)
    let model = try Self.model(backend)
    let batch = try EncoderBatch(
      ids: [3, 171, 3, 158, 1], attentionMask: [1, 1, 1, 1, 1], batchSize: 1, length: 5)
    let cache = try model.makeCache(encoded: model.encode(batch), capacity: 12)
    var next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: [0], cache: cache)))
    next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    let before = backend.pool.allocations
    for _ in 0..<8 {
      next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    }
    #expect(backend.pool.allocations == before, "device allocations during decode steps")
  }

  /// Every linear weight of the model (encoder and decoder projections, FFNs, the LM head).
  static func linearWeights(_ model: T5ForConditionalGeneration) -> [LinearWeight] {
    var weights = model.encoder.blocks.flatMap { block in
      [block.attention.q, block.attention.k, block.attention.v, block.attention.o].map(\.weight)
        + [block.ff.ffn.wi, block.ff.ffn.wo].map(\.weight) + [block.ff.ffn.gate?.weight].compactMap { $0 }
    }
    for block in model.blocks {
      weights += [block.selfAttention.qkv, block.selfAttention.o].map(\.weight)
      let cross = block.crossAttention
      weights += [cross.q, cross.k, cross.v, cross.o].map(\.weight)
      weights +=
        [block.ff.ffn.wi, block.ff.ffn.wo].map(\.weight)
        + [block.ff.ffn.gate?.weight].compactMap { $0 }
    }
    return weights + [model.lmHead]
  }

  /// fp16 and int8 weights (every linear layer, the LM head's copy of `shared` included; the
  /// embedding lookup stays fp32), on both backends: teacher-forced logits equal transformers'
  /// with the same weights rounded the same way (`generation.json`, `precision`), within 2e-4;
  /// their distance to fp32 is the model's own sensitivity, which transformers shows too (fp16
  /// 0.1202, int8 0.9798 max abs on logits of magnitude ≤ 4: tiny-t5's weights ×3 make its
  /// unscaled attention scores large, so relative weight errors of 5e-4 (fp16) and ~1% (int8) are
  /// amplified ~250×, as fp32 rounding is in the float64 analysis); the GPU equals the CPU at the
  /// same precision within 1e-4.
  @Test(arguments: [
    (Precision.fp16, Float(Self.fp16Tolerance)), (Precision.int8, Float(Self.int8Tolerance)),
  ])
  func lowerPrecisionIsCloseToFP32(precision: Precision, tolerance: Float) throws {
    let reference = try Reference("tiny-models/tiny-t5/reference.json")
    let generation = try Reference("tiny-models/tiny-t5/generation.json")
    var logitsAt: [BackendKind: [Float]] = [:]
    for backend in try Backends.all() {
      let fp32 = try Self.model(backend)
      let lower = try T5ForConditionalGeneration(
        folder: ModelFolder(url: Self.folderURL), backend: backend, precision: precision)
      let weights = Self.linearWeights(lower)
      #expect(weights.count == 2 * 6 + 2 * 8 + 1)
      #expect(weights.allSatisfy { $0.precision == precision }, "\(precision): every linear weight")
      #expect(Self.linearWeights(fp32).allSatisfy { $0.precision == .fp32 })
      // The embedding lookup keeps the fp32 table; the tied head has its own copy.
      #expect(lower.encoder.shared.dtype == .float32 && lower.lmHead.storage.dtype != .float32)
      let rounded = try #require(
        ((generation.json["precision"] as? [String: Any])?[precision.rawValue] as? [String: Any])?[
          "logits"] as? [Any])
      var (worst, worstRounded, all): (Float, Float, [Float]) = (0, 0, [])
      for (testCase, expected) in zip(reference.cases, rounded) {
        let batch = try singleBatch(testCase)
        let ids = int32s(testCase["decoder_input_ids"])
        let low = try backend.floats(lower.logits(batch, decoderIds: ids))
        worstRounded = max(
          worstRounded,
          expectClose(
            low, flatFloats(expected), atol: 2e-4,
            "\(backend.kind) \(precision) logits vs transformers with rounded weights"))
        worst = max(
          worst,
          expectClose(
            low, try backend.floats(fp32.logits(batch, decoderIds: ids)), atol: tolerance,
            "\(backend.kind) \(precision) logits vs fp32"))
        all += low
      }
      print(
        "tiny-t5 \(backend.kind) \(precision) teacher-forced logits: vs transformers with the same rounding max abs diff \(worstRounded)"
      )
      #expect(worst > 0, "\(precision) should differ from fp32 at all")
      print("tiny-t5 \(backend.kind) \(precision) teacher-forced logits vs fp32 max abs diff \(worst)")
      logitsAt[backend.kind] = all
    }
    if let cpu = logitsAt[.cpu], let gpu = logitsAt[.gpu] {
      let diff = expectClose(gpu, cpu, atol: 1e-4, "\(precision) logits: gpu vs cpu")
      print("tiny-t5 \(precision) teacher-forced logits gpu vs cpu max abs diff \(diff)")
    }
  }

  /// Device memory of the whole model at each precision: fp16 and int8 weights take less.
  @Test func lowerPrecisionTakesLessDeviceMemory() throws {
    var bytes: [Precision: Int] = [:]
    for precision in Precision.allCases {
      let backend = try OpenCLBackend(device: Backends.gpu.get().device)
      let model = try T5ForConditionalGeneration(
        folder: ModelFolder(url: Self.folderURL), backend: backend, precision: precision)
      withExtendedLifetime(model) { bytes[precision] = backend.pool.inUseBytes }
    }
    print("tiny-t5 device bytes by precision: \(bytes.sorted { $0.value > $1.value })")
    #expect(bytes[.fp16]! < bytes[.fp32]! && bytes[.int8]! < bytes[.fp16]!)
  }

  /// Distance to fp32 allowed (measured 0.1201 and 0.9798 on both backends, as transformers').
  static let fp16Tolerance = 0.15
  static let int8Tolerance = 1.2

  /// The counters of a greedy decode step after warm-up, for one row and for a padded batch of
  /// two: no buffer allocated, one upload of the new ids (4 bytes per row), one read-back of
  /// 4 bytes per row (the argmax on the device) and that read as the one blocking wait.
  @Test(arguments: [1, 2])
  func greedyDecodeStepCounters(batch: Int) throws {
    // A device of its own: counters live on the device, and other tests run in parallel.
    let backend = try OpenCLBackend()
    let model = try Self.model(backend)
    let ids: [Int32] = [3, 171, 3, 158, 1, 181, 8, 1, 0, 0]
    let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    let encoded = try model.encode(
      EncoderBatch(
        ids: Array(ids.prefix(5 * batch)), attentionMask: Array(mask.prefix(5 * batch)),
        batchSize: batch, length: 5))
    let cache = try model.makeCache(encoded: encoded, capacity: 12)
    let start = [Int32](repeating: 0, count: batch)
    var next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: start, cache: cache)))
    next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    for _ in 0..<6 {
      backend.resetCounters()
      next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
      let c = backend.counters
      #expect(c.bufferAllocations == 0, "allocations in a decode step")
      #expect(c.uploads == 1, "uploads in a decode step")
      #expect(c.bytesHostToDevice == 4 * batch)
      #expect(c.readBacks == 1, "read-backs in a decode step")
      #expect(c.bytesDeviceToHost == 4 * batch)
      #expect(c.blockingWaits == 1)
      // Per decoder layer 15 launches (3 norms, 3 residual adds, qkv/o/q/o/wi/wo GEMMs, the
      // cache write, self- and cross-attention), plus gather, final norm, last-position select,
      // LM head and argmax.
      #expect(c.kernelLaunches <= 5 + 15 * model.config.numDecoderLayers)
    }
    print("tiny-t5 greedy decode step (batch \(batch)): \(backend.counters)")
  }

  /// A 300-token input and 260 decoder steps: every decode step's cross-attention (300 keys) and,
  /// from step 256, its self-attention take the split-key path on the GPU; the step logits of the
  /// same fed ids equal the CPU's within 1.5e-4 (measured 7.5e-5 split, 7.6e-5 with the split
  /// turned off: the longer sums, not the split), and the cache equals a full recompute.
  @Test func longContextsSplitOnTheGPUAndEqualTheCPU() throws {
    if smallShapesOnly { return }
    var random = SeededGenerator(seed: 300)
    let input = (0..<299).map { _ in Int32(3 + Int(random.floats(1, in: 0...1)[0] * 200)) } + [1]
    let fed = [Int32(0)] + (0..<259).map { _ in Int32(3 + Int(random.floats(1, in: 0...1)[0] * 200)) }
    let batch = try EncoderBatch(
      ids: input, attentionMask: [Int32](repeating: 1, count: input.count), batchSize: 1,
      length: input.count)
    var steps: [BackendKind: [[Float]]] = [:]
    for backend in try Backends.all() {
      let model = try Self.model(backend)
      let cache = try model.makeCache(encoded: model.encode(batch), capacity: fed.count)
      steps[backend.kind] = try fed.map { id in
        try backend.floats(model.nextTokenLogits(ids: [id], cache: cache))
      }
      if backend.kind == .gpu {
        let full = try backend.floats(model.logits(batch, decoderIds: fed))
        let vocab = model.config.vocabSize
        expectClose(
          steps[.gpu]!.last!, Array(full[((fed.count - 1) * vocab)...]), atol: 1e-5,
          "gpu long context: last step vs recompute")
      }
    }
    if let cpu = steps[.cpu], let gpu = steps[.gpu] {
      let diff = expectClose(
        gpu.flatMap { $0 }, cpu.flatMap { $0 }, atol: 1.5e-4, "long context step logits: gpu vs cpu")
      print("tiny-t5 300-token input, 260 steps: step logits gpu vs cpu max abs diff \(diff)")
    }
  }

  /// The relative-position buckets of HF's `_relative_position_bucket` (32 buckets, distance
  /// 128), at the exact/logarithmic boundary and beyond the maximum distance.
  @Test func relativePositionBuckets() {
    func bucket(_ r: Int, _ bidirectional: Bool) -> Int {
      T5RelativePositionBias.bucket(
        relative: r, bidirectional: bidirectional, buckets: 32, maxDistance: 128)
    }
    // Values of transformers' T5Attention._relative_position_bucket formula evaluated in float32
    // with numpy (relative = key position − query position).
    let relative = [-200, -128, -100, -20, -9, -8, -7, -1, 0, 1, 7, 8, 9, 20, 100, 128, 200]
    #expect(
      relative.map { bucket($0, true) }
        == [15, 15, 15, 10, 8, 8, 7, 1, 0, 17, 23, 24, 24, 26, 31, 31, 31])
    #expect(
      relative.map { bucket($0, false) }
        == [31, 31, 30, 17, 9, 8, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  }

  @Test func badInputIsATypedError() throws {
    let model = try Self.model(Backends.cpu)
    let batch = try EncoderBatch(ids: [3, 1], attentionMask: [1, 1], batchSize: 1, length: 2)
    #expect(throws: PhotonError.self) {
      try model.encode(EncoderBatch(ids: [500], attentionMask: [1], batchSize: 1, length: 1))
    }
    let cache = try model.makeCache(encoded: model.encode(batch), capacity: 2)
    #expect(throws: PhotonError.self) { try model.nextTokenLogits(ids: [0, 5, 6], cache: cache) }
    #expect(throws: PhotonError.self) { try model.nextTokenLogits(ids: [999], cache: cache) }
  }

  /// A checkpoint without the decoder: the error names the missing tensors.
  @Test func missingTensorsAreNamed() throws {
    let folder = try ModelFolder(url: Self.folderURL)
    let config = try folder.config(as: T5Config.self)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "photon-t5-missing-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // An encoder-only copy: every tensor whose name does not start with "decoder.".
    let weights = try folder.openWeights()
    try writeSafeTensors(
      weights.names.filter { !$0.hasPrefix("decoder.") }.map { ($0, try weights.floats($0)) },
      to: directory.appendingPathComponent("model.safetensors"))
    let truncated = try ModelWeights(url: directory.appendingPathComponent("model.safetensors"))
    #expect {
      try T5ForConditionalGeneration(
        weights: truncated.scope(""), config: config, backend: Backends.cpu)
    } throws: { error in
      let e = error as? PhotonError
      return e?.code == .missingTensor
        && e!.message.contains("decoder.block.0.layer.1.EncDecAttention.q.weight")
        && e!.message.contains("decoder.final_layer_norm.weight")
    }
    // The encoder alone loads from it.
    _ = try T5EncoderModel(weights: truncated.scope(""), config: config, backend: Backends.cpu)
  }

  /// flan-t5's gated-gelu FFN (`wo(gelu_new(wi_0·x) · wi_1·x)`): tiny-t5 rewritten with
  /// `wi_0 = wi` and `wi_1 = wi / 2` loads, runs on both backends, and the GPU equals the CPU.
  /// The generic encoder registry gives T5EncoderModel for it too.
  @Test func gatedGeluLoadsAndRunsOnBothBackends() throws {
    let folder = try ModelFolder(url: Self.folderURL)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "photon-t5-gated-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var config = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: folder.configURL)) as? [String: Any])
    config["feed_forward_proj"] = "gated-gelu"
    try JSONSerialization.data(withJSONObject: config).write(
      to: directory.appendingPathComponent("config.json"))
    let weights = try folder.openWeights()
    var tensors: [(String, LoadedTensor)] = []
    for name in weights.names {
      let tensor = try weights.floats(name)
      if name.hasSuffix("DenseReluDense.wi.weight") {
        let base = String(name.dropLast("wi.weight".count))
        tensors.append((base + "wi_0.weight", tensor))
        tensors.append(
          (base + "wi_1.weight", LoadedTensor(values: tensor.values.map { $0 / 2 }, shape: tensor.shape)))
      } else {
        tensors.append((name, tensor))
      }
    }
    try writeSafeTensors(tensors, to: directory.appendingPathComponent("model.safetensors"))
    let gatedFolder = try ModelFolder(url: directory)
    let gatedConfig = try gatedFolder.config(as: T5Config.self)
    #expect(gatedConfig.isGatedAct && gatedConfig.denseActivation == .geluNew)
    let batch = try EncoderBatch(
      ids: [3, 171, 3, 158, 11, 1], attentionMask: [1, 1, 1, 1, 1, 1], batchSize: 1, length: 6)
    var results: [[Float]] = []
    for backend in try Backends.all() {
      let model = try T5ForConditionalGeneration(folder: gatedFolder, backend: backend)
      let logits = try backend.floats(model.logits(batch, decoderIds: [0, 3, 171]))
      #expect(logits.count == 3 * gatedConfig.vocabSize && logits.allSatisfy(\.isFinite))
      results.append(logits)
      let encoder = try ModelRegistry.encoder(folder: gatedFolder, backend: backend)
      #expect(encoder is T5EncoderModel)
    }
    let diff = expectClose(results[1], results[0], atol: 1e-4, "gated-gelu: gpu vs cpu")
    print("tiny-t5 gated-gelu teacher-forced logits gpu vs cpu max abs diff \(diff)")
  }

  /// An unknown feed_forward_proj is a typed error naming the key.
  @Test func unknownFeedForwardProjIsATypedError() throws {
    var json = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: Self.folderURL.appendingPathComponent("config.json")))
        as? [String: Any])
    for bad in ["swish-gated", "gated-tanhh", "gated-relu-extra"] {
      json["feed_forward_proj"] = bad
      let data = try JSONSerialization.data(withJSONObject: json)
      #expect {
        try T5Config.decode(data, file: "config.json")
      } throws: { error in
        (error as? PhotonError).map {
          ($0.code == .invalidFile || $0.code == .unsupported)
            && $0.message.contains("feed_forward_proj")
        } ?? false
      }
    }
  }
}

/// A minimal float32 safetensors writer (8-byte little-endian header length, JSON header, data).
func writeSafeTensors(_ tensors: [(String, LoadedTensor)], to url: URL) throws {
  var header: [String: Any] = [:]
  var data = Data()
  for (name, tensor) in tensors {
    let start = data.count
    for value in tensor.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [start, data.count]]
  }
  let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
  var file = Data()
  withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
  file.append(json)
  file.append(data)
  try file.write(to: url)
}
