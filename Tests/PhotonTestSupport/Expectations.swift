import Foundation
import PhotonCore
import Testing

// Shared by the test targets that check files and errors (PhotonLoadingTests, PhotonModelsTests).

/// A fresh folder under the system temp directory, removed when the value is released.
public final class TemporaryDirectory {
  public let url: URL

  public init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("photon-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// `url/relativePath`, with its parent folders created.
  public func file(_ relativePath: String) throws -> URL {
    let file = url.appendingPathComponent(relativePath)
    try FileManager.default.createDirectory(
      at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    return file
  }

  @discardableResult
  public func write(_ relativePath: String, _ text: String) throws -> URL {
    let file = try file(relativePath)
    try Data(text.utf8).write(to: file)
    return file
  }

  @discardableResult
  public func write(_ relativePath: String, bytes: [UInt8]) throws -> URL {
    let file = try file(relativePath)
    try Data(bytes).write(to: file)
    return file
  }
}

/// Runs `body`, expects a ``PhotonError`` with `code` whose message contains every one of `parts`,
/// and returns it.
@discardableResult
public func expectPhotonError(
  _ code: PhotonError.Code, mentioning parts: [String] = [],
  sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> PhotonError? {
  let error = #expect(throws: PhotonError.self, sourceLocation: sourceLocation) { try body() }
  guard let error else { return nil }
  #expect(error.code == code, "wrong code: \(error)", sourceLocation: sourceLocation)
  for part in parts {
    #expect(
      error.message.contains(part), "message lacks \"\(part)\": \(error.message)",
      sourceLocation: sourceLocation)
  }
  return error
}
