import ArgumentParser
import Foundation
import Photon

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time an encoder forward pass on random token ids of one shape.",
    discussion: """
      Reports median and p90 latency, tokens/s, sentences/s, effective GFLOP/s with
      FLOPs = layers · (2·B·T·(4C² + 2·C·I) + 4·B·T²·C), the per-pass counters (uploads, read-backs,
      kernel launches, buffer allocations, blocking waits), peak activation and weight memory, and
      with --profile the device time per kernel.
      """)

  @Option(help: "Model folder (default: $PHOTON_MODEL, else Models/all-MiniLM-L6-v2).")
  var model: String?
  @Option(help: "cpu or gpu.") var backend: BackendKind?
  @Option(help: "Sequences per batch.") var batch = 1
  @Option(help: "Tokens per sequence.") var seq = 128
  @Option(help: "Timed runs.") var iterations = 10
  @Option(help: "Untimed runs first.") var warmup = 2
  @Flag(help: "Per-kernel device time from OpenCL profiling events (gpu).") var profile = false
  @Flag(help: "Print one JSON object.") var json = false

  func validate() throws {
    guard batch > 0, seq > 0 else { throw ValidationError("--batch and --seq must be positive, got \(batch)×\(seq)") }
    guard iterations > 0, warmup >= 0 else { throw ValidationError("--iterations must be > 0 and --warmup ≥ 0") }
  }

  func run() throws {
    let url = URL(fileURLWithPath: model ?? ProcessInfo.processInfo.environment["PHOTON_MODEL"] ?? "Models/all-MiniLM-L6-v2")
    let kind = backend ?? .preferred
    let benchmark = EncoderBenchmark(batch: batch, sequence: seq, iterations: iterations, warmup: warmup, profile: profile)
    let result = try benchmark.run(model: url, backend: kind) { line in
      FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
    }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      print(String(decoding: try encoder.encode(result), as: UTF8.self))
      return
    }
    print("\(url.lastPathComponent) on \(result.device) (\(result.backend)), \(batch)×\(seq), \(iterations) runs")
    print(String(format: "median %.3f ms  p90 %.3f ms  min %.3f ms", result.medianMs, result.p90Ms, result.minMs))
    print(String(format: "%.0f tokens/s  %.1f sentences/s  %.1f GFLOP/s", result.tokensPerS, result.sentencesPerS, result.gflops))
    let c = result.counters
    print(
      "per pass: \(c.kernelLaunches) kernel launches, \(c.uploads) uploads (\(c.bytesHostToDevice) B), \(c.readBacks) read-backs (\(c.bytesDeviceToHost) B), \(c.bufferAllocations) allocations, \(c.blockingWaits) blocking waits"
    )
    print("memory: weights \(result.weightBytes) B, peak activations \(result.peakActivationBytes) B")
    if let kernels = result.kernels {
      let total = kernels.map(\.milliseconds).reduce(0, +)
      print("kernel time per pass (\(String(format: "%.2f", total)) ms on the device):")
      for kernel in kernels {
        print(
          String(format: "  %6.2f ms  %5.1f%%  %4d×  ", kernel.milliseconds, kernel.milliseconds / max(total, 1e-9) * 100, kernel.launches)
            + kernel.name)
      }
    }
  }
}
