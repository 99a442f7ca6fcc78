import Foundation
import Photon
import PhotonCPU
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL

/// Times an encoder's forward pass (random ids of one shape, full attention mask, the last hidden
/// state read back to the host), llama-bench style: warm-up runs, then timed repetitions.
public struct EncoderBenchmark: Sendable {
  public var batch: Int
  public var sequence: Int
  public var iterations: Int
  public var warmup: Int
  /// Per-kernel device time from OpenCL profiling events (`.gpu` only).
  public var profile: Bool
  /// How the linear weights are stored (`weight_bytes` shows the effect); nil: the folder's own
  /// (fp32, or what `photon quantize` wrote it at).
  public var precision: Precision?

  public init(batch: Int = 1, sequence: Int = 128, iterations: Int = 10, warmup: Int = 2, profile: Bool = false) {
    self.batch = batch
    self.sequence = sequence
    self.iterations = iterations
    self.warmup = warmup
    self.profile = profile
  }

  public struct KernelTime: Sendable, Codable {
    public var name: String
    public var milliseconds: Double
    public var launches: Int
  }

  public struct Result: Sendable, Codable {
    public var device: String
    public var backend: String
    /// fp32, fp16 or int8 linear weights.
    public var precision: String
    public var batch: Int
    public var seq: Int
    public var iterations: Int
    public var medianMs: Double
    public var p90Ms: Double
    public var minMs: Double
    public var tokensPerS: Double
    public var sentencesPerS: Double
    /// `layers · (2·B·T·(4C² + 2·C·I) + 4·B·T²·C)`: the QKV, output and FFN products plus QKᵀ and
    /// P·V, the formula the peer script uses.
    public var flopsPerForward: Double
    public var gflops: Double
    /// One forward pass after warm-up (`.gpu`; zeros on `.cpu`).
    public var counters: ExecutionCounters
    /// Device memory held by activations at the peak of one forward pass (`.gpu`).
    public var peakActivationBytes: Int
    /// Device memory held by the weights (`.gpu`).
    public var weightBytes: Int
    /// Per kernel, summed over one forward pass, longest first (with `profile`).
    public var kernels: [KernelTime]?

    enum CodingKeys: String, CodingKey {
      case device, backend, precision, batch, seq, iterations
      case medianMs = "median_ms", p90Ms = "p90_ms", minMs = "min_ms"
      case tokensPerS = "tokens_per_s", sentencesPerS = "sentences_per_s"
      case flopsPerForward = "flops_per_forward", gflops, counters
      case peakActivationBytes = "peak_activation_bytes", weightBytes = "weight_bytes", kernels
    }
  }

  /// Runs the benchmark on the encoder in `model`. `progress` receives a line now and then.
  public func run(model: URL, backend kind: BackendKind, progress: (String) -> Void = { _ in }) throws -> Result {
    guard batch > 0, sequence > 0 else {
      throw PhotonError(.invalidArgument, "batch and sequence must be positive, got \(batch)×\(sequence)")
    }
    guard iterations > 0, warmup >= 0 else {
      throw PhotonError(.invalidArgument, "iterations must be positive and warm-up non-negative")
    }
    let folder = try ModelFolder(url: model)
    let precision = try folder.loadPrecision(precision)
    let backend: any Backend
    switch kind {
    case .cpu: backend = CPUBackend()
    case .gpu: backend = try OpenCLBackend(device: OpenCLDevice.select(profiling: profile))
    }
    let profiler = backend as? any ProfilingBackend
    let encoder = try ModelRegistry.encoder(folder: folder, backend: backend, precision: precision)
    guard sequence <= encoder.maxSequenceLength else {
      throw PhotonError(
        .invalidArgument,
        "sequence length \(sequence) exceeds the \(encoder.maxSequenceLength) positions of \(folder.url.lastPathComponent)"
      )
    }
    let weightBytes = profiler?.memoryInUse ?? 0

    var random = SystemRandomNumberGenerator()
    let vocabulary = Int32(encoder.vocabularySize)
    let ids = (0..<(batch * sequence)).map { _ in
      Int32.random(in: min(1000, vocabulary - 1)..<vocabulary, using: &random)
    }
    let input = try EncoderBatch(
      ids: ids, attentionMask: [Int32](repeating: 1, count: ids.count), batchSize: batch, length: sequence)
    func forward() throws {
      _ = try backend.floats(encoder.forward(input, pooler: false).lastHiddenState)
    }

    for i in 0..<warmup {
      progress("warm-up \(i + 1)/\(warmup)")
      try forward()
    }
    // One counted (and, with `profile`, profiled) pass.
    _ = try profiler?.kernelProfile()  // drop warm-up events
    profiler?.resetCounters()
    profiler?.resetPeakMemory()
    let inUseBefore = profiler?.memoryInUse ?? 0
    try forward()
    let counters = profiler?.counters ?? ExecutionCounters()
    let peakActivation = (profiler?.peakMemoryInUse ?? 0) - inUseBefore
    let kernels =
      profile
      ? try profiler?.kernelProfile().map {
        KernelTime(name: $0.name, milliseconds: $0.seconds * 1000, launches: $0.launches)
      } : nil

    var times: [Double] = []
    var lastReport = Date()
    for i in 0..<iterations {
      let start = DispatchTime.now().uptimeNanoseconds
      try forward()
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
      if Date().timeIntervalSince(lastReport) > 2 {
        progress("run \(i + 1)/\(iterations): median so far \(String(format: "%.2f", Self.percentile(times, 0.5))) ms")
        lastReport = Date()
      }
    }
    _ = try profiler?.kernelProfile()

    let median = Self.percentile(times, 0.5)
    let flops = try ModelRegistry.architecture(for: folder).flops(of: folder, batch: batch, sequence: sequence)
    return Result(
      device: backend.deviceName, backend: kind.rawValue, precision: precision.rawValue, batch: batch, seq: sequence,
      iterations: iterations,
      medianMs: median, p90Ms: Self.percentile(times, 0.9), minMs: times.min() ?? 0,
      tokensPerS: Double(batch * sequence) / median * 1000, sentencesPerS: Double(batch) / median * 1000,
      flopsPerForward: flops, gflops: flops / median / 1e6, counters: counters,
      peakActivationBytes: peakActivation, weightBytes: weightBytes, kernels: kernels)
  }

  static func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
  }
}
