import Foundation
import Photon
import PhotonCore
import PhotonLoading

/// `photon quantize`: a model folder whose linear weights are stored at fp16 or int8, loadable
/// directly (``SentenceEmbedder``, ``TextClassifier``, ``FillMask``, ``TokenClassifier``,
/// ``TextGenerator``, ``Text2TextGenerator``) and giving
/// exactly what `--precision fp16|int8` gives on the original folder.
///
/// ```swift
/// try ModelQuantizer.quantize(model: source, precision: .int8, output: destination)
/// ```
///
/// The output folder holds
/// - `model.safetensors`: every linear weight `X.weight` (HF `[out, in]`) as I8 `[out, in]` plus
///   `X.weight_scale` F32 `[out, ceil(in/32)]` (int8: ``Quantization/int8Blocks(_:rows:columns:)``;
///   an `in` that is not a multiple of 32 ends in a short block whose scale comes from its real
///   weights; nothing is stored for the padding), or as F16 `[out, in]` (fp16). Other tensors keep
///   their dtype and bytes.
/// - `config.json` with `"quantization_config": {"quant_method": "photon", "bits": 8,
///   "group_size": 32}` (fp16: `{"quant_method": "photon", "bits": 16}`);
/// - the source folder's other files (tokenizer, sentence-transformers modules, model card),
///   weights in other formats left out.
///
/// Which tensors are linear weights depends on the architecture
/// (``isLinearWeight(_:config:)``):
/// - BERT, RoBERTa, XLM-RoBERTa, DistilBERT: the rank-2 float `*.weight` tensors outside the
///   `embeddings` module — exactly the `nn.Linear` weights (attention, FFN, pooler, heads).
/// - GPT-2: the `Conv1D` weights (`c_attn`, `c_proj`, `c_fc`). The fp32 checkpoint stores them
///   `[in, out]`; the quantized file stores them transposed, in the `[out, in]` every other linear
///   weight has, so the int8 blocks and their scales run along the input axis as everywhere else.
///   `wte`, `wpe` and an `lm_head.weight` stay float.
/// - T5: the rank-2 float `*.weight` tensors except the embedding tables (`shared`,
///   `*.embed_tokens`) and `relative_attention_bias` (a `[buckets, heads]` lookup table): q, k, v,
///   o, wi / wi_0 / wi_1, wo, and an untied `lm_head.weight` (unless the config scales the decoder
///   output by d_model^-0.5, which Photon folds into the head's weight at load: that head stays
///   float and is quantized after the scaling, as `--precision` does).
///
/// Embedding tables, LayerNorms and biases stay as they are. A head tied to the word embeddings
/// (BERT's masked-LM decoder, GPT-2's and T5's LM heads) is quantized at load from the float table,
/// exactly as `--precision int8|fp16` does.
public enum ModelQuantizer {
  /// What was written.
  public struct Report: Sendable, Encodable {
    public var output: String
    public var precision: String
    /// Linear weights converted.
    public var linearWeights: Int
    /// Tensors copied unchanged.
    public var otherTensors: Int
    /// Size of the source checkpoint file(s) and of the written `model.safetensors`.
    public var sourceBytes: Int
    public var bytes: Int
    /// Files and folders copied beside the weights.
    public var copied: [String]

    enum CodingKeys: String, CodingKey {
      case output, precision, bytes, copied
      case linearWeights = "linear_weights"
      case otherTensors = "other_tensors"
      case sourceBytes = "source_bytes"
    }
  }

  /// Model types whose folders can be quantized and loaded back.
  public static let supportedModelTypes: [ModelType] = [.bert, .roberta, .xlmRoberta, .distilbert, .gpt2, .t5]

  /// Whether a checkpoint tensor of a BERT-family model is a linear weight that `photon quantize`
  /// converts (see the type's documentation for the rule).
  public static func isLinearWeight(_ info: SafeTensorInfo) -> Bool {
    isRank2FloatWeight(info) && !info.name.split(separator: ".").contains("embeddings")
  }

