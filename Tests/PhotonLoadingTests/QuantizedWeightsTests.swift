import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

/// Reading the linear weights of a `photon quantize` folder: I8 + F32 block scales or F16, and
/// every way such a folder can be inconsistent.
@Suite struct QuantizedWeightsTests {
  static let int8Config = #"{"quant_method": "photon", "bits": 8, "group_size": 32}"#

  /// A folder with tiny-bert's config (plus `quantization`, if given) and the tensors `add` writes.
  static func folder(
    _ directory: TemporaryDirectory, quantization: String?, _ add: (inout SafeTensorsWriter) throws -> Void
  ) throws -> ModelFolder {
    var config = try String(contentsOf: Fixtures.url("tiny-models/tiny-bert/config.json"), encoding: .utf8)
    if let quantization {
      config = String(config[..<config.lastIndex(of: "}")!]) + #", "quantization_config": "# + quantization + "}"
    }
    try directory.write("config.json", config)
    var writer = SafeTensorsWriter(metadata: ["format": "pt"])
    try add(&writer)
    try writer.write(to: directory.url.appendingPathComponent("model.safetensors"))
    return try ModelFolder(url: directory.url)
  }

  /// Seeded weights `[rows, columns]` in about ±1.
  static func weights(_ rows: Int, _ columns: Int, seed: UInt64 = 7) -> [Float] {
    var state = seed
    return (0..<(rows * columns)).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int(state >> 40) % 2001 - 1000) / 1000
    }
  }

  static func addInt8(
    _ writer: inout SafeTensorsWriter, _ name: String, _ values: [Float], _ rows: Int, _ columns: Int,
    scaleDType: SafeTensorsDType = .float32, scaleShape: [Int]? = nil, scales: Bool = true
  ) throws {
    let (q, s) = Quantization.int8Blocks(values, rows: rows, columns: columns)
    try writer.add(name, dtype: .int8, shape: [rows, columns]) { SafeTensorsWriter.bytes(of: q) }
    guard scales else { return }
    let shape = scaleShape ?? [rows, Quantization.blocks(columns)]
    let written = Array(s.prefix(shape.elementCount))  // a wrong shape gets as many scales as it holds
    try writer.add(name + "_scale", dtype: scaleDType, shape: shape) {
      scaleDType == .float16
        ? SafeTensorsWriter.bytes(of: Quantization.halfBits(written)) : SafeTensorsWriter.bytes(of: written)
    }
  }

  /// in = 40: one full block and a short one of 8; the scales are `[out, 2]`, the short block's
  /// from its 8 real weights, and what is read back is exactly what was quantized.
  @Test func shortLastBlockRoundTrips() throws {
    let directory = try TemporaryDirectory()
    let values = Self.weights(5, 40)
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      try Self.addInt8(&$0, "dense.weight", values, 5, 40)
    }
    #expect(folder.quantization == QuantizationConfig(precision: .int8))
    let stored = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 5, inFeatures: 40)
    let (q, scales) = Quantization.int8Blocks(values, rows: 5, columns: 40)
    #expect(stored == .int8(q: q, scales: scales))
    #expect(scales.count == 10)
    for row in 0..<5 {
      let tail = values[(row * 40 + 32)..<(row * 40 + 40)].map(abs).max()!
      #expect(scales[row * 2 + 1] == tail / 127)
    }
  }

  @Test func fp16FolderGivesHalfBits() throws {
    let directory = try TemporaryDirectory()
    let bits = Quantization.halfBits(Self.weights(3, 33))
    let folder = try Self.folder(directory, quantization: #"{"quant_method": "photon", "bits": 16}"#) {
      try $0.add("dense.weight", dtype: .float16, shape: [3, 33]) { SafeTensorsWriter.bytes(of: bits) }
    }
    #expect(try folder.loadPrecision(nil) == .fp16)
    #expect(
      try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 3, inFeatures: 33) == .half(bits))
  }

  @Test func missingScaleNamesWeightAndScale() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      try Self.addInt8(&$0, "dense.weight", Self.weights(4, 64), 4, 64, scales: false)
    }
    expectPhotonError(.missingTensor, mentioning: ["'dense.weight'", "'dense.weight_scale'", "F32 [4, 2]"]) {
      _ = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 4, inFeatures: 64)
    }
  }

  @Test func scaleOfTheWrongShapeNamesBothTensorsAndShapes() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      // [4, 1]: as if the short block had been dropped (in = 40 needs 2 blocks).
      try Self.addInt8(&$0, "dense.weight", Self.weights(4, 40), 4, 40, scaleShape: [4, 1])
    }
    expectPhotonError(
      .shapeMismatch, mentioning: ["'dense.weight_scale'", "[4, 1]", "'dense.weight'", "[4, 40]", "[4, 2]"]
    ) {
      _ = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 4, inFeatures: 40)
    }
  }

  @Test func scaleOfTheWrongDTypeIsNamed() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      try Self.addInt8(&$0, "dense.weight", Self.weights(4, 64), 4, 64, scaleDType: .float16)
    }
    expectPhotonError(.invalidFile, mentioning: ["'dense.weight_scale'", "F16", "F32 [4, 2]"]) {
      _ = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 4, inFeatures: 64)
    }
  }

  @Test func nonFiniteScaleIsNamed() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      try $0.add("dense.weight", dtype: .int8, shape: [2, 32]) { Data(count: 64) }
      try $0.add("dense.weight_scale", dtype: .float32, shape: [2, 1]) { SafeTensorsWriter.bytes(of: [1, Float.nan]) }
    }
    expectPhotonError(.invalidFile, mentioning: ["'dense.weight_scale'", "element 1", "row 1", "nan"]) {
      _ = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 2, inFeatures: 32)
    }
  }

  @Test func int8WeightWithoutQuantizationConfig() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: nil) {
      try Self.addInt8(&$0, "dense.weight", Self.weights(4, 64), 4, 64)
    }
    #expect(folder.quantization == nil)
    expectPhotonError(.invalidFile, mentioning: ["'dense.weight' is I8", "no quantization_config", "\"bits\": 8"]) {
      _ = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 4, inFeatures: 64)
    }
  }

  @Test func quantizationConfigWithAFloatWeight() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      try $0.add("dense.weight", dtype: .float32, shape: [4, 64]) { SafeTensorsWriter.bytes(of: Self.weights(4, 64)) }
    }
    let scope = try folder.openWeights().scope()
    expectPhotonError(.invalidFile, mentioning: ["says int8", "'dense.weight' is F32", "I8", "'dense.weight_scale'"]) {
      _ = try scope.linearWeight("dense.weight", outFeatures: 4, inFeatures: 64)
    }
    // A decoder tied to an fp32 embedding table is the one float weight allowed.
    #expect(
      try scope.linearWeight("dense.weight", outFeatures: 4, inFeatures: 64, allowFloat: true)
        == .float(Self.weights(4, 64)))
  }

  @Test func wrongWeightShapeIsNamed() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) {
      try Self.addInt8(&$0, "dense.weight", Self.weights(4, 64), 4, 64)
    }
    expectPhotonError(.shapeMismatch, mentioning: ["'dense.weight'", "I8", "[4, 64]", "[64, 4]"]) {
      _ = try folder.openWeights().scope().linearWeight("dense.weight", outFeatures: 64, inFeatures: 4)
    }
  }

  /// Asking an int8 folder for fp32 (or fp16) is an error saying what it can load at.
  @Test func otherPrecisionThanStoredIsRefused() throws {
    let directory = try TemporaryDirectory()
    let folder = try Self.folder(directory, quantization: Self.int8Config) { _ in }
    #expect(try folder.loadPrecision(nil) == .int8 && (try folder.loadPrecision(.int8)) == .int8)
    for other in [Precision.fp32, .fp16] {
      expectPhotonError(.invalidArgument, mentioning: [directory.url.path, "int8 only", "not \(other.rawValue)"]) {
        _ = try folder.loadPrecision(other)
      }
    }
    let plain = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert"))
    #expect(try plain.loadPrecision(nil) == .fp32 && (try plain.loadPrecision(.int8)) == .int8)
  }

  @Test(arguments: [
    (#"{"quant_method": "gptq", "bits": 4, "group_size": 128}"#, "quant_method 'gptq'"),
    (#"{"quant_method": "photon", "bits": 4}"#, "bits is 4"),
    (#"{"quant_method": "photon", "bits": 8, "group_size": 64}"#, "group_size is 64"),
    (#"{"quant_method": "photon", "bits": 8}"#, "group_size is absent"),
  ])
  func unsupportedQuantizationConfigs(config: String, message: String) throws {
    let directory = try TemporaryDirectory()
    expectPhotonError(.unsupported, mentioning: ["config.json", "quantization_config", message]) {
      _ = try Self.folder(directory, quantization: config) { _ in }
    }
  }
}
