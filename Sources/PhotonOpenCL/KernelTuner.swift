import Foundation
import PhotonCore

/// Picks the fastest correct GEMM and attention variants for a device by timing them, and keeps
/// the choice on disk next to the program-binary cache, so it is measured once per device and
/// driver, not assumed from the device type.
///
/// A tuning run times each candidate on MiniLM-shaped work (GEMM 128×1536×384 and 128×384×1536;
/// attention 4×64 tokens, 12 heads of 32), after one untimed run that builds its kernels, and checks
/// its output against a plain host computation; a variant that is wrong is never chosen. The
/// device type's default goes first; the run keeps to a time budget (``defaultBudgetSeconds``,
/// `PHOTON_TUNE_BUDGET`): a variant stops being timed once one run takes twice the best median so
/// far, and once the budget is spent the remaining variants are not tried, so on a slow device
/// (rusticl on llvmpipe takes seconds per GEMM) the first run costs seconds, not minutes, and
/// keeps the default where nothing faster was found in time.
/// `photon tune` runs it with CLBlast among the candidates and no budget; the automatic run at
/// first use leaves CLBlast out (its first call compiles for 10–20 s).
public enum KernelTuner {
  /// One tuning result, as stored in `tuning/<device key>.json`.
  public struct Choice: Codable, Sendable, Equatable {
    public var device: String
    public var driver: String
    public var gemm: OpenCLBackend.GEMMVariant
    public var attention: OpenCLBackend.AttentionVariant
    /// Median milliseconds per candidate (`gemm:<variant>`, `attention:<variant>`); one run's
    /// time where timing stopped early (the variant was clearly slower); infinite where a
    /// candidate failed or computed a wrong result; missing where the time budget ran out first.
    public var milliseconds: [String: Double]
  }

  /// Seconds a tuning run may spend (with some overshoot: a started run is never cut short):
  /// `PHOTON_TUNE_BUDGET`, else 5.
  public static let defaultBudgetSeconds = 5.0

  static func budgetSeconds(environment: [String: String]) throws -> Double {
    guard let text = environment["PHOTON_TUNE_BUDGET"], !text.isEmpty else { return defaultBudgetSeconds }
    guard let seconds = Double(text), seconds >= 0, !seconds.isNaN else {
      throw PhotonError(.invalidArgument, "PHOTON_TUNE_BUDGET=\(text) is not a number of seconds")
    }
    return seconds
  }

  /// Whether backends tune at first use: on unless `PHOTON_TUNE=off` (the Oclgrind test run turns
  /// it off: timing an interpreter tells nothing).
  static var automatic: Bool { ProcessInfo.processInfo.environment["PHOTON_TUNE"] != "off" }

  private static let lock = NSLock()

  static func file(for device: OpenCLDevice, in directory: URL) -> URL {
    let info = device.info
    let key = "\(info.name)|\(info.vendor)|\(info.driverVersion)|\(info.platformVersion)"
    return directory.appendingPathComponent("tuning")
      .appendingPathComponent(String(format: "%016llx.json", fnv1a64(key)))
  }

  /// The stored choice for `device`, if one was made with this device and driver.
  public static func stored(for device: OpenCLDevice, in directory: URL?) -> Choice? {
    guard let directory, let data = try? Data(contentsOf: file(for: device, in: directory)),
      let choice = try? JSONDecoder().decode(Choice.self, from: data),
      choice.device == device.info.name, choice.driver == device.info.driverVersion
    else { return nil }
    return choice
  }

