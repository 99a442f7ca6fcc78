import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

@Suite struct SafeTensorsTests {
  static let tinyModels = [
    "tiny-bert", "tiny-bert-classifier", "tiny-bert-token-classifier", "tiny-bert-mlm",
    "tiny-distilbert", "tiny-roberta", "tiny-gpt2", "tiny-t5",
  ]

  @Test(arguments: tinyModels)
  func everyFixtureTensorReads(model: String) throws {
    let file = try SafeTensorsFile(url: Fixtures.url("tiny-models/\(model)/model.safetensors"))
    #expect(file.metadata["format"] == "pt")
    #expect(file.names.count > 10)
    for name in file.names {
      let info = try #require(file.info(name))
      #expect(info.dtype == .float32)
      let tensor = try file.floats(name)
      #expect(tensor.shape == info.shape)
      #expect(tensor.values.count == info.shape.elementCount)
      let finite = tensor.values.allSatisfy { $0.isFinite }
      #expect(finite, "\(name) has a non-finite value")
    }
  }

  @Test func tinyBertValuesMatchPythonsReading() throws {
    // Expected values read from the file with Python's struct module.
    let file = try SafeTensorsFile(url: Fixtures.url("tiny-models/tiny-bert/model.safetensors"))
    let words = try file.floats("embeddings.word_embeddings.weight")
    #expect(words.shape == [2965, 64])
    #expect(words.values[64] == -0x1.3fa03cp-8)
    #expect(words.values[65] == 0x1.a21fccp-7)
    #expect(words.values.last == 0x1.26d4c8p-16)
    let sum = words.values.reduce(0.0) { $0 + Double($1) }
    #expect(abs(sum - -10.22945150153475) < 1e-9)

    let query = try file.floats("encoder.layer.0.attention.self.query.weight")
    #expect(query.shape == [64, 64])
    #expect(query.values[64] == -0x1.012a96p-12)
    #expect(query.values.last == -0x1.8363aap-6)
  }

  @Test func float16ConvertsExactly() throws {
    let dir = try TemporaryDirectory()
    let bits: [UInt16] = [
      0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0400, 0x8000, 0x7C00, 0xFC00, 0x3555,
    ]
    let expected: [Float] = [
      1, -2, 0.5, 65504, 0x1p-24, 0x1p-14, -0.0, .infinity, -.infinity, 0.333251953125,
    ]
    let url = try dir.write(
      "h.safetensors",
      bytes: SafeTensorsBuilder.file([SafeTensorsBuilder.f16("h", [2, 5], bits: bits)]))
    let tensor = try SafeTensorsFile(url: url).floats("h")
    #expect(tensor.shape == [2, 5])
    #expect(tensor.values == expected)
    #expect(tensor.values[6].sign == .minus)  // -0.0 keeps its sign
  }

