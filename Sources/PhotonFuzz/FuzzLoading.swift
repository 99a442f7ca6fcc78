import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels

/// The bytes as a whole `.safetensors` file: header parsing and validation, then every tensor
/// read as the model loader reads it (floats or ints, whichever its dtype allows).
enum FuzzSafeTensors {
  static func run(_ bytes: UnsafeRawBufferPointer) {
    let url = Scratch.write(bytes, to: "fuzz.safetensors")
    guard let file = try? SafeTensorsFile(url: url) else { return }
    readAll(file)
  }

  static func readAll(_ file: SafeTensorsFile) {
    for name in file.names {
      guard let info = file.info(name) else { continue }
      if info.dtype.isReadableAsFloat { _ = try? file.floats(name) }
      if info.dtype.isReadableAsInt { _ = try? file.ints(name) }
    }
  }
}

/// The bytes as a sharded checkpoint's `model.safetensors.index.json`, in a folder holding two
/// small valid shards (`a.safetensors`: tensors x, y; `b.safetensors`: tensor z), so names that
/// exist, are missing or point at the wrong shard are all reachable.
enum FuzzShardIndex {
  static let folder: URL = {
    let folder = Scratch.folder.appendingPathComponent("sharded")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    writeShard(["x": [1, 2], "y": [3]], to: folder.appendingPathComponent("a.safetensors"))
    writeShard(["z": [4, 5, 6]], to: folder.appendingPathComponent("b.safetensors"))
    return folder
  }()

  /// A minimal F32 safetensors file, written by hand so the target depends on the reader only.
  static func writeShard(_ tensors: [String: [Float]], to url: URL) {
    var header: [String] = []
    var data: [UInt8] = []
    for (name, values) in tensors.sorted(by: { $0.key < $1.key }) {
      let start = data.count
      for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
      header.append(
        "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(values.count)],\"data_offsets\":[\(start),\(data.count)]}")
    }
    let json = Array("{\(header.joined(separator: ","))}".utf8)
    var file: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file += $0 }
    file += json + data
    try? Data(file).write(to: url)
  }

  static func run(_ bytes: UnsafeRawBufferPointer) {
    let url = folder.appendingPathComponent("model.safetensors.index.json")
    try? Data(bytes).write(to: url)
    guard let weights = try? ModelWeights(url: url) else { return }
    for name in weights.names { _ = try? weights.floats(name) }
  }
}

/// The bytes as `config.json`: model-type detection, decoding and validation of the matching
/// config struct. A thin call on purpose: retarget it when config decoding moves.
enum FuzzConfig {
  static func run(_ bytes: UnsafeRawBufferPointer) {
    _ = try? ModelRegistry.config(decoding: Data(bytes), file: "config.json")
  }
}
