import Foundation
import PhotonCPU
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL
import PhotonTestSupport
import Testing

/// Both backends, for tests that run every model on each.
enum Backends {
  static let cpu = CPUBackend()
  static let gpu: Result<OpenCLBackend, any Error> = Result { try OpenCLBackend() }

  static func all() throws -> [any Backend] { [cpu, try gpu.get()] }
}

/// One `reference.json` from the fixtures, as loose JSON.
struct Reference {
  let json: [String: Any]

  let path: String

  init(_ relativePath: String) throws {
    json = try #require(try Fixtures.json(relativePath) as? [String: Any])
    path = relativePath
  }

  /// The fixture's cases; none is a failure, so that a loop over them cannot pass by doing nothing.
  var cases: [[String: Any]] {
    let cases = json["cases"] as? [[String: Any]] ?? []
    if cases.isEmpty { Issue.record("\(path) has no cases") }
    return cases
  }
  var paddedBatch: [String: Any]? { json["padded_batch"] as? [String: Any] }
}

/// Flattens nested JSON arrays of numbers into floats, row-major.
func flatFloats(_ value: Any?) -> [Float] {
  if let number = value as? NSNumber { return [number.floatValue] }
  if let array = value as? [Any] { return array.flatMap(flatFloats) }
  return []
}

func int32s(_ value: Any?) -> [Int32] {
  (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.int32Value }
}

/// A one-row batch from a fixture case.
func singleBatch(_ testCase: [String: Any]) throws -> EncoderBatch {
  let ids = int32s(testCase["input_ids"])
  let mask =
    testCase["attention_mask"] != nil ? int32s(testCase["attention_mask"]) : [Int32](repeating: 1, count: ids.count)
  let types = testCase["token_type_ids"] != nil ? int32s(testCase["token_type_ids"]) : nil
  return try EncoderBatch(ids: ids, attentionMask: mask, tokenTypeIds: types, batchSize: 1, length: ids.count)
}

/// The padded batch of a fixture.
func paddedBatch(_ batch: [String: Any]) throws -> EncoderBatch {
  let rows = batch["input_ids"] as? [[Any]] ?? []
  let ids = rows.flatMap { int32s($0) }
  let mask = (batch["attention_mask"] as? [[Any]] ?? []).flatMap { int32s($0) }
  let types = (batch["token_type_ids"] as? [[Any]])?.flatMap { int32s($0) }
  return try EncoderBatch(
    ids: ids, attentionMask: mask, tokenTypeIds: types, batchSize: rows.count, length: rows.first?.count ?? 0)
}

/// Keeps only the rows (of `width` values) whose mask is 1: padded positions hold whatever the
/// model computes there and are not compared.
func unpaddedRows(_ values: [Float], mask: [Int32], width: Int) -> [Float] {
  mask.enumerated().flatMap { index, keep in keep != 0 ? Array(values[(index * width)..<((index + 1) * width)]) : [] }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
  var (dot, na, nb) = (0.0, 0.0, 0.0)
  for i in a.indices {
    dot += Double(a[i]) * Double(b[i])
    na += Double(a[i]) * Double(a[i])
    nb += Double(b[i]) * Double(b[i])
  }
  return dot / (na.squareRoot() * nb.squareRoot())
}

/// The repository root (for `Models/`, fetched by `scripts/fetch-model.sh`).
let repositoryRoot = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
