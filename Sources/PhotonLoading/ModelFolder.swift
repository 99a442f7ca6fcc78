import Foundation
import PhotonCore

/// A Hugging Face model folder (as `save_pretrained` writes it, or a hub-cache snapshot): where its
/// files are, its `config.json` and, for sentence-transformers folders, how it pools.
///
/// Opening locates the files, reads `config.json`'s `model_type` and decodes and validates the
/// other configs; the architecture's own config struct is decoded by ``config(as:)`` (the model
/// registry picks the struct by ``modelType``); weights are mapped on ``openWeights()``.
public struct ModelFolder: Sendable {
  public let url: URL
  public let configURL: URL
  /// `model.safetensors`, or `model.safetensors.index.json` for a sharded checkpoint.
  public let weightsURL: URL
  /// `tokenizer.json`, if present.
  public let tokenizerURL: URL?
  /// `tokenizer_config.json`, if present.
  public let tokenizerConfigURL: URL?
  /// `config.json`'s `model_type` (e.g. `"bert"`): which architecture reads the folder.
  public let modelType: String
  /// `config.json` as read, for the architecture's config struct (see ``config(as:)``).
  public let configData: Data
  /// Pooling and normalisation from the sentence-transformers files; `nil` without `modules.json`.
  public let sentenceTransformers: SentenceTransformersConfig?
  /// `quantization_config` of a `photon quantize` folder (validated), else nil.
  public let quantization: QuantizationConfig?

  /// Opens the model folder at `url`.
  ///
  /// - Throws: `.invalidFile` if the folder, `config.json` or the weights are missing;
  ///   `.unsupported` for a PyTorch-pickle-only checkpoint; `.invalidFile` for a `config.json`
  ///   without `model_type`.
  public init(url: URL) throws {
    let files = FileManager.default
    var isDirectory: ObjCBool = false
    guard files.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw PhotonError(.invalidFile, "\(url.path): not a directory")
    }
    func existing(_ name: String) -> URL? {
      let file = url.appendingPathComponent(name)
      return files.fileExists(atPath: file.path) ? file : nil
    }

    guard let configURL = existing("config.json") else {
      throw PhotonError(.invalidFile, "\(url.path): no config.json")
    }
    guard let weightsURL = existing("model.safetensors") ?? existing("model.safetensors.index.json")
    else {
      if let pickle = existing("pytorch_model.bin") ?? existing("pytorch_model.bin.index.json") {
        throw PhotonError(
          .unsupported,
          "\(url.path): only \(pickle.lastPathComponent) found; Photon reads safetensors (convert with `safetensors` or save_pretrained(safe_serialization=True))"
        )
      }
      throw PhotonError(
        .invalidFile, "\(url.path): no model.safetensors or model.safetensors.index.json")
    }
    self.url = url
    self.configURL = configURL
    self.weightsURL = weightsURL
    self.tokenizerURL = existing("tokenizer.json")
    self.tokenizerConfigURL = existing("tokenizer_config.json")
    self.configData = try ConfigFile.read(configURL)
    self.modelType = try ConfigFile.modelType(of: configData, file: configURL.path)
    self.sentenceTransformers = try SentenceTransformersConfig.load(folder: url)
    self.quantization = try QuantizationConfig.load(from: configURL)
  }

  /// Opens the snapshot of `modelID` in a hub cache. See ``HubCache/snapshot(_:revision:)``.
  public init(hubCache: HubCache, modelID: String, revision: String = "main") throws {
    try self.init(url: hubCache.snapshot(modelID, revision: revision))
  }

  /// `config.json` decoded and validated as `Config` (the struct of the folder's architecture).
  public func config<Config: ModelConfiguration>(as _: Config.Type) throws -> Config {
    try Config.decode(configData, file: configURL.path)
  }

  /// Maps and validates the checkpoint's safetensors file(s).
  public func openWeights() throws -> ModelWeights {
    try ModelWeights(url: weightsURL, quantization: quantization)
  }
}
