import Foundation

/// The reference outputs in `Tests/Fixtures` (copied from Hugging Face runs; see its README).
public enum Fixtures {
  /// `Tests/Fixtures`, found from this source file so tests need no resource bundle.
  public static let directory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // PhotonTestSupport
    .deletingLastPathComponent()  // Tests
    .appendingPathComponent("Fixtures")

  /// The folders of `tiny-models/`: one small checkpoint per architecture and head.
  public static let tinyModels = [
    "tiny-bert", "tiny-bert-classifier", "tiny-bert-token-classifier", "tiny-bert-mlm",
    "tiny-distilbert", "tiny-roberta", "tiny-gpt2", "tiny-t5",
  ]

  /// A file or folder under `Tests/Fixtures`, e.g. `url("tiny-models/tiny-bert")`.
  public static func url(_ relativePath: String) -> URL {
    directory.appendingPathComponent(relativePath)
  }

  /// Decoded JSON from a fixture file.
  public static func json(_ relativePath: String) throws -> Any {
    let data = try Data(contentsOf: url(relativePath))
    return try JSONSerialization.jsonObject(with: data)
  }
}
