import ArgumentParser
import Foundation
import Photon
import PhotonCore
import PhotonTools

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time an encoder forward pass, or GPT-2 generation (--generate), on random token ids.",
    discussion: """
      Encoders: reports median and p90 latency, tokens/s, sentences/s, effective GFLOP/s with
      FLOPs = layers · (2·B·T·(4C² + 2·C·I) + 4·B·T²·C), the per-pass counters (uploads, read-backs,
      kernel launches, buffer allocations, blocking waits), peak activation and weight memory, and
      with --profile the device time per kernel.

      --generate: a GPT-2 model (--model DIR, or --random-config gpt2-small with seeded random
      weights) prefills --prompt-len random ids and decodes --new-tokens greedy tokens per run;
      reports prefill ms, decode ms/token (median, p90), decode tokens/s, one decode step's
      counters and the device weight bytes at --precision (JSON: prefill_ms, decode_ms_per_token,
      decode_p90_ms, decode_tokens_per_s, precision, weight_bytes); with --profile the device time
      per kernel per decode step and the LM head's GEMM alone (kernels, lm_head_ms).

      --soak N: N encoder passes on the device with seeded random batch sizes (1–--max-batch) and
      lengths (1–--max-length); reports the peak device bytes against the memory budget, driver
      allocations (all, and after --warmup passes), evictions and errors. --exact-buckets runs the
      same sequence with exact-size buffers (the pool before size buckets).
      """)

  @Option(help: "Model folder (default: $PHOTON_MODEL, else Models/all-MiniLM-L6-v2).")
  var model: String?
  @Option(help: "cpu or gpu.") var backend: BackendKind?
  @Option(
    help:
      "Linear weights as fp32, fp16 or int8 (encoders; with --generate GPT-2's Conv1D weights and LM head). Default: the folder's own (fp32 unless written by photon quantize)."
  )
  var precision: Precision?
  @Option(help: "Sequences per batch.") var batch = 1
  @Option(help: "Tokens per sequence.") var seq = 128
  @Option(help: "Timed runs (default 10; generations with --generate: 3).") var iterations: Int?
  @Option(help: "Untimed runs first (default 2; with --generate: 1).") var warmup: Int?
  @Flag(help: "Time GPT-2 generation (prefill and decode steps) instead of an encoder pass.")
  var generate = false
  @Option(help: "Prompt tokens (--generate).") var promptLen = 128
  @Option(help: "New tokens per run (--generate).") var newTokens = 128
  @Option(
    help: "Random weights for a named config instead of --model: gpt2-small, gpt2-medium, distilgpt2 (--generate).")
  var randomConfig: String?
  @Option(help: "Seed of the random weights (--random-config) or shapes (--soak).") var seed: UInt64 = 0
  @Option(help: "Encoder passes at random shapes, to watch device memory (gpu).") var soak: Int?
  @Option(help: "Largest batch (--soak).") var maxBatch = 32
  @Option(help: "Longest sequence (--soak; default: the model's limit).") var maxLength: Int?
  @Option(
    help:
      "Device memory budget for --soak: bytes, or 512M, 2G (default: $PHOTON_MEMORY_BUDGET, else 3/4 of the device's).")
  var memoryBudget: String?
  @Flag(help: "Exact-size device buffers instead of size buckets (--soak).") var exactBuckets = false
  @Flag(help: "Per-kernel device time from OpenCL profiling events (gpu).") var profile = false
  @Flag(help: "Print one JSON object.") var json = false

  func validate() throws {
    guard batch > 0, seq > 0 else { throw ValidationError("--batch and --seq must be positive, got \(batch)×\(seq)") }
    guard (iterations ?? 1) > 0, (warmup ?? 0) >= 0 else {
      throw ValidationError("--iterations must be > 0 and --warmup ≥ 0")
    }
    guard promptLen > 0, newTokens > 0 else {
      throw ValidationError("--prompt-len and --new-tokens must be positive, got \(promptLen), \(newTokens)")
    }
    if randomConfig != nil && !generate { throw ValidationError("--random-config needs --generate") }
    if randomConfig != nil && model != nil { throw ValidationError("give --model or --random-config, not both") }
    if let soak, soak <= 0 || maxBatch <= 0 || (maxLength ?? 1) <= 0 || generate {
      throw ValidationError("--soak \(soak) needs positive --soak, --max-batch and --max-length, and no --generate")
    }
    if let memoryBudget, SoakBenchmark.byteCount(memoryBudget) == nil {
      throw ValidationError("--memory-budget \(memoryBudget) is not a byte count (e.g. 1073741824, 512M, 2G)")
    }
  }

  func run() throws {
    if generate { return try runGenerate() }
    if let soak { return try runSoak(passes: soak) }
    let iterations = iterations ?? 10
    let warmup = warmup ?? 2
    let url = URL(
      fileURLWithPath: model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] ?? "Models/all-MiniLM-L6-v2")
    let kind = backend ?? .preferred
    var benchmark = EncoderBenchmark(
      batch: batch, sequence: seq, iterations: iterations, warmup: warmup, profile: profile)
    benchmark.precision = precision
    let result = try benchmark.run(model: url, backend: kind, progress: Self.progress)
    if json { return try Self.printJSON(result) }
    print("\(url.lastPathComponent) on \(result.device) (\(result.backend)), \(batch)×\(seq), \(iterations) runs")
    print(String(format: "median %.3f ms  p90 %.3f ms  min %.3f ms", result.medianMs, result.p90Ms, result.minMs))
    print(
      String(
        format: "%.0f tokens/s  %.1f sentences/s  %.1f GFLOP/s", result.tokensPerS, result.sentencesPerS, result.gflops)
    )
    Self.printCounters(result.counters, per: "pass")
    print("memory: weights \(result.weightBytes) B, peak activations \(result.peakActivationBytes) B")
    if let kernels = result.kernels { Self.printKernels(kernels, per: "pass") }
  }

  func runGenerate() throws {
    let source: DecodeBenchmark.ModelSource
    if let randomConfig {
      source = .random(name: randomConfig, seed: seed)
    } else if let path = model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] {
      source = .folder(URL(fileURLWithPath: path))
    } else {
      throw ValidationError("--generate needs --model DIR (or $PHOTON_MODEL) or --random-config NAME")
    }
    var benchmark = DecodeBenchmark(
      batch: batch, promptLength: promptLen, newTokens: newTokens, iterations: iterations ?? 3, warmup: warmup ?? 1)
    benchmark.precision = precision
    benchmark.profile = profile
    let result = try benchmark.run(model: source, backend: backend ?? .preferred, progress: Self.progress)
    if json { return try Self.printJSON(result) }
    print(
      "\(result.model) on \(result.device) (\(result.backend)), \(result.precision), batch \(batch), prompt \(promptLen), \(newTokens) new tokens, \(result.iterations) runs"
    )
    print(
      String(
        format: "prefill %.2f ms  decode %.3f ms/token (p90 %.3f)  %.1f tokens/s  (model built in %.1f s)",
        result.prefillMs,
        result.decodeMsPerToken, result.decodeP90Ms, result.decodeTokensPerS, result.loadS))
    Self.printCounters(result.counters, per: "decode step")
    print("memory: weights \(result.weightBytes) B")
    if let kernels = result.kernels {
      let total = Self.printKernels(kernels, per: "decode step")
      if let head = result.lmHeadMs {
        print(
          String(format: "  of which the LM head's GEMM alone: %.3f ms (%.1f%%)", head, head / max(total, 1e-9) * 100))
      }
    }
  }

  func runSoak(passes: Int) throws {
    let url = URL(
      fileURLWithPath: model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] ?? "Models/all-MiniLM-L6-v2")
    let benchmark = SoakBenchmark(
      passes: passes, maxBatch: maxBatch, maxLength: maxLength, seed: seed,
      memoryBudget: memoryBudget.flatMap(SoakBenchmark.byteCount), exactBuckets: exactBuckets, warmupPasses: warmup)
    let r = try benchmark.run(model: url, progress: Self.progress)
    if json { return try Self.printJSON(r) }
    print(
      "\(r.model) on \(r.device): \(r.passes) passes, batch 1–\(r.maxBatch), length 1–\(r.maxLength), seed \(r.seed), \(r.buckets) buckets, \(String(format: "%.1f", r.seconds)) s"
    )
    print(
      "device memory: peak \(r.peakAllocatedBytes) B allocated of a \(r.budgetBytes) B budget (weights \(r.weightBytes) B, peak in use \(r.peakInUseBytes) B)"
    )
    print(
      "allocations \(r.allocations) (\(r.allocationsAfterWarmup) after \(r.warmupPasses) warm-up passes, last in pass \(r.lastAllocationPass)), evictions \(r.evictions), errors \(r.errors)"
    )
    if let error = r.firstError { print("first error: \(error)") }
  }

  // MARK: Output shared by the encoder and generation benchmarks

  static func progress(_ line: String) {
    FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
  }

  static func printJSON(_ result: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(result), as: UTF8.self))
  }

  static func printCounters(_ c: ExecutionCounters, per unit: String) {
    print(
      "per \(unit): \(c.kernelLaunches) kernel launches, \(c.uploads) uploads (\(c.bytesHostToDevice) B), \(c.readBacks) read-backs (\(c.bytesDeviceToHost) B), \(c.bufferAllocations) allocations, \(c.blockingWaits) blocking waits"
    )
  }

  /// Prints the per-kernel device times and returns their total (ms).
  @discardableResult
  static func printKernels(_ kernels: [EncoderBenchmark.KernelTime], per unit: String) -> Double {
    let total = kernels.map(\.milliseconds).reduce(0, +)
    print("kernel time per \(unit) (\(String(format: "%.2f", total)) ms on the device):")
    for kernel in kernels {
      print(
        String(
          format: "  %7.3f ms  %5.1f%%  %4d×  ", kernel.milliseconds, kernel.milliseconds / max(total, 1e-9) * 100,
          kernel.launches)
          + kernel.name)
    }
    return total
  }
}
