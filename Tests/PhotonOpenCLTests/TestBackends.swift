import Foundation
import PhotonCPU
import PhotonCore
@testable import PhotonOpenCL

/// The backends every equivalence test compares. The OpenCL device is the one `PHOTON_DEVICE`
/// names (PoCL in CI, Oclgrind in its second run); when none can be opened the tests fail — they
/// never skip.
enum TestBackends {
  static let cpu = CPUBackend()

  private static let device: Result<OpenCLDevice, any Error> = Result { try OpenCLDevice.select() }

  private static let lock = NSLock()
  nonisolated(unsafe) private static var backends: [String: OpenCLBackend] = [:]

  /// The OpenCL backend with the given variants forced (nil: the device's default).
  static func gpu(
    gemm: OpenCLBackend.GEMMVariant? = nil, attention: OpenCLBackend.AttentionVariant? = nil,
    norm: OpenCLBackend.NormVariant? = nil
  ) throws -> OpenCLBackend {
    let device = try device.get()
    let key = "\(gemm?.rawValue ?? "-")/\(attention?.rawValue ?? "-")/\(norm?.rawValue ?? "-")"
    return try lock.withLock {
      if let backend = backends[key] { return backend }
      let backend = try OpenCLBackend(device: device, options: .init(gemm: gemm, attention: attention, norm: norm))
      backends[key] = backend
      return backend
    }
  }

  /// GEMM variants under test. CLBlast's kernels are too large for the Oclgrind interpreter at
  /// any useful speed, so the small-shape (Oclgrind) run covers our own kernels only.
  static var gemmVariants: [OpenCLBackend.GEMMVariant] {
    ProcessInfo.processInfo.environment["PHOTON_TEST_SMALL"] == "1"
      ? OpenCLBackend.GEMMVariant.allCases.filter { $0 != .clblast } : OpenCLBackend.GEMMVariant.allCases
  }
}