  /// Whether a checkpoint tensor of a model of `config` is a linear weight that `photon quantize`
  /// converts (see the type's documentation for the rule of each architecture).
  public static func isLinearWeight(_ info: SafeTensorInfo, config: ModelConfig) -> Bool {
    layout(of: info, config: config) != nil
  }

  /// How a linear weight lies in the source checkpoint.
  enum SourceLayout {
    /// `nn.Linear`: `[out, in]`, written as it is.
    case linear
    /// GPT-2's `Conv1D`: `[in, out]`, written transposed to `[out, in]`.
    case conv1D
  }

  /// The layout of `info` if it is a linear weight of a model of `config`, else nil.
  static func layout(of info: SafeTensorInfo, config: ModelConfig) -> SourceLayout? {
    guard isRank2FloatWeight(info) else { return nil }
    let parts = info.name.split(separator: ".")
    switch config {
    case .bert, .roberta, .xlmRoberta, .distilBert:
      return isLinearWeight(info) ? .linear : nil
    case .gpt2:
      // `transformer.h.0.attn.c_attn.weight`: the module is the name's second-to-last part.
      let module = parts.count >= 2 ? parts[parts.count - 2] : ""
      return ["c_attn", "c_proj", "c_fc"].contains(module) ? .conv1D : nil
    case .t5(let t5):
      if info.name == "lm_head.weight" {
        // Used only untied; a scaled head is quantized at load after the scaling (see above).
        return !t5.tieWordEmbeddings && !t5.scaleDecoderOutputs ? .linear : nil
      }
      let tables: Set<Substring> = ["shared", "embed_tokens", "relative_attention_bias"]
      return parts.contains(where: tables.contains) ? nil : .linear
    }
  }

  private static func isRank2FloatWeight(_ info: SafeTensorInfo) -> Bool {
    info.shape.count == 2 && info.dtype.isReadableAsFloat && info.name.hasSuffix(".weight")
  }

