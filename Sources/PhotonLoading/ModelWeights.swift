import Foundation
import PhotonCore

/// A checkpoint's tensors: one `model.safetensors`, or the shards a `model.safetensors.index.json`
/// spreads them over. Every file is memory-mapped and validated when opened.
///
/// Models read it through a ``WeightScope`` (``scope(_:)``), which adds HF's module path and the
/// checkpoint's prefix fallback.
public final class ModelWeights: Sendable {
  /// The file that was opened: a `.safetensors` file or a shard index.
  public let url: URL
  /// The safetensors files, in the order they were opened.
  public let files: [SafeTensorsFile]
  /// Every tensor name across all files, sorted.
  public let names: [String]
  /// The folder's `quantization_config` (a `photon quantize` checkpoint), which says how linear
  /// weights are stored; nil for an ordinary checkpoint.
  public let quantization: QuantizationConfig?
  private let fileForName: [String: Int]

  /// Opens `url`: a `.safetensors` file, or a sharded checkpoint's `*.safetensors.index.json`.
  /// `quantization` is the folder's `quantization_config`, if any.
  public convenience init(url: URL, quantization: QuantizationConfig? = nil) throws {
    if url.lastPathComponent.hasSuffix(".index.json") {
      try self.init(shardIndex: url, quantization: quantization)
    } else {
      let file = try SafeTensorsFile(url: url)
      self.init(
        url: url, files: [file],
        fileForName: Dictionary(uniqueKeysWithValues: file.names.map { ($0, 0) }), quantization: quantization)
    }
  }

  /// Opens the shards named by a `model.safetensors.index.json` (`{"weight_map": {tensor: file}}`).
  ///
  /// Each shard is opened once; every tensor the map names must be in the shard it names, and
  /// shard names must be plain file names in the index's folder.
  public convenience init(shardIndex: URL, quantization: QuantizationConfig? = nil) throws {
    struct Index: Decodable {
      var weightMap: [String: String]
      enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
    }
    let path = shardIndex.path
    let index = try ConfigFile.decode(Index.self, from: ConfigFile.read(shardIndex), file: path)
    let folder = shardIndex.deletingLastPathComponent()
    var files: [SafeTensorsFile] = []
    var fileIndex: [String: Int] = [:]
    var fileForName: [String: Int] = [:]
    for (tensor, shard) in index.weightMap.sorted(by: { $0.key < $1.key }) {
      guard !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
        throw PhotonError(
          .invalidFile, "\(path): weight_map['\(tensor)'] = '\(shard)' is not a file name")
      }
      let number: Int
      if let existing = fileIndex[shard] {
        number = existing
      } else {
        number = files.count
        files.append(try SafeTensorsFile(url: folder.appendingPathComponent(shard)))
        fileIndex[shard] = number
      }
      guard files[number].contains(tensor) else {
        throw PhotonError(
          .missingTensor,
          "\(path): weight_map names '\(tensor)' in \(shard), but that shard has no such tensor")
      }
      fileForName[tensor] = number
    }
    self.init(url: shardIndex, files: files, fileForName: fileForName, quantization: quantization)
  }

  private init(url: URL, files: [SafeTensorsFile], fileForName: [String: Int], quantization: QuantizationConfig?) {
    self.url = url
    self.files = files
    self.fileForName = fileForName
    self.quantization = quantization
    self.names = fileForName.keys.sorted()
  }

  /// Whether the checkpoint holds `name` (exactly; no prefix fallback).
  public func contains(_ name: String) -> Bool { fileForName[name] != nil }

  /// The header entry for `name`, or `nil`.
  public func info(_ name: String) -> SafeTensorInfo? {
    fileForName[name].flatMap { files[$0].info(name) }
  }

  /// The file holding `name`, or `nil`.
  public func file(containing name: String) -> SafeTensorsFile? {
    fileForName[name].map { files[$0] }
  }

  /// The tensor `name` (exact name) as `Float`. See ``SafeTensorsFile/floats(_:)``.
  public func floats(_ name: String) throws -> LoadedTensor {
    guard let file = file(containing: name) else { throw missing(name, tried: [name]) }
    return try file.floats(name)
  }

  /// The integer tensor `name` (exact name). See ``SafeTensorsFile/ints(_:)``.
  public func ints(_ name: String) throws -> (values: [Int], shape: [Int]) {
    guard let file = file(containing: name) else { throw missing(name, tried: [name]) }
    return try file.ints(name)
  }

  /// A scope rooted at `prefix` (`""` for the whole checkpoint).
  ///
  /// - Parameter modelPrefix: the base model's attribute name in HF's task classes (`"bert"`,
  ///   `"roberta"`, `"distilbert"`, `"transformer"`); `nil` tries all of
  ///   ``WeightScope/knownModelPrefixes``.
  public func scope(_ prefix: String = "", modelPrefix: String? = nil) -> WeightScope {
    WeightScope(weights: self, prefix: prefix, modelPrefixes: modelPrefix.map { [$0] })
  }

  /// The `.missingTensor` error for `name`: the nearest names to any spelling in `tried`, and
  /// `note` saying which other spellings were tried.
  func missing(_ name: String, tried: [String], note: String? = nil) -> PhotonError {
    let nearest = NearestNames.find(tried, among: names).map { "'\($0)'" }.joined(separator: ", ")
    var message = "\(url.path): no tensor '\(name)'"
    if let note { message += " (\(note))" }
    if !nearest.isEmpty { message += "; nearest: \(nearest)" }
    return PhotonError(.missingTensor, message)
  }
}
