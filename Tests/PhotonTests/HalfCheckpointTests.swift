import Foundation
import Photon
import PhotonCore
import PhotonLoading
import PhotonTestSupport
import Testing

/// An ordinary F16 checkpoint (no `quantization_config`) loaded at fp16: its linear weights go to
/// the backend as their stored bits, with no fp32 round trip, and compute exactly what the fp32
/// checkpoint rounded to fp16 at load computes.
@Suite("F16 checkpoints at fp16")
struct HalfCheckpointTests {
  static let texts = ["A man is eating food.", "x"]

  /// tiny-bert with every F32 tensor written as F16 (round to nearest even, as Float16 does);
  /// `poison` sets element 0 of that tensor to +inf.
  static func halfCopy(to url: URL, poison: String? = nil) throws -> URL {
    let tiny = Fixtures.url("tiny-models/tiny-bert")
    let files = FileManager.default
    try files.createDirectory(at: url, withIntermediateDirectories: true)
    for name in try files.contentsOfDirectory(atPath: tiny.path) where name != "model.safetensors" {
      try files.copyItem(at: tiny.appendingPathComponent(name), to: url.appendingPathComponent(name))
    }
    let source = try SafeTensorsFile(url: tiny.appendingPathComponent("model.safetensors"))
    var writer = SafeTensorsWriter(metadata: ["format": "pt"])
    for name in source.names {
      let info = try #require(source.info(name))
      guard info.dtype == .float32 else { continue }
      var values = try source.floats(name).values
      if name == poison { values[0] = .infinity }
      let bits = values.map { Float16($0).bitPattern }
      try writer.add(name, dtype: .float16, shape: info.shape) { SafeTensorsWriter.bytes(of: bits) }
    }
    try writer.write(to: url.appendingPathComponent("model.safetensors"))
    return url
  }

  @Test(arguments: BackendKind.allCases)
  func halfCheckpointEqualsFp32RoundedAtLoad(backend: BackendKind) throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("photon-f16-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let half = try Self.halfCopy(to: scratch)
    // The same F16 file at fp16 (linear weights as their bits) and at fp32 (widened exactly):
    // the same numbers, so equal up to fp32 rounding in the two GEMM kernels — far tighter than
    // fp16 against fp32 weights would be.
    let direct = try SentenceEmbedder(model: half, backend: backend, precision: .fp16).embed(Self.texts)
    let widened = try SentenceEmbedder(model: half, backend: backend, precision: .fp32).embed(Self.texts)
    #expect(direct.count == 2 && direct.allSatisfy { $0.allSatisfy(\.isFinite) })
    for (a, b) in zip(direct, widened) { expectClose(a, b, atol: 1e-5, "\(backend) F16 file at fp16 vs fp32") }
  }

  /// The bits are checked as fp16 conversion checks floats: an inf is an error naming the tensor.
  @Test func nonFiniteHalfWeightIsNamed() throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("photon-f16-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let name = "encoder.layer.0.attention.self.key.weight"
    let half = try Self.halfCopy(to: scratch, poison: name)
    #expect {
      _ = try SentenceEmbedder(model: half, backend: .cpu, precision: .fp16)
    } throws: { error in
      "\(error)".contains(name) && "\(error)".contains("inf")
    }
  }
}
