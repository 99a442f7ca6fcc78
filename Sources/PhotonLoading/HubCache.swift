import Foundation
import PhotonCore

/// The Hugging Face hub cache (`huggingface_hub`'s layout), read without the network:
///
/// ```
/// <root>/models--ORG--NAME/refs/main          → the commit hash of "main"
/// <root>/models--ORG--NAME/snapshots/<hash>/  → the files (symlinks into ../../blobs)
/// ```
public struct HubCache: Sendable {
  public let root: URL

  public init(root: URL) {
    self.root = root
  }

  /// The default cache, as `huggingface_hub` finds it: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
  /// `~/.cache/huggingface/hub` (`$XDG_CACHE_HOME` replacing `~/.cache` when set).
  public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment)
    -> HubCache
  {
    if let hub = environment["HF_HUB_CACHE"], !hub.isEmpty {
      return HubCache(root: URL(fileURLWithPath: hub))
    }
    if let home = environment["HF_HOME"], !home.isEmpty {
      return HubCache(root: URL(fileURLWithPath: home).appendingPathComponent("hub"))
    }
    let cache =
      environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
      ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
    return HubCache(root: cache.appendingPathComponent("huggingface").appendingPathComponent("hub"))
  }

  /// `models--ORG--NAME` for `ORG/NAME` (or `models--NAME` for an id without an organisation).
  public static func repositoryFolderName(_ modelID: String) throws -> String {
    let parts = modelID.split(separator: "/", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count),
      parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
    else {
      throw PhotonError(.invalidArgument, "model id '\(modelID)' is not NAME or ORG/NAME")
    }
    return "models--" + parts.joined(separator: "--")
  }

  /// The snapshot folder of `modelID` at `revision`.
  ///
  /// `revision` is looked up in `refs/` (a branch or tag such as `main`) or taken as a commit hash
  /// if `snapshots/<revision>` exists. When `refs/main` is absent (a cache copied without its
  /// refs), the only snapshot, else the most recently modified one, is used for `main`.
  ///
  /// - Throws: `.invalidFile` naming the folder that is missing or the ref that points nowhere.
  public func snapshot(_ modelID: String, revision: String = "main") throws -> URL {
    let files = FileManager.default
    let repository = root.appendingPathComponent(try Self.repositoryFolderName(modelID))
    let snapshots = repository.appendingPathComponent("snapshots")
    guard files.fileExists(atPath: snapshots.path) else {
      throw PhotonError(
        .invalidFile,
        "\(snapshots.path): no snapshots of '\(modelID)' in the hub cache \(root.path)")
    }
    // Refs may contain slashes (`refs/pr/1`), but must stay inside the repository folder.
    guard !revision.isEmpty, !revision.hasPrefix("/"),
      !revision.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
    else {
      throw PhotonError(.invalidArgument, "revision '\(revision)' is not a ref or commit")
    }

    let ref = repository.appendingPathComponent("refs").appendingPathComponent(revision)
    if files.fileExists(atPath: ref.path) {
      let commit = try String(contentsOf: ref, encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let folder = snapshots.appendingPathComponent(commit)
      guard !commit.isEmpty, !commit.contains("/"), files.fileExists(atPath: folder.path) else {
        throw PhotonError(
          .invalidFile, "\(ref.path): names commit '\(commit)', but \(folder.path) does not exist")
      }
      return folder
    }
    let direct = snapshots.appendingPathComponent(revision)
    if files.fileExists(atPath: direct.path) { return direct }
    guard revision == "main" else {
      throw PhotonError(
        .invalidFile, "\(repository.path): no ref or snapshot named '\(revision)'")
    }

    let keys: [URLResourceKey] = [.isDirectoryKey, .contentModificationDateKey]
    let candidates = try files.contentsOfDirectory(
      at: snapshots, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles]
    ).filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
    let dated = candidates.map { url in
      (
        url,
        (try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate)
          ?? .distantPast
      )
    }
    guard
      let newest = dated.max(by: {
        ($0.1, $0.0.lastPathComponent) < ($1.1, $1.0.lastPathComponent)
      })
    else {
      throw PhotonError(.invalidFile, "\(snapshots.path): no snapshot folders")
    }
    return newest.0
  }
}
