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
      """)

  @Option(help: "Model folder (default: $PHOTON_MODEL, else Models/all-MiniLM-L6-v2).")
  var model: String?
  @Option(help: "cpu or gpu.") var backend: BackendKind?
  @Option(help: "Linear weights as fp32, fp16 or int8 (encoders; with --generate GPT-2's Conv1D weights and LM head). Default: the folder's own (fp32 unless written by photon quantize).")
  var precision: Precision?
  @Option(help: "Sequences per batch.") var batch = 1
  @Option(help: "Tokens per sequence.") var seq = 128
  @Option(help: "Timed runs (default 10; generations with --generate: 3).") var iterations: Int?
  @Option(help: "Untimed runs first (default 2; with --generate: 1).") var warmup: Int?
  @Flag(help: "Time GPT-2 generation (prefill and decode steps) instead of an encoder pass.")
  var generate = false
  @Option(help: "Prompt tokens (--generate).") var promptLen = 128
  @Option(help: "New tokens per run (--generate).") var newTokens = 128
  @Option(help: "Random weights for a named config instead of --model: gpt2-small, gpt2-medium, distilgpt2 (--generate).")
  var randomConfig: String?
  @Option(help: "Seed of the random weights (--random-config).") var seed: UInt64 = 0
  @Flag(help: "Per-kernel device time from OpenCL profiling events (gpu).") var profile = false
  @Flag(help: "Print one JSON object.") var json = false

  func validate() throws {
    guard batch > 0, seq > 0 else { throw ValidationError("--batch and --seq must be positive, got \(batch)×\(seq)") }
    guard (iterations ?? 1) > 0, (warmup ?? 0) >= 0 else { throw ValidationError("--iterations must be > 0 and --warmup ≥ 0") }
    guard promptLen > 0, newTokens > 0 else {
      throw ValidationError("--prompt-len and --new-tokens must be positive, got \(promptLen), \(newTokens)")
    }
    if randomConfig != nil && !generate { throw ValidationError("--random-config needs --generate") }
    if randomConfig != nil && model != nil { throw ValidationError("give --model or --random-config, not both") }
  }

  func run() throws {
    if generate { return try runGenerate() }
    let iterations = iterations ?? 10
    let warmup = warmup ?? 2
    let url = URL(fileURLWithPath: model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] ?? "Models/all-MiniLM-L6-v2")
    let kind = backend ?? .preferred
    var benchmark = EncoderBenchmark(batch: batch, sequence: seq, iterations: iterations, warmup: warmup, profile: profile)
    benchmark.precision = precision
    let result = try benchmark.run(model: url, backend: kind, progress: Self.progress)
    if json { return try Self.printJSON(result) }
    print("\(url.lastPathComponent) on \(result.device) (\(result.backend)), \(batch)×\(seq), \(iterations) runs")
    print(String(format: "median %.3f ms  p90 %.3f ms  min %.3f ms", result.medianMs, result.p90Ms, result.minMs))
    print(String(format: "%.0f tokens/s  %.1f sentences/s  %.1f GFLOP/s", result.tokensPerS, result.sentencesPerS, result.gflops))
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
        format: "prefill %.2f ms  decode %.3f ms/token (p90 %.3f)  %.1f tokens/s  (model built in %.1f s)", result.prefillMs,
        result.decodeMsPerToken, result.decodeP90Ms, result.decodeTokensPerS, result.loadS))
    Self.printCounters(result.counters, per: "decode step")
    print("memory: weights \(result.weightBytes) B")
    if let kernels = result.kernels {
      let total = Self.printKernels(kernels, per: "decode step")
      if let head = result.lmHeadMs {
        print(String(format: "  of which the LM head's GEMM alone: %.3f ms (%.1f%%)", head, head / max(total, 1e-9) * 100))
      }
    }
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
        String(format: "  %7.3f ms  %5.1f%%  %4d×  ", kernel.milliseconds, kernel.milliseconds / max(total, 1e-9) * 100, kernel.launches)
          + kernel.name)
    }
    return total
  }
}
