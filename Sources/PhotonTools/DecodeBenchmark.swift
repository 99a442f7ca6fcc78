import Foundation
import Photon
import PhotonCPU
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL

/// Times generation with a decoder-only model at one shape, as `py_decode_bench.py` times PyTorch: a prefill over P
/// random ids into a fresh KV cache, then N greedy single-token steps (argmax on the device, 4 bytes
/// per row read back), fed back. One untimed generation warms up; each timed one adds a prefill
/// time and N step times.
public struct DecodeBenchmark: Sendable {
  /// Rows generated together.
  public var batch: Int
  /// P: prompt tokens (random ids).
  public var promptLength: Int
  /// N: decode steps timed per generation.
  public var newTokens: Int
  /// Timed generations.
  public var iterations: Int
  /// Untimed generations first.
  public var warmup: Int
  /// How the linear weights (blocks and LM head) are stored: fp32, fp16 or int8; nil: the
  /// folder's own (fp32, or what `photon quantize` wrote; fp32 for random weights). A decode step
  /// reads every weight once, so `weight_bytes` bounds its speed.
  public var precision: Precision?
  /// Per-kernel device time of the decode steps from OpenCL profiling events (`.gpu` only), and
  /// the LM head's share timed on its own.
  public var profile = false

  public init(batch: Int = 1, promptLength: Int = 128, newTokens: Int = 128, iterations: Int = 3, warmup: Int = 1) {
    self.batch = batch
    self.promptLength = promptLength
    self.newTokens = newTokens
    self.iterations = iterations
    self.warmup = warmup
  }

  /// Model configurations the benchmark can build with random weights, by name (each
  /// architecture's, from the model registry).
  public static var randomConfigs: [String] { ModelRegistry.randomConfigNames }

  /// What to run: a model folder (a decoder-only language model) or a named config with seeded random weights.
  public enum ModelSource: Sendable {
    case folder(URL)
    case random(name: String, seed: UInt64)
  }

  public struct Result: Sendable, Codable {
    public var model: String
    public var device: String
    public var backend: String
    public var batch: Int
    public var promptLen: Int
    public var newTokens: Int
    public var iterations: Int
    /// Median prefill time (prompt through the model, KV cache written, first token's argmax read).
    public var prefillMs: Double
    /// Median time of one decode step (one token per row, argmax read back).
    public var decodeMsPerToken: Double
    public var decodeP90Ms: Double
    /// `batch · 1000 / decodeMsPerToken`.
    public var decodeTokensPerS: Double
    /// Counters of one decode step after warm-up (`.gpu`; zeros on `.cpu`).
    public var counters: ExecutionCounters
    /// Seconds spent building the model (random weights drawn, uploaded).
    public var loadS: Double
    /// fp32, fp16 or int8 linear weights.
    public var precision: String
    /// Device memory held by the weights (`.gpu`; 0 on `.cpu`): the linear weights at
    /// `precision` (the LM head's copy of `wte` included), embeddings, biases and norms in fp32.
    public var weightBytes: Int
    /// With `profile`: device time per kernel, per decode step (summed over the timed steps of one
    /// generation and divided by their count), longest first.
    public var kernels: [EncoderBenchmark.KernelTime]?
    /// With `profile`: device time of the LM head's GEMM alone for one step (`[B, C]·[V, C]ᵀ`).
    public var lmHeadMs: Double?

    enum CodingKeys: String, CodingKey {
      case model, device, backend, batch, iterations, counters, precision, kernels
      case weightBytes = "weight_bytes", lmHeadMs = "lm_head_ms"
      case promptLen = "prompt_len", newTokens = "new_tokens"
      case prefillMs = "prefill_ms", decodeMsPerToken = "decode_ms_per_token"
      case decodeP90Ms = "decode_p90_ms", decodeTokensPerS = "decode_tokens_per_s"
      case loadS = "load_s"
    }
  }

