import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

@Suite("Kernel tuning: measured per device, stored, reused")
struct KernelTunerTests {
  @Test(
    .disabled(
      if: smallShapesOnly,
      "the small-shape runs (Oclgrind, rusticl) are on devices where timing every variant tells nothing and takes minutes"
    ))
  func tuningChoosesAMeasuredVariantAndIsStored() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "photon-tune-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: directory) }
    let device = try OpenCLDevice.select()
    #expect(KernelTuner.stored(for: device, in: directory) == nil)
    // Every candidate timed (no budget): compiling the kernels into an empty cache alone can take
    // longer than the default budget on a loaded machine.
    let choice = try KernelTuner.choice(for: device, in: directory, budgetSeconds: .infinity)
    // The chosen variants ran correctly, and no faster correct one was passed over.
    let gemm = try #require(choice.milliseconds["gemm:\(choice.gemm.rawValue)"])
    #expect(gemm.isFinite)
    #expect(choice.milliseconds.filter { $0.key.hasPrefix("gemm:") }.values.allSatisfy { $0 >= gemm })
    let attention = try #require(choice.milliseconds["attention:\(choice.attention.rawValue)"])
    #expect(choice.milliseconds.filter { $0.key.hasPrefix("attention:") }.values.allSatisfy { $0 >= attention })
    #expect(choice.milliseconds["gemm:clblast"] == nil)  // left out of the automatic run
    // Stored and reused: a backend made afterwards uses it without tuning again.
    #expect(KernelTuner.stored(for: device, in: directory) == choice)
    let backend = try OpenCLBackend(device: device, options: .init(cacheDirectory: directory))
    #expect(backend.gemmVariant == choice.gemm && backend.attentionVariant == choice.attention)
    // A corrupt file is ignored (and replaced by the next run), never trusted.
    try Data("{not json".utf8).write(to: KernelTuner.file(for: device, in: directory))
    #expect(KernelTuner.stored(for: device, in: directory) == nil)
    // A spent budget times nothing and keeps the device type's defaults.
    let untimed = try KernelTuner.choice(for: device, in: directory, force: true, budgetSeconds: 0)
    #expect(untimed.milliseconds.isEmpty)
    #expect(untimed.gemm == (device.info.isGPU ? .tiledLocal : .panelRows))
    #expect(untimed.attention == (device.info.isGPU ? .tiled : .keysVectorized))
  }

  /// The race on a fake clock: each candidate's preparation and each timed run cost its `cost`
  /// seconds; a preparation that leaves no time for a run returns nil, as the tuner's do.
  static func fakeRace(costs: [Double], failing: Set<Int> = [], budget: Double) -> (
    times: [Int: Double], runs: [Int: Int], elapsed: Double
  ) {
    var clock = 0.0
    var runs: [Int: Int] = [:]
    let times = KernelTuner.race(Array(costs.indices), until: budget, now: { clock }) { candidate in
      clock += costs[candidate]
      if failing.contains(candidate) { throw PhotonError(.openCL, "wrong result") }
      guard clock + costs[candidate] <= budget else { return nil }
      return {
        clock += costs[candidate]
        runs[candidate, default: 0] += 1
      }
    }
    return (times, runs, clock)
  }

  @Test func tuningKeepsToItsTimeBudget() {
    // 1 s, then a 3 s variant that no longer fits, then fast ones the 6 s budget does not reach.
    let (times, runs, elapsed) = Self.fakeRace(costs: [1, 3, 0.5, 0.5, 0.5], budget: 6)
    #expect(times[0] == 1000 && runs[0] == 3)
    #expect(times[1] == nil && runs[1] == nil)
    // Past the deadline: not tried, so absent (the caller keeps the default for them).
    #expect(times[2] == nil && times[3] == nil && times[4] == nil && runs[2] == nil)
    // Overrun at most one candidate's preparation.
    #expect(elapsed <= 6 + 3, "took \(elapsed) s of a 6 s budget")
    #expect(KernelTuner.fastest(times) == 0)

    // No run starts that would end past the deadline: two 2 s runs fit in 7 s after preparing.
    let (tight, tightRuns, tightElapsed) = Self.fakeRace(costs: [2], budget: 7)
    #expect(tightRuns[0] == 2 && tight[0] == 2000 && tightElapsed <= 7)

    // A failing candidate is infinite, never chosen; one clearly slower than the best so far is
    // timed once; with time left every candidate is timed.
    let (all, allRuns, _) = Self.fakeRace(costs: [1, 0.25, 0.5, 2.5], failing: [1], budget: 100)
    #expect(all[1] == .infinity && allRuns[1] == nil)
    #expect(all[2] == 500 && allRuns[2] == 3)
    #expect(all[3] == 2500 && allRuns[3] == 1)
    #expect(KernelTuner.fastest(all) == 2)

    // No budget at all: nothing timed, no choice (the device's default is used).
    let (none, _, noneElapsed) = Self.fakeRace(costs: [1, 1], budget: 0)
    #expect(none.isEmpty && noneElapsed == 0 && KernelTuner.fastest(none) == nil)
  }

  @Test func budgetComesFromTheEnvironmentAndIsChecked() throws {
    #expect(try KernelTuner.budgetSeconds(environment: [:]) == KernelTuner.defaultBudgetSeconds)
    #expect(try KernelTuner.budgetSeconds(environment: ["PHOTON_TUNE_BUDGET": "1.5"]) == 1.5)
    for bad in ["soon", "-1", "nan"] {
      #expect(throws: PhotonError.self, "\(bad)") {
        _ = try KernelTuner.budgetSeconds(environment: ["PHOTON_TUNE_BUDGET": bad])
      }
    }
  }
}
