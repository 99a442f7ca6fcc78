import Foundation
import Photon
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import PhotonTools
import Testing

/// `photon quantize` on GPT-2 and T5 folders: the folder, loaded at its stored precision, against
/// `--precision` on the original — logits of a decode step and greedy ids bit for bit, on both
/// backends — and the file layout (GPT-2's Conv1D weights transposed to `[out, in]`; T5's
/// `relative_attention_bias` and the embedding tables untouched).
@Suite("photon quantize: GPT-2 and T5 folders generate exactly as load-time quantization")
struct QuantizedGeneratorFolderTests {
  typealias Scratch = QuantizedFolderTests.Scratch
  static let gpt2 = Fixtures.url("tiny-models/tiny-gpt2")
  static let t5 = Fixtures.url("tiny-models/tiny-t5")
  static let greedy = GenerationOptions(maxNewTokens: 8, doSample: false)

  /// Every decode step's logits and the greedy ids they pick, through the KV cache.
  static func gpt2Steps(_ model: GPT2LMHeadModel, prompt: [Int32], steps: Int) throws -> (
    logits: [[Float]], ids: [Int32]
  ) {
    let cache = try model.makeCache(capacity: prompt.count + steps)
    var (input, logits, ids) = (prompt, [[Float]](), [Int32]())
    for _ in 0..<steps {
      let step = try model.backend.floats(model.nextTokenLogits(ids: input, cache: cache))
      logits.append(step)
      let next = Int32(step.indices.max { step[$0] < step[$1] }!)
      ids.append(next)
      input = [next]
    }
    return (logits, ids)
  }