  @Test func float16NaNStaysNaN() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "nan.safetensors",
      bytes: SafeTensorsBuilder.file([SafeTensorsBuilder.f16("n", [1], bits: [0x7E00])]))
    #expect(try SafeTensorsFile(url: url).floats("n").values[0].isNaN)
  }

  @Test func bfloat16ConvertsExactly() throws {
    let dir = try TemporaryDirectory()
    let bits: [UInt16] = [0x3F80, 0xC000, 0x4049, 0x0001, 0x7F7F, 0xBE80]
    let expected: [Float] = [
      1, -2, 3.140625, Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x7F7F_0000), -0.25,
    ]
    let url = try dir.write(
      "b.safetensors",
      bytes: SafeTensorsBuilder.file([SafeTensorsBuilder.bf16("b", [6], bits: bits)]))
    #expect(try SafeTensorsFile(url: url).floats("b").values == expected)
  }

  @Test func mixedDtypesInOneFileAtUnalignedOffsets() throws {
    // An I8 tensor first puts every later tensor at an odd offset: loads must not assume alignment.
    let dir = try TemporaryDirectory()
    let int8 = SafeTensorsBuilder.Entry(
      name: "i8", dtype: "I8", shape: [3], bytes: [0xFF, 0x7F, 0x80])
    let int64 = SafeTensorsBuilder.Entry(
      name: "i64", dtype: "I64", shape: [2],
      bytes: SafeTensorsBuilder.le(Int64(-5)) + SafeTensorsBuilder.le(Int64(1) << 40))
    let int32 = SafeTensorsBuilder.Entry(
      name: "i32", dtype: "I32", shape: [1], bytes: SafeTensorsBuilder.le(Int32(-70000)))
    let f64 = SafeTensorsBuilder.Entry(
      name: "f64", dtype: "F64", shape: [1],
      bytes: SafeTensorsBuilder.le((0.25 as Double).bitPattern))
    let f32 = SafeTensorsBuilder.f32("f32", [2], [1.5, -3])
    let url = try dir.write(
      "mixed.safetensors", bytes: SafeTensorsBuilder.file([int8, int64, int32, f64, f32]))
    let file = try SafeTensorsFile(url: url)
    #expect(file.names == ["f32", "f64", "i32", "i64", "i8"])
    #expect(try file.ints("i8").values == [-1, 127, -128])
    #expect(try file.ints("i64").values == [-5, 1 << 40])
    #expect(try file.ints("i32").values == [-70000])
    #expect(try file.floats("f64").values == [0.25])
    #expect(try file.floats("f32").values == [1.5, -3])
    #expect(file.info("i64")?.dtype == .int64)
    #expect(file.info("i64")?.dataOffsets == 3..<19)
    try file.withRawBytes("i8") { info, bytes in
      #expect(info.shape == [3])
      #expect(Array(bytes) == [0xFF, 0x7F, 0x80])
    }
    expectPhotonError(.unsupported, mentioning: ["i64", "I64"]) { _ = try file.floats("i64") }
    expectPhotonError(.unsupported, mentioning: ["f32", "F32"]) { _ = try file.ints("f32") }
  }

  @Test func emptyTensorsAndEmptyFile() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "e.safetensors",
      bytes: SafeTensorsBuilder.file([
        SafeTensorsBuilder.f32("empty", [0, 4], []), SafeTensorsBuilder.f32("one", [1], [7]),
      ]))
    let file = try SafeTensorsFile(url: url)
    #expect(try file.floats("empty") == LoadedTensor(values: [], shape: [0, 4]))
    #expect(try file.floats("one").values == [7])

    let none = try dir.write("none.safetensors", bytes: SafeTensorsBuilder.file([], metadata: nil))
    #expect(try SafeTensorsFile(url: none).names.isEmpty)
  }

  // MARK: - Bad files, each with its typed error

  @Test func missingFile() throws {
    let dir = try TemporaryDirectory()
    expectPhotonError(.invalidFile, mentioning: ["nope.safetensors", "cannot open"]) {
      _ = try SafeTensorsFile(url: dir.url.appendingPathComponent("nope.safetensors"))
    }
  }

  @Test(arguments: [0, 5])
  func fileShorterThanTheLengthField(size: Int) throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write("t.safetensors", bytes: Array(repeating: 1, count: size))
    expectPhotonError(.invalidFile, mentioning: ["t.safetensors", "truncated", "\(size) bytes"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func fileTruncatedInsideTheData() throws {
    let dir = try TemporaryDirectory()
    let whole = try Data(
      contentsOf: Fixtures.url("tiny-models/tiny-bert/model.safetensors"))
    let url = try dir.write("cut.safetensors", bytes: Array(whole.prefix(whole.count / 2)))
    // The last tensor in data order is the first one to fall outside.
    expectPhotonError(.invalidFile, mentioning: ["cut.safetensors", "data_offsets", "run past"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func truncatedFileNamesOneTensorAndTrueFileOffsets() throws {
    // Two tensors both past the end: the same one is named every time (the header is a
    // dictionary), and the offsets count the 8-byte length and the header.
    let dir = try TemporaryDirectory()
    let whole = SafeTensorsBuilder.file([
      SafeTensorsBuilder.f32("b", [4], [1, 2, 3, 4]), SafeTensorsBuilder.f32("a", [4], [5, 6, 7, 8]),
    ])
    let url = try dir.write("cut.safetensors", bytes: Array(whole.dropLast(20)))
    let headerEnd = whole.count - 32
    for _ in 0..<5 {
      expectPhotonError(
        .invalidFile,
        mentioning: [
          "tensor 'a'", "data_offsets [16, 32]", "12 bytes after the \(headerEnd) bytes of length field and header",
          "end at file byte offset \(headerEnd + 32)",
        ]
      ) { _ = try SafeTensorsFile(url: url) }
    }
  }

  @Test func fifoIsRefusedWithoutWaitingForAWriter() throws {
    // open() on a FIFO blocks until a writer comes; the file must be refused at once instead.
    let dir = try TemporaryDirectory()
    let url = dir.url.appendingPathComponent("model.safetensors")
    #expect(mkfifo(url.path, 0o600) == 0)
    expectPhotonError(.invalidFile, mentioning: ["model.safetensors", "not a regular file"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func headerLengthLargerThanTheFile() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "h.safetensors", bytes: SafeTensorsBuilder.raw(header: "{}", data: [], length: 1000))
    expectPhotonError(
      .invalidFile,
      mentioning: ["h.safetensors", "header length 1000", "byte offset 0", "16 bytes"]
    ) { _ = try SafeTensorsFile(url: url) }
  }

  @Test func headerLengthAboveTheLimit() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "h.safetensors", bytes: SafeTensorsBuilder.raw(header: "{}", data: [], length: 200_000_000))
    expectPhotonError(.invalidFile, mentioning: ["200000000", "100000000"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test(arguments: ["[1, 2]", "\"text\"", "42"])
  func headerThatIsNotAnObject(header: String) throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "h.safetensors", bytes: SafeTensorsBuilder.raw(header: header, data: []))
    expectPhotonError(.invalidFile, mentioning: ["h.safetensors", "not a JSON object"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func headerWithMalformedJSON() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "h.safetensors", bytes: SafeTensorsBuilder.raw(header: "{\"a\": {\"dtype\": ", data: []))
    expectPhotonError(.invalidFile, mentioning: ["h.safetensors", "malformed JSON"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func entryMissingAKey() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "h.safetensors",
      bytes: SafeTensorsBuilder.raw(
        header: #"{"w": {"dtype": "F32", "shape": [1]}}"#, data: [0, 0, 0, 0]))
    expectPhotonError(.invalidFile, mentioning: ["data_offsets", "'w'"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func spanOutsideTheFile() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "s.safetensors",
      bytes: SafeTensorsBuilder.raw(
        header: #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#,
        data: Array(repeating: 0, count: 8)))
    expectPhotonError(.invalidFile, mentioning: ["s.safetensors", "'w'", "[0, 16]", "8 bytes"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func reversedSpan() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "s.safetensors",
      bytes: SafeTensorsBuilder.raw(
        header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}"#,
        data: Array(repeating: 0, count: 8)))
    expectPhotonError(.invalidFile, mentioning: ["'w'", "[8, 4]"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func overlappingSpans() throws {
    let dir = try TemporaryDirectory()
    let header = """
      {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
      """
    let url = try dir.write(
      "o.safetensors",
      bytes: SafeTensorsBuilder.raw(header: header, data: Array(repeating: 0, count: 12)))
    expectPhotonError(
      .invalidFile, mentioning: ["o.safetensors", "'a'", "'b'", "[0, 8]", "[4, 12]", "overlap"]
    ) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func overlapHiddenBehindAnEmptyTensor() throws {
    // "big" covers "late" although the empty "mid" sorts between them.
    let dir = try TemporaryDirectory()
    let header = """
      {"big": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
       "mid": {"dtype": "U8", "shape": [0], "data_offsets": [8, 8]},
       "late": {"dtype": "U8", "shape": [2], "data_offsets": [10, 12]}}
      """
    let url = try dir.write(
      "o.safetensors",
      bytes: SafeTensorsBuilder.raw(header: header, data: Array(repeating: 0, count: 16)))
    expectPhotonError(.invalidFile, mentioning: ["'big'", "'late'"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func unknownDtype() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "d.safetensors",
      bytes: SafeTensorsBuilder.raw(
        header: #"{"w": {"dtype": "Q4_K", "shape": [1], "data_offsets": [0, 1]}}"#, data: [0]))
    expectPhotonError(.unsupported, mentioning: ["d.safetensors", "'w'", "Q4_K"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func shapeTimesDtypeSizeNotTheSpan() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "s.safetensors",
      bytes: SafeTensorsBuilder.raw(
        header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
        data: Array(repeating: 0, count: 8)))
    expectPhotonError(.invalidFile, mentioning: ["'w'", "[3]", "12 bytes", "span 8"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func negativeDimension() throws {
    let dir = try TemporaryDirectory()
    let url = try dir.write(
      "s.safetensors",
      bytes: SafeTensorsBuilder.raw(
        header: #"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}"#, data: []))
    expectPhotonError(.invalidFile, mentioning: ["'w'", "negative"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func missingTensorNamesItAndItsNeighbours() throws {
    let file = try SafeTensorsFile(url: Fixtures.url("tiny-models/tiny-bert/model.safetensors"))
    expectPhotonError(
      .missingTensor,
      mentioning: ["'embeddings.word_embedding.weight'", "'embeddings.word_embeddings.weight'"]
    ) { _ = try file.floats("embeddings.word_embedding.weight") }
  }

  @Test func nearestNamesPreferSmallEditsThenSharedPrefixes() {
    let names = [
      "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.key.weight",
      "encoder.layer.10.attention.self.query.weight", "pooler.dense.weight",
    ]
    let nearest = NearestNames.find("encoder.layer.0.attention.self.qery.weight", among: names)
    #expect(nearest.count == 3)
    #expect(nearest.first == "encoder.layer.0.attention.self.query.weight")
    #expect(!nearest.contains("pooler.dense.weight"))
    #expect(NearestNames.editDistance(Array("kitten".utf8), Array("sitting".utf8)) == 3)
  }
}
