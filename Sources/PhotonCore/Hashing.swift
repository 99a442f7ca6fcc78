/// SplitMix64: small, fast and the same on every platform, so seeds reproduce (random weights,
/// the sampler, the tuner's inputs, the tests' inputs). The one copy in the repository.
package struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64
  package init(seed: UInt64) { state = seed }
  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// 64-bit FNV-1a: a fast, stable hash (program-cache keys and checksums, per-tensor seeds), the
/// same on every platform. The one copy in the repository.
package func fnv1a64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in bytes {
    hash ^= UInt64(byte)
    hash = hash &* 0x100_0000_01b3
  }
  return hash
}

/// FNV-1a of a string's UTF-8 bytes.
package func fnv1a64(_ text: String) -> UInt64 { fnv1a64(text.utf8) }
