import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL
import PhotonTestSupport
import Testing

/// GPT-2 with fp16 / int8 linear weights (every Conv1D and the LM head's copy of wte): close to
/// fp32 within the precision's tolerance, the GPU equal to the CPU reference at the same precision
/// (both start from the same rounded weights, so the fp32 tolerance applies), greedy ids compared
/// with fp32's, and a decode step's counters unchanged.
@Suite("GPT-2 at fp16 / int8: vs fp32, .gpu vs .cpu, greedy agreement, decode counters")
struct GPT2PrecisionTests {
  static let quantized: [Precision] = [.fp16, .int8]

  static func model(_ backend: any Backend, _ precision: Precision) throws -> GPT2LMHeadModel {
    try GPT2LMHeadModel(
      folder: ModelFolder(url: GPT2Tests.folderURL), backend: backend, precision: precision)
  }

  /// Absolute tolerance on tiny-gpt2's logits (|logit| ≲ 0.5) against fp32. fp16 rounds each
  /// weight by ≤ 2⁻¹¹ relative; q8_0 by ≤ half a step of max|w|/127 per block of 32. Measured max
  /// differences over the fixture's cases and greedy steps, both backends: fp16 1.9e-4, int8
  /// 4.8e-3 (printed by the tests); the gates are about 2.5–3× those.
  static func tolerance(_ precision: Precision) -> Float {
    switch precision {
    case .fp32: 0
    case .fp16: 5e-4
    case .int8: 1.5e-2
    }
  }

  /// Full-sequence logits at fp16 / int8 against fp32 on the same backend, and the GPU against
  /// the CPU at the same precision.
  @Test(arguments: quantized)
  func logitsCloseToFp32AndGpuEqualsCpu(precision: Precision) throws {
    let reference = try Reference("tiny-models/tiny-gpt2/reference.json")
    var perBackend: [BackendKind: [[Float]]] = [:]
    for backend in try Backends.all() {
      let exact = try Self.model(backend, .fp32)
      let model = try Self.model(backend, precision)
      #expect(model.precision == precision)
      var worst: Float = 0
      for (index, testCase) in reference.cases.enumerated() {
        let ids = int32s(testCase["input_ids"])
        let logits = try backend.floats(model.logits(ids: ids))
        worst = max(
          worst,
          expectClose(
            logits, try backend.floats(exact.logits(ids: ids)), atol: Self.tolerance(precision),
            "\(backend.kind) \(precision) case \(index) vs fp32"))
        perBackend[backend.kind, default: []].append(logits)
      }
      print("tiny-gpt2 \(backend.kind) \(precision): logits max abs diff vs fp32 \(worst)")
    }
    if let cpu = perBackend[.cpu], let gpu = perBackend[.gpu] {
      for (index, (c, g)) in zip(cpu, gpu).enumerated() {
        let diff = expectClose(g, c, atol: 1e-5, "\(precision) case \(index): gpu vs cpu")
        print("tiny-gpt2 \(precision) case \(index): gpu vs cpu max abs diff \(diff)")
      }
    }
  }

