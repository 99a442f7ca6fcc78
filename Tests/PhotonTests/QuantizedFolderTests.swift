import Foundation
import Photon
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import PhotonTools
import Testing

/// `photon quantize` folders, loaded at their stored precision, against `--precision` on the
/// original folder: bit for bit, on both backends.
@Suite("photon quantize: folders load and match load-time quantization exactly")
struct QuantizedFolderTests {
  static let texts = ["A man is eating food.", "A cheetah chases its prey across a field.", "x"]
  static let stored: [Precision] = [.int8, .fp16]

  /// A fresh folder under the temp directory, removed when released.
  final class Scratch {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("photon-quantize-\(UUID().uuidString)")
    deinit { try? FileManager.default.removeItem(at: url) }
    func folder(_ name: String) -> URL { url.appendingPathComponent(name) }
  }

  @Test(arguments: BackendKind.allCases, stored)
  func miniLMEmbeddingsEqualLoadTimeQuantization(backend: BackendKind, precision: Precision) throws {
    let scratch = Scratch()
    let out = scratch.folder("minilm-\(precision)")
    let report = try ModelQuantizer.quantize(model: PipelineTests.miniLM, precision: precision, output: out)
    // 6 layers × 6 linears (Q, K, V, attention output, intermediate, output) + the pooler.
    #expect(report.linearWeights == 37)
    #expect(report.bytes < report.sourceBytes)
    for file in ["tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"] {
      #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file) not copied")
    }
    let fromFolder = try SentenceEmbedder(model: out, backend: backend).embed(Self.texts)
    let atLoad = try SentenceEmbedder(model: PipelineTests.miniLM, backend: backend, precision: precision).embed(
      Self.texts)
    #expect(fromFolder == atLoad, "\(backend) \(precision): quantized folder differs from --precision")
    let fp32 = try SentenceEmbedder(model: PipelineTests.miniLM, backend: backend).embed(Self.texts)
    #expect(fromFolder != fp32)
    // Asking the folder for its own precision is the same as not asking.
    #expect(try SentenceEmbedder(model: out, backend: backend, precision: precision).embed(Self.texts) == fromFolder)
  }