  /// The stored choice, or a new tuning run (stored when `directory` is given). Runs one at a
  /// time per process.
  /// - Parameters:
  ///   - budgetSeconds: how long the run may take; nil: `PHOTON_TUNE_BUDGET`, else
  ///     ``defaultBudgetSeconds``; `.infinity` times every candidate.
  public static func choice(
    for device: OpenCLDevice, in directory: URL?, includeCLBlast: Bool = false, force: Bool = false,
    budgetSeconds: Double? = nil
  ) throws -> Choice {
    let budget = try budgetSeconds ?? Self.budgetSeconds(environment: ProcessInfo.processInfo.environment)
    return try lock.withLock {
      if !force, let stored = stored(for: device, in: directory) { return stored }
      let choice = try tune(device, includeCLBlast: includeCLBlast, cacheDirectory: directory, budget: budget)
      if let directory {
        let url = file(for: device, in: directory)
        try? FileManager.default.createDirectory(
          at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = url.appendingPathExtension("\(getpid()).tmp")
        if (try? encoder.encode(choice).write(to: temporary)) != nil {
          if rename(temporary.path, url.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        }
      }
      return choice
    }
  }

  private static func tune(
    _ device: OpenCLDevice, includeCLBlast: Bool, cacheDirectory: URL?, budget: Double
  ) throws -> Choice {
    var milliseconds: [String: Double] = [:]
    var random = SplitMix64(seed: 42)

    // GEMM: both MiniLM FFN shapes at a batch-sized M, against a plain host product. The same
    // products at M = 8 come first: a cheap check that builds the kernels and, timed, tells
    // whether the real probe fits in what is left of the budget (on llvmpipe one takes ~30 s).
    let (probeM, smallM) = (128, 8)
    let shapes = [(n: 1536, k: 384), (n: 384, k: 1536)]
    let inputs = shapes.map { shape in
      (x: random.floats(probeM * shape.k), w: random.floats(shape.n * shape.k, scale: 0.1), b: random.floats(shape.n))
    }
    let references = zip(shapes, inputs).map { shape, input in
      hostLinear(input.x, input.w, input.b, m: probeM, n: shape.n, k: shape.k)
    }
    // The clock starts after the host references (slow in a debug build); GEMM may use 70% of
    // the budget, so that attention, which is cheaper to time, still gets some.
    let start = now()
    let defaultGEMM: OpenCLBackend.GEMMVariant = device.info.isGPU ? .tiledLocal : .panelRows
    var gemmCandidates = [defaultGEMM] + OpenCLBackend.GEMMVariant.allCases.filter { $0 != defaultGEMM }
    if !includeCLBlast { gemmCandidates.removeAll { $0 == .clblast } }
    let gemmDeadline = start + 0.7 * budget
    let gemmTimes = race(gemmCandidates, until: gemmDeadline, now: now) { variant in
      let backend = try OpenCLBackend(
        device: device, options: .init(gemm: variant, attention: .rowwise, cacheDirectory: cacheDirectory))
      func operands(rows: Int) throws -> [(x: Tensor, w: LinearWeight, b: Tensor)] {
        try zip(shapes, inputs).map { shape, input in
          (
            x: try backend.tensor(Array(input.x.prefix(rows * shape.k)), shape: [rows, shape.k]),
            w: try backend.linearWeight(input.w, outFeatures: shape.n, inFeatures: shape.k),
            b: try backend.tensor(input.b, shape: [shape.n])
          )
        }
      }
      /// Runs the products; checks them against the references' first rows when asked.
      func run(_ operands: [(x: Tensor, w: LinearWeight, b: Tensor)], check: Bool) throws {
        for (index, operand) in operands.enumerated() {
          let y = try backend.linear(operand.x, operand.w, bias: operand.b, activation: .gelu)
          guard check else { continue }
          let expected = references[index].prefix(y.count)
          guard maxDifference(try backend.floats(y), Array(expected)) <= 1e-3 else { throw TuningMismatch() }
        }
        try device.finish()
      }
      let small = try operands(rows: smallM)
      try run(small, check: true)
      let started = now()
      try run(small, check: false)
      // The check at the probe shape and one timed run must fit in what is left.
      let estimate = (now() - started) * Double(probeM / smallM)
      guard now() + 2 * estimate <= gemmDeadline else { return nil }
      let probe = try operands(rows: probeM)
      try run(probe, check: true)
      return { try run(probe, check: false) }
    }
    for (variant, time) in gemmTimes { milliseconds["gemm:\(variant.rawValue)"] = time }

    // Attention: packed QKV with padding, 12 heads of 32.
    let (batch, length, heads, headSize) = (4, 64, 12, 32)
    let channels = heads * headSize
    let qkv = random.floats(batch * length * 3 * channels, scale: 2)
    let mask: [Int32] = (0..<batch).flatMap { row in (0..<length).map { Int32($0 < length - 9 * row ? 1 : 0) } }
    var reference: [Float]?
    let defaultAttention: OpenCLBackend.AttentionVariant = device.info.isGPU ? .tiled : .keysVectorized
    let attentionCandidates =
      [defaultAttention] + OpenCLBackend.AttentionVariant.allCases.filter { $0 != defaultAttention }
    let attentionTimes = race(attentionCandidates, until: start + budget, now: now) { variant in
      let backend = try OpenCLBackend(
        device: device, options: .init(gemm: .packedRows, attention: variant, cacheDirectory: cacheDirectory))
      let input = try backend.tensor(qkv, shape: [batch, length, 3 * channels])
      let maskTensor = try backend.tensor(ints: mask, shape: [batch, length])
      let run = {
        try backend.attention(AttentionCall(.packed(input), heads: heads, scale: 0.17677669, mask: maskTensor))
      }
      let output = try backend.floats(run())
      // Variants are checked against each other: the first one's result is compared with the
      // CPU reference in the test suite; here a variant that disagrees by more than 1e-4 loses.
      if let reference, maxDifference(output, reference) > 1e-4 { throw TuningMismatch() }
      reference = reference ?? output
      let timed = {
        _ = try run()
        try device.finish()
      }
      let started = now()
      try timed()  // the first run built the kernels; this one says what a timed run costs
      guard now() + (now() - started) <= start + budget else { return nil }
      return timed
    }
    for (variant, time) in attentionTimes { milliseconds["attention:\(variant.rawValue)"] = time }

    // Untimed (budget spent) or all failed: the device type's default, as without tuning.
    let gemm = fastest(gemmTimes) ?? defaultGEMM
    let attention = fastest(attentionTimes) ?? defaultAttention
    return Choice(
      device: device.info.name, driver: device.info.driverVersion, gemm: gemm, attention: attention,
      milliseconds: milliseconds)
  }

  /// Seconds on a monotonic clock.
  static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

  /// Times `candidates` in order until `deadline` (seconds on `now`'s clock). `prepare` makes a
  /// candidate ready and checks it (untimed runs that build its kernels; it throws when the
  /// candidate fails or is wrong) and returns one run to time, which waits for the device, or nil
  /// when it found that a timed run would not fit before the deadline.
  ///
  /// Returns the median milliseconds of up to 3 timed runs per candidate: fewer where the next
  /// run, taking as long as the last, would end past the deadline; one where that run took more
  /// than twice the best median so far (clearly slower: a lower bound is enough to lose);
  /// infinity where it failed. Candidates not reached before the deadline, or whose `prepare`
  /// returned nil, are absent. A started run is never cut short.
  static func race<Candidate: Hashable>(
    _ candidates: [Candidate], until deadline: Double, now: () -> Double,
    prepare: (Candidate) throws -> (() throws -> Void)?
  ) -> [Candidate: Double] {
    var results: [Candidate: Double] = [:]
    var best = Double.infinity
    for candidate in candidates {
      guard now() < deadline else { break }
      var times: [Double] = []
      do {
        guard let run = try prepare(candidate) else { continue }
        for _ in 0..<3 {
          let start = now()
          try run()
          times.append(now() - start)
          if times.last! * 1000 > 2 * best || now() + times.last! > deadline { break }
        }
      } catch {
        times = [.infinity]  // a candidate that fails or is wrong on this device is never chosen
      }
      let median = times.sorted()[times.count / 2] * 1000
      results[candidate] = median
      best = min(best, median)
    }
    return results
  }

  /// The candidate with the smallest finite time.
  static func fastest<Candidate>(_ times: [Candidate: Double]) -> Candidate? {
    times.filter { $0.value.isFinite }.min { $0.value < $1.value }?.key
  }

  private struct TuningMismatch: Error {}

  private static func hostLinear(_ x: [Float], _ w: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
    var y = [Float](repeating: 0, count: m * n)
    for row in 0..<m {
      for column in 0..<n {
        var sum: Float = 0
        for i in 0..<k { sum += x[row * k + i] * w[column * k + i] }
        let v = Double(sum + b[column])
        y[row * n + column] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
      }
    }
    return y
  }

  private static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for i in a.indices {
      let d = abs(a[i] - b[i])
      if !(d <= worst) { worst = d.isNaN ? .infinity : d }
    }
    return worst
  }
}

extension SplitMix64 {
  /// Seeded inputs uniform in ±scale, so every tuning run times the same work.
  fileprivate mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
    (0..<count).map { _ in (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
  }
}
