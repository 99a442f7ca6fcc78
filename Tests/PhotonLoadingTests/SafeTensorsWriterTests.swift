import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

/// `SafeTensorsWriter` against `SafeTensorsFile`: what one writes the other reads back unchanged.
@Suite struct SafeTensorsWriterTests {
  @Test func roundTripThroughTheReader() throws {
    let directory = try TemporaryDirectory()
    let url = directory.url.appendingPathComponent("model.safetensors")
    let floats: [Float] = [1.5, -2, 0, .greatestFiniteMagnitude, -0.0, 1e-30]
    let odd: [Int8] = [-127, -1, 0, 1, 127]  // 5 bytes: anything after it would be misaligned
    let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF]
    let longs: [Int64] = [0, 1, -1, Int64.max]
    var writer = SafeTensorsWriter(metadata: ["format": "pt", "note": "quote \" and \\ kept"])
    try writer.add("a.odd", dtype: .int8, shape: [5]) { SafeTensorsWriter.bytes(of: odd) }
    try writer.add("b.floats", dtype: .float32, shape: [2, 3]) { SafeTensorsWriter.bytes(of: floats) }
    try writer.add("c.half", dtype: .float16, shape: [3, 1]) { SafeTensorsWriter.bytes(of: half) }
    try writer.add("d.longs", dtype: .int64, shape: [1, 4]) { SafeTensorsWriter.bytes(of: longs) }
    try writer.add("e.empty", dtype: .float32, shape: [0, 7]) { Data() }
    try writer.add("名前 \"quoted\"", dtype: .float32, shape: []) { SafeTensorsWriter.bytes(of: [Float(3)]) }
    try writer.write(to: url)

    let bytes = [UInt8](try Data(contentsOf: url))
    let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect((8 + headerLength) % 8 == 0, "data section starts at \(8 + headerLength)")
    let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
    #expect(header.hasPrefix("{\"__metadata__\":"))
    #expect(header.trimmingCharacters(in: .whitespaces).hasSuffix("}"), "padded with spaces: \(header)")

    let file = try SafeTensorsFile(url: url)
    #expect(file.metadata == ["format": "pt", "note": "quote \" and \\ kept"])
    #expect(file.names == ["a.odd", "b.floats", "c.half", "d.longs", "e.empty", "名前 \"quoted\""])
    #expect(try file.floats("b.floats") == LoadedTensor(values: floats, shape: [2, 3]))
    #expect(try file.floats("c.half").values == [1, -2, 65504])
    #expect(try file.ints("a.odd").values == odd.map(Int.init))
    #expect(try file.ints("d.longs").values == longs.map(Int.init))
    #expect(try file.floats("e.empty") == LoadedTensor(values: [], shape: [0, 7]))
    #expect(try file.floats("名前 \"quoted\"") == LoadedTensor(values: [3], shape: []))
    // As HF lays tensors out: larger elements first, so each starts at a multiple of its size.
    for name in file.names {
      let info = try #require(file.info(name))
      #expect(info.dataOffsets.lowerBound % info.dtype.byteSize == 0, "\(name) at \(info.dataOffsets)")
    }
    #expect(try #require(file.info("a.odd")).dataOffsets.upperBound == bytes.count - 8 - headerLength)
  }

  @Test func noMetadataAndRewriteInPlace() throws {
    let directory = try TemporaryDirectory()
    let url = directory.url.appendingPathComponent("w.safetensors")
    for value: Float in [1, 2] {
      var writer = SafeTensorsWriter()
      try writer.add("w", dtype: .float32, shape: [1]) { SafeTensorsWriter.bytes(of: [value]) }
      try writer.write(to: url)
      let file = try SafeTensorsFile(url: url)
      #expect(file.metadata.isEmpty)
      #expect(try file.floats("w").values == [value])
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["w.safetensors"])
  }

  @Test func badEntriesAreNamed() throws {
    var writer = SafeTensorsWriter()
    try writer.add("w", dtype: .float32, shape: [2]) { Data(count: 4) }
    expectPhotonError(.invalidArgument, mentioning: ["'w'", "twice"]) {
      try writer.add("w", dtype: .float32, shape: [2]) { Data(count: 8) }
    }
    expectPhotonError(.invalidArgument, mentioning: ["__metadata__"]) {
      try writer.add("__metadata__", dtype: .float32, shape: [1]) { Data(count: 4) }
    }
    expectPhotonError(.invalidArgument, mentioning: ["'n'", "[-1]"]) {
      try writer.add("n", dtype: .float32, shape: [-1]) { Data() }
    }
    let directory = try TemporaryDirectory()
    let url = directory.url.appendingPathComponent("short.safetensors")
    expectPhotonError(.invalidArgument, mentioning: ["'w'", "[2]", "8 bytes", "got 4"]) { try writer.write(to: url) }
    // Nothing half-written is left behind.
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
  }
}