  @Test func int8FileLayoutAndConfig() throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-bert")
    try ModelQuantizer.quantize(model: Fixtures.url("tiny-models/tiny-bert"), precision: .int8, output: out)
    let file = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
    let query = try #require(file.info("encoder.layer.0.attention.self.query.weight"))
    #expect(query.dtype == .int8 && query.shape == [64, 64])
    let scale = try #require(file.info("encoder.layer.0.attention.self.query.weight_scale"))
    #expect(scale.dtype == .float32 && scale.shape == [64, 2])
    #expect(file.info("encoder.layer.0.intermediate.dense.weight_scale")?.shape == [128, 2])
    #expect(file.info("encoder.layer.0.output.dense.weight_scale")?.shape == [64, 4])
    #expect(file.info("pooler.dense.weight")?.dtype == .int8)
    // Embeddings, norms and biases as they were.
    for name in ["embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight", "pooler.dense.bias"] {
      #expect(file.info(name)?.dtype == .float32, "\(name)")
    }
    let original = try SafeTensorsFile(url: Fixtures.url("tiny-models/tiny-bert/model.safetensors"))
    #expect(
      try file.floats("embeddings.word_embeddings.weight") == (try original.floats("embeddings.word_embeddings.weight"))
    )
    let config = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json")))
        as? [String: Any])
    let quantization = try #require(config["quantization_config"] as? [String: Any])
    #expect(quantization["quant_method"] as? String == "photon")
    #expect(quantization["bits"] as? Int == 8 && quantization["group_size"] as? Int == 32)
    #expect(config["hidden_size"] as? Int == 64 && config["model_type"] as? String == "bert")
  }

  /// Every tiny encoder and task head, through its public pipeline, at int8 and fp16.
  @Test(arguments: BackendKind.allCases, stored)
  func tinyModelsAndHeadsEqualLoadTimeQuantization(backend: BackendKind, precision: Precision) throws {
    let scratch = Scratch()
    func quantized(_ model: String) throws -> (URL, URL) {
      let source = Fixtures.url("tiny-models/\(model)")
      let out = scratch.folder(model)
      try ModelQuantizer.quantize(model: source, precision: precision, output: out)
      return (out, source)
    }
    for model in ["tiny-bert", "tiny-distilbert", "tiny-roberta"] {
      let (out, source) = try quantized(model)
      #expect(
        try SentenceEmbedder(model: out, backend: backend).embed(Self.texts)
          == SentenceEmbedder(model: source, backend: backend, precision: precision).embed(Self.texts), "\(model)")
    }
    do {
      let (out, source) = try quantized("tiny-bert-classifier")
      let scores = try TextClassifier(model: out, backend: backend).classify(Self.texts, topK: nil)
      #expect(
        scores
          == (try TextClassifier(model: source, backend: backend, precision: precision).classify(Self.texts, topK: nil))
      )
      #expect(scores != (try TextClassifier(model: source, backend: backend).classify(Self.texts, topK: nil)))
    }
    do {
      // The decoder is tied to the fp32 word embeddings: quantized at load in both cases.
      let (out, source) = try quantized("tiny-bert-mlm")
      let masked = ["the [MASK] is red.", "a [MASK] chases its prey."]
      #expect(
        try FillMask(model: out, backend: backend).predict(masked, topK: 10)
          == FillMask(model: source, backend: backend, precision: precision).predict(masked, topK: 10))
    }
    do {
      let (out, source) = try quantized("tiny-bert-token-classifier")
      #expect(
        try TokenClassifier(model: out, backend: backend).entities(Self.texts)
          == TokenClassifier(model: source, backend: backend, precision: precision).entities(Self.texts))
    }
  }

  /// in = 40 and 72, not multiples of 32: each row ends in a short block (8 of 32 weights); the
  /// file keeps `[out, in]` and the scales are `[out, ceil(in/32)]`.
  @Test(arguments: BackendKind.allCases)
  func shortBlocksRoundTrip(backend: BackendKind) throws {
    let scratch = Scratch()
    let source = try SyntheticBert.write(to: scratch.folder("bert-40"))
    let out = scratch.folder("bert-40-int8")
    try ModelQuantizer.quantize(model: source, precision: .int8, output: out)
    let file = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
    #expect(file.info("encoder.layer.0.intermediate.dense.weight")?.shape == [72, 40])
    #expect(file.info("encoder.layer.0.intermediate.dense.weight_scale")?.shape == [72, 2])
    #expect(file.info("encoder.layer.0.output.dense.weight")?.shape == [40, 72])
    #expect(file.info("encoder.layer.0.output.dense.weight_scale")?.shape == [40, 3])
    let fromFolder = try SentenceEmbedder(model: out, backend: backend).embed(Self.texts)
    #expect(fromFolder == (try SentenceEmbedder(model: source, backend: backend, precision: .int8).embed(Self.texts)))
    #expect(fromFolder.allSatisfy { $0.count == 40 && $0.allSatisfy(\.isFinite) })
  }

  @Test func loadingAnInt8FolderAtFp32IsRefused() throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-bert")
    try ModelQuantizer.quantize(model: Fixtures.url("tiny-models/tiny-bert"), precision: .int8, output: out)
    let error = #expect(throws: PhotonError.self) { try SentenceEmbedder(model: out, backend: .cpu, precision: .fp32) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("int8 only, not fp32") == true, "\(String(describing: error))")
  }

  @Test func nonFiniteWeightsAreNamedBeforeAnythingIsWritten() throws {
    let scratch = Scratch()
    let name = "encoder.layer.0.intermediate.dense.weight"
    for (value, precisions) in [(Float.nan, [Precision.int8, .fp16]), (.infinity, [.int8]), (70000, [.fp16])] {
      let source = try SyntheticBert.write(to: scratch.folder("bad-\(value)"), poison: (name, 5, value))
      for precision in precisions {
        let out = scratch.folder("bad-\(value)-\(precision)")
        let error = #expect(throws: PhotonError.self) {
          try ModelQuantizer.quantize(model: source, precision: precision, output: out)
        }
        #expect(error?.code == .invalidArgument)
        #expect(
          error?.message.contains("'\(name)'") == true && error?.message.contains("weight 5") == true,
          "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
      }
    }
    // 70000 is fine for int8 (only beyond half's range).
    let source = scratch.folder("bad-70000.0")
    try ModelQuantizer.quantize(model: source, precision: .int8, output: scratch.folder("ok-int8"))
  }

  @Test func existingNonEmptyOutputNeedsForce() throws {
    let scratch = Scratch()
    let out = scratch.folder("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try Data("keep".utf8).write(to: out.appendingPathComponent("notes.txt"))
    let tiny = Fixtures.url("tiny-models/tiny-bert")
    let error = #expect(throws: PhotonError.self) {
      try ModelQuantizer.quantize(model: tiny, precision: .int8, output: out)
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains(out.path) == true && error?.message.contains("--force") == true)
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["notes.txt"])
    try ModelQuantizer.quantize(model: tiny, precision: .int8, output: out, force: true)
    #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
    // Rewriting a quantized folder with --force replaces it.
    try ModelQuantizer.quantize(model: tiny, precision: .fp16, output: out, force: true)
    #expect(try ModelFolder(url: out).quantization?.bits == 16)
  }

  @Test func refusedSources() throws {
    let scratch = Scratch()
    let tiny = Fixtures.url("tiny-models/tiny-bert")
    #expect(throws: PhotonError.self) {
      try ModelQuantizer.quantize(model: tiny, precision: .fp32, output: scratch.folder("a"))
    }
    let quantized = scratch.folder("c")
    try ModelQuantizer.quantize(model: tiny, precision: .int8, output: quantized)
    let again = #expect(throws: PhotonError.self) {
      try ModelQuantizer.quantize(model: quantized, precision: .int8, output: scratch.folder("d"))
    }
    #expect(again?.message.contains("already quantized") == true)
    let itself = #expect(throws: PhotonError.self) {
      try ModelQuantizer.quantize(model: quantized, precision: .fp16, output: quantized, force: true)
    }
    #expect(itself?.code == .invalidArgument)
  }

  @Test func outputInsideTheModelFolderIsRefusedBeforeWriting() throws {
    // It once copied the folder into itself, a thousand levels deep, inside the source model.
    let scratch = Scratch()
    let source = try SyntheticBert.write(to: scratch.folder("model"))
    let before = try FileManager.default.contentsOfDirectory(atPath: source.path).sorted()
    for inside in ["q8", "sub/q8", "./q8"] {
      let out = source.appendingPathComponent(inside)
      let error = #expect(throws: PhotonError.self) {
        try ModelQuantizer.quantize(model: source, precision: .int8, output: out, force: true)
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.message.contains("inside the model folder") == true, "\(String(describing: error))")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: source.path).sorted() == before)
    // A sibling whose name merely starts with the source's is fine.
    try ModelQuantizer.quantize(model: source, precision: .int8, output: scratch.folder("model-q8"))
  }
}