  @Test(arguments: BackendKind.allCases, QuantizedFolderTests.stored)
  func gpt2FolderGeneratesAsPrecisionDoes(backend: BackendKind, precision: Precision) throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-gpt2-\(precision)")
    let report = try ModelQuantizer.quantize(model: Self.gpt2, precision: precision, output: out)
    #expect(report.linearWeights == 8)  // 2 layers × (c_attn, attn.c_proj, c_fc, mlp.c_proj)
    let device = try backend.makeBackend()
    let fromFolder = try GPT2LMHeadModel(folder: ModelFolder(url: out), backend: device)
    let atLoad = try GPT2LMHeadModel(
      folder: ModelFolder(url: Self.gpt2), backend: device, precision: precision)
    #expect(fromFolder.precision == precision)
    let prompt: [Int32] = [5, 77, 300, 12, 9]
    #expect(
      try device.floats(fromFolder.logits(ids: prompt)) == device.floats(atLoad.logits(ids: prompt)),
      "\(backend) \(precision): full logits")
    let a = try Self.gpt2Steps(fromFolder, prompt: prompt, steps: 6)
    let b = try Self.gpt2Steps(atLoad, prompt: prompt, steps: 6)
    #expect(a.ids == b.ids)
    #expect(a.logits == b.logits, "\(backend) \(precision): decode-step logits differ")
    let fp32 = try GPT2LMHeadModel(folder: ModelFolder(url: Self.gpt2), backend: device)
    #expect(try device.floats(fromFolder.logits(ids: prompt)) != device.floats(fp32.logits(ids: prompt)))

    // The public API: nil precision is the folder's own; asking for it is the same.
    let generated = try TextGenerator(model: out, backend: backend).generateResult(
      prompt: "Hello", options: Self.greedy)
    let expected = try TextGenerator(model: Self.gpt2, backend: backend, precision: precision).generateResult(
      prompt: "Hello", options: Self.greedy)
    #expect(generated == expected)
    #expect(
      try TextGenerator(model: out, backend: backend, precision: precision).generateResult(
        prompt: "Hello", options: Self.greedy) == generated)
  }

  @Test(arguments: BackendKind.allCases, QuantizedFolderTests.stored)
  func t5FolderGeneratesAsPrecisionDoes(backend: BackendKind, precision: Precision) throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-t5-\(precision)")
    let report = try ModelQuantizer.quantize(model: Self.t5, precision: precision, output: out)
    // Encoder 2 × (q, k, v, o, wi, wo), decoder 2 × (self q, k, v, o, cross q, k, v, o, wi, wo).
    #expect(report.linearWeights == 32)
    let device = try backend.makeBackend()
    let fromFolder = try T5ForConditionalGeneration(folder: ModelFolder(url: out), backend: device)
    let atLoad = try T5ForConditionalGeneration(
      folder: ModelFolder(url: Self.t5), backend: device, precision: precision)
    #expect(fromFolder.precision == precision)
    let batch = try EncoderBatch(
      ids: [3, 171, 3, 158, 11, 1], attentionMask: [1, 1, 1, 1, 1, 1], batchSize: 1, length: 6)
    let decoderIds: [Int32] = [0, 3, 171, 12]
    let logits = try device.floats(fromFolder.logits(batch, decoderIds: decoderIds))
    #expect(logits == (try device.floats(atLoad.logits(batch, decoderIds: decoderIds))), "\(backend) \(precision)")
    let fp32 = try T5ForConditionalGeneration(folder: ModelFolder(url: Self.t5), backend: device)
    #expect(logits != (try device.floats(fp32.logits(batch, decoderIds: decoderIds))))

    // One decode step through the cache.
    func step(_ model: T5ForConditionalGeneration) throws -> [Float] {
      let cache = try model.makeCache(encoded: model.encode(batch), capacity: 4)
      return try device.floats(model.nextTokenLogits(ids: [0], cache: cache))
    }
    #expect(try step(fromFolder) == step(atLoad))

    // The encoder alone (was refused for quantized T5 folders).
    let encoder = try ModelRegistry.encoder(folder: ModelFolder(url: out), backend: device)
    let reference = try ModelRegistry.encoder(folder: ModelFolder(url: Self.t5), backend: device, precision: precision)
    #expect(
      try device.floats(encoder.forward(batch).lastHiddenState)
        == device.floats(reference.forward(batch).lastHiddenState))

    let text = "translate English to German: The house is wonderful."
    let generated = try Text2TextGenerator(model: out, backend: backend).generateResult(
      prompt: text, options: Self.greedy)
    let expected = try Text2TextGenerator(model: Self.t5, backend: backend, precision: precision).generateResult(
      prompt: text, options: Self.greedy)
    #expect(generated == expected)
  }

  /// Another precision than the folder's is the same error as for encoders.
  @Test func generatorsRefuseAnotherPrecision() throws {
    let scratch = Scratch()
    for (model, name) in [(Self.gpt2, "gpt2"), (Self.t5, "t5")] {
      let out = scratch.folder(name)
      try ModelQuantizer.quantize(model: model, precision: .int8, output: out)
      let error = #expect(throws: PhotonError.self) {
        if name == "gpt2" {
          _ = try TextGenerator(model: out, backend: .cpu, precision: .fp32)
        } else {
          _ = try Text2TextGenerator(model: out, backend: .cpu, precision: .fp16)
        }
      }
      #expect(error?.code == .invalidArgument && error?.message.contains("loads at int8 only") == true, "\(error!)")
    }
  }

  @Test(arguments: QuantizedFolderTests.stored)
  func gpt2FileLayout(precision: Precision) throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-gpt2")
    try ModelQuantizer.quantize(model: Self.gpt2, precision: precision, output: out)
    let file = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
    let original = try SafeTensorsFile(url: Self.gpt2.appendingPathComponent("model.safetensors"))
    let dtype: SafeTensorsDType = precision == .int8 ? .int8 : .float16
    // Conv1D [in, out] in the checkpoint; [out, in] in the quantized file.
    let conv1D = [("attn.c_attn", 192, 64), ("attn.c_proj", 64, 64), ("mlp.c_fc", 256, 64), ("mlp.c_proj", 64, 256)]
    for layer in 0..<2 {
      for (module, outputs, inputs) in conv1D {
        let name = "transformer.h.\(layer).\(module).weight"
        let info = try #require(file.info(name))
        #expect(info.dtype == dtype && info.shape == [outputs, inputs], "\(name) \(info)")
        #expect(original.info(name)?.shape == [inputs, outputs])
        let scale = file.info(name + "_scale")
        #expect(
          precision == .int8 ? scale?.shape == [outputs, (inputs + 31) / 32] && scale?.dtype == .float32 : scale == nil)
      }
    }
    // The transposed weight quantized row by row, as GPT2.swift quantizes it at load.
    let cAttn = try original.floats("transformer.h.0.attn.c_attn.weight").values
    let transposed = (0..<192).flatMap { o in (0..<64).map { i in cAttn[i * 192 + o] } }
    if precision == .int8 {
      let expected = Quantization.int8Blocks(transposed, rows: 192, columns: 64)
      let q = try file.withRawBytes("transformer.h.0.attn.c_attn.weight") { _, bytes in
        Array(bytes.bindMemory(to: Int8.self))
      }
      #expect(q == expected.values)
    } else {
      let bits = try file.withRawBytes("transformer.h.0.attn.c_attn.weight") { _, bytes in
        (0..<bytes.count / 2).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
      }
      #expect(bits == Quantization.halfBits(transposed))
    }
    // Embeddings (the LM head is tied to wte), norms and biases: the source's bytes.
    for name in [
      "transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "transformer.h.0.attn.c_attn.bias",
    ] {
      #expect(file.info(name)?.dtype == .float32, "\(name)")
      #expect(try file.withRawBytes(name) { Data($1) } == original.withRawBytes(name) { Data($1) }, "\(name)")
    }
    #expect(try ModelFolder(url: out).quantization == QuantizationConfig(precision: precision))
  }

  @Test func t5FileLayout() throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-t5")
    try ModelQuantizer.quantize(model: Self.t5, precision: .int8, output: out)
    let file = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
    let original = try SafeTensorsFile(url: Self.t5.appendingPathComponent("model.safetensors"))
    for name in [
      "encoder.block.0.layer.0.SelfAttention.q.weight", "decoder.block.1.layer.1.EncDecAttention.o.weight",
      "decoder.block.0.layer.2.DenseReluDense.wi.weight",
    ] {
      #expect(file.info(name)?.dtype == .int8, "\(name)")
    }
    #expect(file.info("encoder.block.0.layer.1.DenseReluDense.wo.weight")?.shape == [64, 128])
    #expect(file.info("encoder.block.0.layer.1.DenseReluDense.wo.weight_scale")?.shape == [64, 4])
    for name in [
      "shared.weight", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "encoder.final_layer_norm.weight",
      "decoder.block.0.layer.0.layer_norm.weight",
    ] {
      #expect(file.info(name)?.dtype == .float32, "\(name)")
      #expect(file.info(name + "_scale") == nil)
      #expect(try file.withRawBytes(name) { Data($1) } == original.withRawBytes(name) { Data($1) }, "\(name)")
    }
    #expect(file.names.filter { $0.hasSuffix("_scale") }.count == 32)
  }

  /// A T5 folder with its own head: untied and unscaled, `lm_head.weight` is a linear weight
  /// stored quantized; scaled (the head is multiplied by d_model^-0.5 at load) it stays float and
  /// is quantized after the scaling. Both generate as `--precision int8` does.
  @Test(arguments: [false, true])
  func untiedT5Head(scaled: Bool) throws {
    let scratch = Scratch()
    let source = scratch.folder("untied")
    try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
    for name in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
      try FileManager.default.copyItem(
        at: Self.t5.appendingPathComponent(name), to: source.appendingPathComponent(name))
    }
    var config = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: Self.t5.appendingPathComponent("config.json")))
        as? [String: Any])
    config["tie_word_embeddings"] = false
    config["scale_decoder_outputs"] = scaled
    try JSONSerialization.data(withJSONObject: config).write(to: source.appendingPathComponent("config.json"))
    let original = try SafeTensorsFile(url: Self.t5.appendingPathComponent("model.safetensors"))
    var writer = SafeTensorsWriter(metadata: ["format": "pt"])
    for name in original.names {
      let info = try #require(original.info(name))
      try writer.add(name, dtype: info.dtype, shape: info.shape) { try original.withRawBytes(name) { Data($1) } }
    }
    let head = try original.floats("shared.weight").values.enumerated().map { $1 * 0.5 + Float($0 % 7) * 1e-3 }
    try writer.add("lm_head.weight", dtype: .float32, shape: [225, 64]) { SafeTensorsWriter.bytes(of: head) }
    try writer.write(to: source.appendingPathComponent("model.safetensors"))

    let out = scratch.folder("untied-int8")
    try ModelQuantizer.quantize(model: source, precision: .int8, output: out)
    let file = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
    #expect(file.info("lm_head.weight")?.dtype == (scaled ? .float32 : .int8))
    let device = try BackendKind.cpu.makeBackend()
    let fromFolder = try T5ForConditionalGeneration(folder: ModelFolder(url: out), backend: device)
    let atLoad = try T5ForConditionalGeneration(folder: ModelFolder(url: source), backend: device, precision: .int8)
    let batch = try EncoderBatch(ids: [3, 171, 11, 1], attentionMask: [1, 1, 1, 1], batchSize: 1, length: 4)
    #expect(
      try device.floats(fromFolder.logits(batch, decoderIds: [0, 3]))
        == device.floats(atLoad.logits(batch, decoderIds: [0, 3])))
  }

  /// A GPT-2 folder whose int8 scales or weights have the wrong shape: the error names the
  /// tensors involved and the expected shape.
  @Test func misShapedGPT2TensorsAreNamed() throws {
    let scratch = Scratch()
    let out = scratch.folder("tiny-gpt2")
    try ModelQuantizer.quantize(model: Self.gpt2, precision: .int8, output: out)
    let weightsURL = out.appendingPathComponent("model.safetensors")
    let quantized = try SafeTensorsFile(url: weightsURL)

    /// The quantized folder with tensor `name` replaced by `bytes` of `shape`.
    func rewrite(_ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: Data) throws -> URL {
      let folder = scratch.folder("bad-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      for file in ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"] {
        try FileManager.default.copyItem(at: out.appendingPathComponent(file), to: folder.appendingPathComponent(file))
      }
      var writer = SafeTensorsWriter()
      for other in quantized.names where other != name {
        let info = try #require(quantized.info(other))
        try writer.add(other, dtype: info.dtype, shape: info.shape) { try quantized.withRawBytes(other) { Data($1) } }
      }
      try writer.add(name, dtype: dtype, shape: shape) { bytes }
      try writer.write(to: folder.appendingPathComponent("model.safetensors"))
      return folder
    }

    let weight = "transformer.h.1.mlp.c_fc.weight"
    let scales = weight + "_scale"
    // [256, 2] scales are right; [256, 3] are not.
    let badScales = try rewrite(
      scales, dtype: .float32, shape: [256, 3], bytes: SafeTensorsWriter.bytes(of: [Float](repeating: 0.01, count: 768))
    )
    let scaleError = #expect(throws: PhotonError.self) {
      _ = try GPT2LMHeadModel(
        folder: ModelFolder(url: badScales), backend: BackendKind.cpu.makeBackend())
    }
    #expect(scaleError?.code == .shapeMismatch)
    #expect(
      scaleError?.message.contains("'\(scales)'") == true && scaleError?.message.contains("'\(weight)'") == true
        && scaleError?.message.contains("[256, 2]") == true, "\(scaleError!)")

    // The weight left in the fp32 checkpoint's [in, out] orientation.
    let q = try quantized.withRawBytes(weight) { Data($1) }
    let transposedShape = try rewrite(weight, dtype: .int8, shape: [64, 256], bytes: q)
    let shapeError = #expect(throws: PhotonError.self) {
      _ = try TextGenerator(model: transposedShape, backend: .cpu)
    }
    #expect(shapeError?.code == .shapeMismatch)
    #expect(
      shapeError?.message.contains("'\(weight)'") == true && shapeError?.message.contains("[256, 64]") == true,
      "\(shapeError!)")
  }
}
