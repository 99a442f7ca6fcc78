import Foundation
import PhotonCore

/// Picks the fastest correct GEMM and attention variants for a device by timing them, and keeps
/// the choice on disk next to the program-binary cache, so it is measured once per device and
/// driver, not assumed from the device type.
///
/// A tuning run times each candidate on MiniLM-shaped work (GEMM 256×1536×384 and 256×384×1536;
/// attention 4×64 tokens, 12 heads of 32), after one untimed run that builds its kernels, and checks
/// its output against a plain host computation; a variant that is wrong is never chosen.
/// `photon tune` runs it with CLBlast among the candidates; the automatic run at first use leaves
/// CLBlast out (its first call compiles for 10–20 s).
public enum KernelTuner {
  /// One tuning result, as stored in `tuning/<device key>.json`.
  public struct Choice: Codable, Sendable, Equatable {
    public var device: String
    public var driver: String
    public var gemm: OpenCLBackend.GEMMVariant
    public var attention: OpenCLBackend.AttentionVariant
    /// Median milliseconds per candidate (`gemm:<variant>`, `attention:<variant>`); missing or
    /// infinite where a candidate failed or computed a wrong result.
    public var milliseconds: [String: Double]
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
  public static func choice(
    for device: OpenCLDevice, in directory: URL?, includeCLBlast: Bool = false, force: Bool = false
  ) throws -> Choice {
    try lock.withLock {
      if !force, let stored = stored(for: device, in: directory) { return stored }
      let choice = try tune(device, includeCLBlast: includeCLBlast, cacheDirectory: directory)
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

  private static func tune(_ device: OpenCLDevice, includeCLBlast: Bool, cacheDirectory: URL?) throws -> Choice {
    var milliseconds: [String: Double] = [:]
    var random = SplitMix64(seed: 42)

    // GEMM: both MiniLM FFN shapes at a batch-sized M, against a plain host product.
    let shapes = [(m: 256, n: 1536, k: 384), (m: 256, n: 384, k: 1536)]
    let inputs = shapes.map { shape in
      (x: random.floats(shape.m * shape.k), w: random.floats(shape.n * shape.k, scale: 0.1), b: random.floats(shape.n))
    }
    let references = zip(shapes, inputs).map { shape, input in
      hostLinear(input.x, input.w, input.b, m: shape.m, n: shape.n, k: shape.k)
    }
    var gemmCandidates = OpenCLBackend.GEMMVariant.allCases
    if !includeCLBlast { gemmCandidates.removeAll { $0 == .clblast } }
    var bestGEMM: (OpenCLBackend.GEMMVariant, Double)?
    for variant in gemmCandidates {
      let backend = try OpenCLBackend(
        device: device, options: .init(gemm: variant, attention: .rowwise, cacheDirectory: cacheDirectory))
      var total = 0.0
      do {
        for (index, shape) in shapes.enumerated() {
          let weight = try backend.linearWeight(inputs[index].w, outFeatures: shape.n, inFeatures: shape.k)
          let x = try backend.tensor(inputs[index].x, shape: [shape.m, shape.k])
          let bias = try backend.tensor(inputs[index].b, shape: [shape.n])
          let output = try backend.floats(backend.linear(x, weight, bias: bias, activation: .gelu))
          guard maxDifference(output, references[index]) <= 1e-3 else { throw TuningMismatch() }
          total += try medianMilliseconds(device) { _ = try backend.linear(x, weight, bias: bias, activation: .gelu) }
        }
      } catch {
        total = .infinity  // a variant that fails or is wrong on this device is never chosen
      }
      milliseconds["gemm:\(variant.rawValue)"] = total
      if total < (bestGEMM?.1 ?? .infinity) { bestGEMM = (variant, total) }
    }

    // Attention: packed QKV with padding, 12 heads of 32.
    let (batch, length, heads, headSize) = (4, 64, 12, 32)
    let channels = heads * headSize
    let qkv = random.floats(batch * length * 3 * channels, scale: 2)
    let mask: [Int32] = (0..<batch).flatMap { row in (0..<length).map { Int32($0 < length - 9 * row ? 1 : 0) } }
    var reference: [Float]?
    var bestAttention: (OpenCLBackend.AttentionVariant, Double)?
    for variant in OpenCLBackend.AttentionVariant.allCases {
      let backend = try OpenCLBackend(
        device: device, options: .init(gemm: .packedRows, attention: variant, cacheDirectory: cacheDirectory))
      var time = Double.infinity
      do {
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
        time = try medianMilliseconds(device) { _ = try run() }
      } catch {}
      milliseconds["attention:\(variant.rawValue)"] = time
      if time < (bestAttention?.1 ?? .infinity) { bestAttention = (variant, time) }
    }

    guard let gemm = bestGEMM?.0, let attention = bestAttention?.0 else {
      throw PhotonError(.openCL, "kernel tuning on \(device.info.name): no variant ran correctly (\(milliseconds))")
    }
    return Choice(
      device: device.info.name, driver: device.info.driverVersion, gemm: gemm, attention: attention,
      milliseconds: milliseconds)
  }

  private struct TuningMismatch: Error {}

  /// Median of 3 timed runs (each waited for), after the caller's untimed first run.
  private static func medianMilliseconds(_ device: OpenCLDevice, _ body: () throws -> Void) throws -> Double {
    var times: [Double] = []
    for _ in 0..<3 {
      let start = DispatchTime.now().uptimeNanoseconds
      try body()
      try device.finish()
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return times.sorted()[1]
  }

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