  /// Runs the benchmark. `progress` receives a line now and then.
  public func run(model source: ModelSource, backend kind: BackendKind, progress: (String) -> Void = { _ in }) throws
    -> Result
  {
    guard batch > 0, promptLength > 0, newTokens > 0 else {
      throw PhotonError(
        .invalidArgument,
        "batch, prompt length and new tokens must be positive, got \(batch), \(promptLength), \(newTokens)")
    }
    guard iterations > 0, warmup >= 0 else {
      throw PhotonError(.invalidArgument, "iterations must be positive and warm-up non-negative")
    }
    let backend: any Backend =
      profile && kind == .gpu
      ? try OpenCLBackend(device: OpenCLDevice.select(profiling: true)) : try kind.makeBackend()
    let profiler = backend as? any ProfilingBackend
    let loadStart = DispatchTime.now().uptimeNanoseconds
    let model: any CausalLanguageModel
    let name: String
    switch source {
    case .folder(let url):
      model = try ModelRegistry.causalLanguageModel(
        folder: ModelFolder(url: url), backend: backend, precision: precision)
      name = url.lastPathComponent
    case .random(let configName, let seed):
      progress("drawing random weights for \(configName)")
      model = try ModelRegistry.randomCausalLanguageModel(
        named: configName, seed: seed, backend: backend, precision: precision ?? .fp32)
      name = "\(configName) (random weights)"
    }
    let loadS = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
    let weightBytes = profiler?.memoryInUse ?? 0
    let capacity = promptLength + newTokens
    guard capacity <= model.contextLength else {
      throw PhotonError(
        .invalidArgument,
        "prompt \(promptLength) + \(newTokens) new tokens exceed the \(model.contextLength) positions of \(name)")
    }

    var random = SplitMix64(seed: 42)
    let vocabulary = UInt64(model.vocabularySize)
    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    var prefill: [Double] = []
    var steps: [Double] = []
    var stepCounters = ExecutionCounters()
    var kernels: [EncoderBenchmark.KernelTime]?
    var lmHeadMs: Double?
    for run in 0..<(warmup + iterations) {
      let timed = run >= warmup
      progress(timed ? "run \(run - warmup + 1)/\(iterations)" : "warm-up \(run + 1)/\(warmup)")
      let prompt = (0..<(batch * promptLength)).map { _ in Int32(random.next() % vocabulary) }
      let cache = try model.makeCache(batch: batch, capacity: capacity, leftPadding: nil)
      let t0 = now()
      var next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: prompt, cache: cache)))
      let t1 = now()
      if timed { prefill.append(Double(t1 - t0) / 1e6) }
      let profiled = timed && prefill.count == 1 && profile
      if profiled { _ = try profiler?.kernelProfile() }  // drop the prefill's events
      for step in 0..<newTokens {
        // Counters of one step, once the first timed generation is past its first step.
        let counted = timed && prefill.count == 1 && step == 1
        if counted { profiler?.resetCounters() }
        let s0 = now()
        next = try backend.ints(backend.argmax(model.nextTokenLogits(ids: next, cache: cache)))
        let s1 = now()
        if counted, let profiler { stepCounters = profiler.counters }
        if timed { steps.append(Double(s1 - s0) / 1e6) }
      }
      if profiled, let profiler {
        let perStep = 1000 / Double(newTokens)
        kernels = try profiler.kernelProfile().map {
          .init(name: $0.name, milliseconds: $0.seconds * perStep, launches: $0.launches / newTokens)
        }
        // The head's GEMM alone, on one row per sequence, as a step runs it.
        let hidden = try backend.zeros(shape: [batch, 1, model.hiddenSize])
        _ = try profiler.kernelProfile()  // drop the zero fill
        for _ in 0..<newTokens { _ = try model.lmHeadLogits(hidden: hidden) }
        lmHeadMs = try profiler.kernelProfile().map(\.seconds).reduce(0, +) * perStep
      }
    }
    let median = EncoderBenchmark.percentile(steps, 0.5)
    return Result(
      model: name, device: backend.deviceName, backend: kind.rawValue, batch: batch, promptLen: promptLength,
      newTokens: newTokens, iterations: iterations, prefillMs: EncoderBenchmark.percentile(prefill, 0.5),
      decodeMsPerToken: median, decodeP90Ms: EncoderBenchmark.percentile(steps, 0.9),
      decodeTokensPerS: Double(batch) * 1000 / median, counters: stepCounters, loadS: loadS,
      precision: model.precision.rawValue, weightBytes: weightBytes, kernels: kernels, lmHeadMs: lmHeadMs)
  }
}
