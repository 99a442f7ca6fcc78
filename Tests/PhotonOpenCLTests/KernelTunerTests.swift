import Foundation
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

@Suite("Kernel tuning: measured per device, stored, reused")
struct KernelTunerTests {
  @Test(.disabled(if: smallShapesOnly, "timing an interpreter (Oclgrind) tells nothing and takes minutes"))
  func tuningChoosesAMeasuredVariantAndIsStored() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "photon-tune-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: directory) }
    let device = try OpenCLDevice.select()
    #expect(KernelTuner.stored(for: device, in: directory) == nil)
    let choice = try KernelTuner.choice(for: device, in: directory)
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
  }
}