  /// Greedy decoding through the KV cache at each precision: every step's logits close to fp32's
  /// for the same prefix (teacher-forced on fp32's ids, so one flipped argmax does not change what
  /// is compared), the GPU equal to the CPU step by step, and the share of greedy ids that agree
  /// with fp32 printed (tiny-gpt2's logits are nearly tied, so int8 may flip some).
  @Test(arguments: quantized)
  func greedyStepsAgainstFp32(precision: Precision) throws {
    let reference = try Reference("tiny-models/tiny-gpt2/reference.json")
    let steps = 10
    var perBackend: [BackendKind: [[Float]]] = [:]
    for backend in try Backends.all() {
      let exact = try Self.model(backend, .fp32)
      let model = try Self.model(backend, precision)
      var agree = 0
      var total = 0
      var worst: Float = 0
      for testCase in reference.cases {
        let prompt = int32s(testCase["input_ids"])
        let (exactIds, exactSteps) = try GPT2Tests.greedy(exact, prompt: prompt, steps: steps)
        let (ids, _) = try GPT2Tests.greedy(model, prompt: prompt, steps: steps)
        agree += zip(ids, exactIds).filter { $0 == $1 }.count
        total += steps
        // Teacher-forced on fp32's ids: the same prefixes, step by step.
        let cache = try model.makeCache(capacity: prompt.count + steps)
        var input = prompt
        for step in 0..<steps {
          let logits = try backend.floats(model.nextTokenLogits(ids: input, cache: cache))
          worst = max(
            worst,
            expectClose(
              logits, exactSteps[step], atol: Self.tolerance(precision),
              "\(backend.kind) \(precision) step \(step) vs fp32"))
          perBackend[backend.kind, default: []].append(logits)
          input = [exactIds[step]]
        }
      }
      print(
        "tiny-gpt2 \(backend.kind) \(precision): greedy ids agree with fp32 on \(agree)/\(total) new tokens; step logits max abs diff \(worst)"
      )
      if precision == .fp16 { #expect(agree == total, "\(backend.kind) fp16 greedy ids vs fp32") }
    }
    if let cpu = perBackend[.cpu], let gpu = perBackend[.gpu] {
      for (index, (c, g)) in zip(cpu, gpu).enumerated() {
        expectClose(g, c, atol: 1e-5, "\(precision) step \(index): gpu vs cpu")
      }
    }
  }

  /// The counters of a greedy decode step at each precision are those of fp32: no allocation, one
  /// 4-byte upload, one 4-byte read-back, one blocking wait.
  @Test(arguments: quantized)
  func decodeStepCounters(precision: Precision) throws {
    let backend = try OpenCLBackend()
    let model = try Self.model(backend, precision)
    let cache = try model.makeCache(capacity: 16)
    var next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: [84, 297, 493], cache: cache)))
    next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
    let allocations = backend.pool.allocations
    for _ in 0..<4 {
      backend.resetCounters()
      next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
      let c = backend.counters
      #expect(c.bufferAllocations == 0, "\(precision) allocations in a decode step")
      #expect(c.uploads == 1 && c.bytesHostToDevice == 4, "\(precision) uploads in a decode step")
      #expect(c.readBacks == 1 && c.bytesDeviceToHost == 4, "\(precision) read-backs in a decode step")
      #expect(c.blockingWaits == 1)
    }
    #expect(backend.pool.allocations == allocations, "\(precision) device allocations during decode")
  }

  /// Device weight bytes shrink with the precision: only the linear weights (blocks and the LM
  /// head's copy of wte) change; wte, wpe, biases and norms stay fp32.
  @Test func deviceWeightBytesPerPrecision() throws {
    let config = try GPT2Config.decode(
      Data(
        #"{"n_layer": 2, "n_embd": 64, "n_head": 4, "vocab_size": 300, "n_positions": 32, "bos_token_id": 0, "eos_token_id": 0}"#
          .utf8),
      file: "random")
    var bytes: [Precision: Int] = [:]
    for precision in Precision.allCases {
      let backend = try OpenCLBackend(device: Backends.gpu.get().device)
      let before = backend.pool.inUseBytes
      let model = try GPT2LMHeadModel(randomWeights: config, seed: 3, backend: backend, precision: precision)
      bytes[precision] = backend.pool.inUseBytes - before
      withExtendedLifetime(model) {}
    }
    // Linear weights: per layer 64·192 + 64·64 + 2·64·256 = 49152; the head 300·64 = 19200.
    let linear = 2 * 49152 + 19200
    let (fp32, fp16, int8) = (bytes[.fp32]!, bytes[.fp16]!, bytes[.int8]!)
    print("random GPT-2 (2×64, V=300) device weight bytes: fp32 \(fp32), fp16 \(fp16), int8 \(int8)")
    // Padding of packed columns adds a little; the differences are at least the linear bytes saved.
    #expect(fp32 - fp16 >= linear * 2)
    #expect(fp32 - int8 >= linear * 4 - linear - linear / 32 * 4 - 4096)
    #expect(fp16 > int8)
  }
}