  /// Writes the quantized copy of the model folder `model` into `output`.
  ///
  /// - Parameters:
  ///   - precision: `.int8` or `.fp16`.
  ///   - force: write into an existing non-empty `output` (files of the same names are replaced,
  ///     others left alone).
  /// - Throws: `.invalidArgument` for fp32, an already quantized source, `output` the source
  ///   folder itself, or a non-empty `output` without `force` (naming it); `.unsupported` for a
  ///   model type other than ``supportedModelTypes``; `.invalidArgument` naming the tensor and
  ///   index of a NaN or infinite linear weight (or one beyond half's range for fp16), checked
  ///   before anything is written; `.invalidFile` when writing fails.
  @discardableResult
  public static func quantize(model: URL, precision: Precision, output: URL, force: Bool = false) throws -> Report {
    guard precision != .fp32 else {
      throw PhotonError(
        .invalidArgument, "photon quantize writes fp16 or int8 weights; fp32 is the original folder (\(model.path))")
    }
    let folder = try ModelFolder(url: model)
    if let quantization = folder.quantization {
      throw PhotonError(
        .invalidArgument,
        "\(folder.configURL.path): already quantized (quantization_config bits \(quantization.bits)); quantize the original fp32 folder"
      )
    }
    guard supportedModelTypes.contains(folder.config.modelType) else {
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): photon quantize supports model_type \(supportedModelTypes.map(\.rawValue).joined(separator: ", ")), not '\(folder.config.modelType.rawValue)'"
      )
    }
    try prepare(output: output, source: model, force: force)

    // Validate every linear weight before writing anything.
    let weights = try folder.openWeights()
    let infos = weights.names.compactMap { weights.info($0) }
    let config = folder.config
    for info in infos where isLinearWeight(info, config: config) {
      try Quantization.checkFinite(
        weights.floats(info.name).values, name: "\(weights.url.path): tensor '\(info.name)'", precision: precision)
    }

    var writer = SafeTensorsWriter(metadata: ["format": "pt"])
    var linear = 0
    for info in infos {
      let name = info.name
      guard let layout = layout(of: info, config: config) else {
        try writer.add(name, dtype: info.dtype, shape: info.shape) {
          guard let file = weights.file(containing: name) else {
            throw PhotonError(.missingTensor, "no tensor '\(name)'")
          }
          return try file.withRawBytes(name) { Data($1) }
        }
        continue
      }
      linear += 1
      // HF `[out, in]`; a Conv1D `[in, out]` is transposed here, as GPT2.swift does at load.
      let (rows, columns) = layout == .conv1D ? (info.shape[1], info.shape[0]) : (info.shape[0], info.shape[1])
      func values() throws -> [Float] {
        let stored = try weights.floats(name).values
        return layout == .conv1D ? transpose(stored, rows: columns, columns: rows) : stored
      }
      switch precision {
      case .fp32, .fp16:
        try writer.add(name, dtype: .float16, shape: [rows, columns]) {
          SafeTensorsWriter.bytes(of: Quantization.halfBits(try values()))
        }
      case .int8:
        // The writer lays out all F32 tensors (the scales) before all I8 ones: each closure runs
        // the (deterministic, cheap) quantization itself rather than holding every q in memory.
        func blocks() throws -> (values: [Int8], scales: [Float]) {
          Quantization.int8Blocks(try values(), rows: rows, columns: columns)
        }
        try writer.add(name, dtype: .int8, shape: [rows, columns]) { SafeTensorsWriter.bytes(of: try blocks().values) }
        try writer.add(
          QuantizationConfig.scaleName(of: name), dtype: .float32, shape: [rows, Quantization.blocks(columns)]
        ) { SafeTensorsWriter.bytes(of: try blocks().scales) }
      }
    }
    let weightsURL = output.appendingPathComponent("model.safetensors")
    try writer.write(to: weightsURL)
    let copied = try copyOtherFiles(from: model, to: output)
    // Last: until config.json is there, an interrupted run leaves no folder that loads as a model.
    try writeConfig(from: folder.configURL, to: output.appendingPathComponent("config.json"), precision: precision)

    return Report(
      output: output.path, precision: precision.rawValue, linearWeights: linear, otherTensors: infos.count - linear,
      sourceBytes: weights.files.reduce(0) { $0 + fileSize($1.url) }, bytes: fileSize(weightsURL), copied: copied)
  }

  /// `values` `[rows, columns]` transposed to `[columns, rows]`.
  static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var transposed = [Float](repeating: 0, count: values.count)
    for r in 0..<rows {
      for c in 0..<columns { transposed[c * rows + r] = values[r * columns + c] }
    }
    return transposed
  }

  private static func prepare(output: URL, source: URL, force: Bool) throws {
    let files = FileManager.default
    let resolvedOutput = output.standardizedFileURL.resolvingSymlinksInPath().path
    let resolvedSource = source.standardizedFileURL.resolvingSymlinksInPath().path
    guard resolvedOutput != resolvedSource else {
      throw PhotonError(.invalidArgument, "--out \(output.path) is the model folder itself; choose another folder")
    }
    // Inside the source, copying the source's files would copy the output into itself.
    guard !resolvedOutput.hasPrefix(resolvedSource.hasSuffix("/") ? resolvedSource : resolvedSource + "/") else {
      throw PhotonError(
        .invalidArgument,
        "--out \(output.path) is inside the model folder \(source.path); choose a folder outside it")
    }
    var isDirectory: ObjCBool = false
    if files.fileExists(atPath: output.path, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else {
        throw PhotonError(.invalidArgument, "--out \(output.path) exists and is not a folder")
      }
      let contents = (try? files.contentsOfDirectory(atPath: output.path)) ?? []
      guard contents.isEmpty || force else {
        throw PhotonError(
          .invalidArgument,
          "--out \(output.path) exists and is not empty (\(contents.count) entries); pass --force to write into it")
      }
    }
    do {
      try files.createDirectory(at: output, withIntermediateDirectories: true)
    } catch {
      throw PhotonError(.invalidFile, "\(output.path): cannot create: \(error.localizedDescription)", cause: error)
    }
  }

  /// `config.json` with `quantization_config` added: inserted before the closing brace so every
  /// other byte of the file stays as it was.
  private static func writeConfig(from source: URL, to destination: URL, precision: Precision) throws {
    let data: Data
    do { data = try Data(contentsOf: source) } catch {
      throw PhotonError(.invalidFile, "\(source.path): cannot read: \(error.localizedDescription)", cause: error)
    }
    let config = QuantizationConfig(precision: precision)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let entry = String(decoding: try encoder.encode(config), as: UTF8.self)
    var text = String(decoding: data, as: UTF8.self)
    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    guard let object, let close = text.lastIndex(of: "}") else {
      throw PhotonError(.invalidFile, "\(source.path): not a JSON object")
    }
    if object["quantization_config"] != nil {  // present as null: rewrite the whole object
      var rewritten = object
      rewritten["quantization_config"] = try JSONSerialization.jsonObject(with: Data(entry.utf8))
      text = String(
        decoding: try JSONSerialization.data(withJSONObject: rewritten, options: [.prettyPrinted, .sortedKeys]),
        as: UTF8.self)
    } else {
      let before = text[..<close].trimmingCharacters(in: .whitespacesAndNewlines)
      let separator = before.hasSuffix("{") ? "" : ","
      text = before + "\(separator)\n  \"quantization_config\": \(entry)\n}\n"
    }
    do { try Data(text.utf8).write(to: destination, options: .atomic) } catch {
      throw PhotonError(.invalidFile, "\(destination.path): cannot write: \(error.localizedDescription)", cause: error)
    }
  }

  /// Weights in any format, written anew or not read by Photon; hidden files (`.gitattributes`).
  static func isLeftOut(_ name: String) -> Bool {
    let weightSuffixes = [
      ".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json", ".h5", ".msgpack", ".ot", ".onnx", ".pt",
      ".pth", ".ckpt", ".gguf",
    ]
    return name.hasPrefix(".") || name == "config.json" || weightSuffixes.contains { name.hasSuffix($0) }
      || ["onnx", "openvino", "coreml"].contains(name)
  }

  /// Copies the source folder's other files and folders (following symbolic links, as a hub
  /// cache snapshot is made of them). Returns the names copied, sorted.
  private static func copyOtherFiles(from source: URL, to destination: URL) throws -> [String] {
    let files = FileManager.default
    let names = try files.contentsOfDirectory(atPath: source.path).filter { !isLeftOut($0) }.sorted()
    for name in names { try copy(source.appendingPathComponent(name), to: destination.appendingPathComponent(name)) }
    return names
  }

  private static func copy(_ source: URL, to destination: URL) throws {
    let files = FileManager.default
    let resolved = source.resolvingSymlinksInPath()
    var isDirectory: ObjCBool = false
    guard files.fileExists(atPath: resolved.path, isDirectory: &isDirectory) else { return }  // a dangling link
    do {
      if isDirectory.boolValue {
        try files.createDirectory(at: destination, withIntermediateDirectories: true)
        for name in try files.contentsOfDirectory(atPath: resolved.path) where !name.hasPrefix(".") {
          try copy(resolved.appendingPathComponent(name), to: destination.appendingPathComponent(name))
        }
      } else {
        if files.fileExists(atPath: destination.path) { try files.removeItem(at: destination) }
        try files.copyItem(at: resolved, to: destination)
      }
    } catch {
      throw PhotonError(
        .invalidFile, "cannot copy \(source.path) to \(destination.path): \(error.localizedDescription)", cause: error)
    }
  }

  private static func fileSize(_ url: URL) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
  }
}
