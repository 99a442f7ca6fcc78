import Foundation
import PhotonCore

/// sentencepiece's `precompiled_charsmap` (the `Precompiled` normalizer of T5, ALBERT, XLM-R):
/// a little-endian `UInt32` trie size, a darts-clone double-array trie of that many bytes over
/// UTF-8 keys, then a blob of NUL-terminated replacement strings the trie's values point into.
///
/// Mirrors Hugging Face's `spm_precompiled` crate, quirks included: each grapheme cluster shorter
/// than 6 UTF-8 bytes is looked up whole, and the first (shortest) prefix match replaces the whole
/// cluster; otherwise each scalar is looked up on its own.
struct PrecompiledCharsMap: Sendable {
  private let units: [UInt32]
  private let normalized: [UInt8]

  /// - Parameter data: the decoded base64 of `precompiled_charsmap`.
  /// - Throws: `PhotonError(.invalidFile)` when the sizes do not fit.
  init(data: Data, path: String) throws {
    let bytes = [UInt8](data)
    guard bytes.count >= 4 else {
      throw PhotonError(.invalidFile, "\(path): precompiled_charsmap is \(bytes.count) bytes")
    }
    let trieSize =
      Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
    guard trieSize % 4 == 0, 4 + trieSize <= bytes.count, trieSize >= 4 else {
      throw PhotonError(
        .invalidFile,
        "\(path): precompiled_charsmap trie size \(trieSize) does not fit its \(bytes.count) bytes")
    }
    var units = [UInt32](repeating: 0, count: trieSize / 4)
    for k in 0..<units.count {
      let o = 4 + 4 * k
      units[k] =
        UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16
        | UInt32(bytes[o + 3]) << 24
    }
    self.units = units
    self.normalized = Array(bytes[(4 + trieSize)...])
  }

  /// The value of the shortest key in the trie that is a prefix of `key`.
  private func commonPrefixSearch(_ key: some Sequence<UInt8>) -> Int? {
    func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
    var nodePos = 0
    var unit = units[nodePos]
    nodePos ^= offset(unit)
    for c in key {
      if c == 0 { break }
      nodePos ^= Int(c)
      guard nodePos < units.count else { return nil }
      unit = units[nodePos]
      // label(unit) = unit & (1 << 31 | 0xFF)
      if unit & ((1 << 31) | 0xFF) != UInt32(c) { return nil }
      nodePos ^= offset(unit)
      guard nodePos < units.count else { return nil }
      if (unit >> 8) & 1 == 1 {
        // The first value found is the one used (as `spm_precompiled`'s `transform`).
        return Int(units[nodePos] & ((1 << 31) - 1))
      }
    }
    return nil
  }

  /// The replacement for `chunk`, if its start is in the map.
  private func transform(_ chunk: some Sequence<UInt8>) -> ArraySlice<UInt8>? {
    guard let start = commonPrefixSearch(chunk), start < normalized.count else { return nil }
    var end = start
    while end < normalized.count && normalized[end] != 0 { end += 1 }
    return normalized[start..<end]
  }

  func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard !units.isEmpty else { return text }
    var out: [UInt8] = []
    out.reserveCapacity(text.count + 8)
    for grapheme in text.string {
      let utf8 = Array(grapheme.utf8)
      if utf8.count < 6, let replacement = transform(utf8) {
        out.append(contentsOf: replacement)
        continue
      }
      for scalar in grapheme.unicodeScalars {
        let bytes = Array(String(scalar).utf8)
        if let replacement = transform(bytes) {
          out.append(contentsOf: replacement)
        } else {
          out.append(contentsOf: bytes)
        }
      }
    }
    return Array(String(decoding: out, as: UTF8.self).unicodeScalars)
  }
}