/// A one-layer BERT with hidden size 40 and intermediate size 72 (neither a multiple of 32),
/// seeded weights, tiny-bert's tokenizer.
enum SyntheticBert {
  static let (hidden, intermediate, vocabulary, positions) = (40, 72, 2965, 128)

  /// Writes the folder; `poison` sets element `index` of tensor `name` to `value`.
  @discardableResult
  static func write(to url: URL, poison: (name: String, index: Int, value: Float)? = nil) throws -> URL {
    let files = FileManager.default
    try files.createDirectory(at: url, withIntermediateDirectories: true)
    let tiny = Fixtures.url("tiny-models/tiny-bert")
    for name in ["tokenizer.json", "tokenizer_config.json", "vocab.txt"] {
      try files.copyItem(at: tiny.appendingPathComponent(name), to: url.appendingPathComponent(name))
    }
    var config = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: tiny.appendingPathComponent("config.json")))
        as? [String: Any])
    config["hidden_size"] = hidden
    config["intermediate_size"] = intermediate
    config["num_attention_heads"] = 2
    config["num_hidden_layers"] = 1
    try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(
      to: url.appendingPathComponent("config.json"))

    let (c, i) = (hidden, intermediate)
    var shapes: [(String, [Int])] = [
      ("embeddings.word_embeddings.weight", [vocabulary, c]),
      ("embeddings.position_embeddings.weight", [positions, c]),
      ("embeddings.token_type_embeddings.weight", [2, c]), ("pooler.dense.weight", [c, c]), ("pooler.dense.bias", [c]),
    ]
    let layer = "encoder.layer.0."
    for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
      shapes += [(layer + name + ".weight", [c, c]), (layer + name + ".bias", [c])]
    }
    shapes += [
      (layer + "intermediate.dense.weight", [i, c]), (layer + "intermediate.dense.bias", [i]),
      (layer + "output.dense.weight", [c, i]), (layer + "output.dense.bias", [c]),
    ]
    var writer = SafeTensorsWriter(metadata: ["format": "pt"])
    var seed: UInt64 = 1
    for (name, shape) in shapes {
      seed += 1
      var values = seeded(shape.reduce(1, *), seed: seed, amplitude: name.contains("embeddings") ? 1 : 0.2)
      if let poison, poison.name == name { values[poison.index] = poison.value }
      try writer.add(name, dtype: .float32, shape: shape) { SafeTensorsWriter.bytes(of: values) }
    }
    for norm in ["embeddings.LayerNorm", layer + "attention.output.LayerNorm", layer + "output.LayerNorm"] {
      try writer.add(norm + ".weight", dtype: .float32, shape: [c]) {
        SafeTensorsWriter.bytes(of: [Float](repeating: 1, count: c))
      }
      try writer.add(norm + ".bias", dtype: .float32, shape: [c]) {
        SafeTensorsWriter.bytes(of: [Float](repeating: 0, count: c))
      }
    }
    try writer.write(to: url.appendingPathComponent("model.safetensors"))
    return url
  }

  static func seeded(_ count: Int, seed: UInt64, amplitude: Float) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return amplitude * (Float(state >> 40) / Float(1 << 24) * 2 - 1)
    }
  }
}
