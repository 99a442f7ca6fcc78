import ArgumentParser
import Foundation
import Photon
import PhotonOpenCL

/// `photon bench-gemm`: times the linear op y = x·Wᵀ + b on the OpenCL backend, per GEMM variant.
///
/// Each timed run enqueues one `linear` and waits for the queue (`clFinish`), so a figure is the
/// kernel(s) plus one launch and one wait; GFLOP/s = 2·M·N·K / time. Inputs are seeded random
/// values; the weight is packed once, as at model load, outside the timing.
struct BenchGEMMCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-gemm",
    abstract: "Time the OpenCL linear op (GEMM + bias) and print GFLOP/s per variant.",
    discussion: """
      Compare with the peer script at the same shapes:
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 Benchmarks/gemm_peer.py
      """)

  @Option(help: "Rows of x (tokens).") var m = 4096
  @Option(help: "Output features (rows of the HF weight).") var n = 1536
  @Option(help: "Input features.") var k = 384
  @Option(
    help: "Several shapes at once, as MxNxK[,MxNxK…]; replaces --m/--n/--k.")
  var shapes: String?
  @Option(
    help:
      "A GEMM variant (\(OpenCLBackend.GEMMVariant.allCases.map(\.rawValue).joined(separator: "|"))) or all."
  )
  var variant = "all"
  @Option(help: "Timed runs per variant and shape.") var iterations = 10
  @Option(help: "Untimed runs first (kernel builds, caches).") var warmup = 2
  @Flag(help: "Print one JSON array instead of a table.") var json = false

  struct Result: Encodable {
    let variant: String
    let m: Int, n: Int, k: Int
    let iterations: Int
    let medianMs: Double, p90Ms: Double, minMs: Double
    let medianGFLOPS: Double, p90GFLOPS: Double
    /// Process CPU time (all threads) per run: on a shared, noisy machine, GFLOP per CPU-second
    /// times the core count estimates what the kernel would do on idle cores.
    let cpuMsPerRun: Double
  }

  /// User + system CPU time of this process, in milliseconds.
  private static func cpuMilliseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1e3 + Double(usage.ru_utime.tv_usec) / 1e3
    let system = Double(usage.ru_stime.tv_sec) * 1e3 + Double(usage.ru_stime.tv_usec) / 1e3
    return user + system
  }

  func validate() throws {
    guard iterations > 0, warmup >= 0 else {
      throw ValidationError("--iterations must be > 0 and --warmup ≥ 0")
    }
    if variant != "all" && OpenCLBackend.GEMMVariant(rawValue: variant) == nil {
      throw ValidationError(
        "--variant \(variant) is not one of \(OpenCLBackend.GEMMVariant.allCases.map(\.rawValue)) or all"
      )
    }
    _ = try parsedShapes()
  }

  private func parsedShapes() throws -> [(m: Int, n: Int, k: Int)] {
    guard let shapes else {
      guard m > 0, n > 0, k > 0 else { throw ValidationError("--m, --n and --k must be > 0") }
      return [(m, n, k)]
    }
    return try shapes.split(separator: ",").map { text in
      let parts = text.split(separator: "x").compactMap { Int($0) }
      guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
        throw ValidationError("--shapes: \(text) is not MxNxK")
      }
      return (parts[0], parts[1], parts[2])
    }
  }

  func run() throws {
    let variants =
      variant == "all"
      ? OpenCLBackend.GEMMVariant.allCases : [OpenCLBackend.GEMMVariant(rawValue: variant)!]
    var results: [Result] = []
    var deviceName = ""
    for shape in try parsedShapes() {
      var random = SystemRandomNumberGenerator()
      let x = (0..<(shape.m * shape.k)).map { _ in Float.random(in: -1...1, using: &random) }
      let w = (0..<(shape.n * shape.k)).map { _ in Float.random(in: -0.2...0.2, using: &random) }
      let b = (0..<shape.n).map { _ in Float.random(in: -1...1, using: &random) }
      for variant in variants {
        let backend = try OpenCLBackend(options: .init(gemm: variant))
        deviceName = backend.deviceName
        let weight = try backend.linearWeight(w, outFeatures: shape.n, inFeatures: shape.k)
        let xt = try backend.tensor(x, shape: [shape.m, shape.k])
        let bt = try backend.tensor(b, shape: [shape.n])
        func once() throws -> Double {
          let start = DispatchTime.now().uptimeNanoseconds
          _ = try backend.linear(xt, weight, bias: bt, activation: .identity)
          try backend.device.finish()
          return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        for _ in 0..<warmup { _ = try once() }
        let cpuStart = Self.cpuMilliseconds()
        let times = try (0..<iterations).map { _ in try once() }.sorted()
        let cpuMs = (Self.cpuMilliseconds() - cpuStart) / Double(iterations)
        let median = times[times.count / 2]
        let p90 = times[min(times.count - 1, Int((Double(times.count) * 0.9).rounded(.up)) - 1)]
        let flop = 2.0 * Double(shape.m) * Double(shape.n) * Double(shape.k)
        let result = Result(
          variant: variant.rawValue, m: shape.m, n: shape.n, k: shape.k, iterations: iterations,
          medianMs: median, p90Ms: p90, minMs: times[0], medianGFLOPS: flop / median / 1e6,
          p90GFLOPS: flop / p90 / 1e6, cpuMsPerRun: cpuMs)
        results.append(result)
        if !json {
          print(
            variant.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
              + String(
                format:
                  " M=%-5d N=%-5d K=%-5d  median %9.3f ms  p90 %9.3f ms  %7.1f GFLOP/s (p90 %6.1f)  cpu %8.3f ms/run",
                shape.m, shape.n, shape.k, median, p90, result.medianGFLOPS, result.p90GFLOPS, cpuMs
              ))
        }
      }
    }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(results), as: UTF8.self))
    } else {
      print(
        "device: \(deviceName); \(iterations) runs after \(warmup) warm-up, bias fused, identity activation"
      )
    }
  }
}
