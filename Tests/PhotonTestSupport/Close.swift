import Testing
import PhotonCore

/// The comparison every equivalence test uses: `|a − b| ≤ atol + rtol·|reference|` element-wise.
/// Fails on NaN or infinity, on a length mismatch, and reports max-abs, max-rel and the worst
/// index, so a failing run says how far off and where.
@discardableResult
public func expectClose(
  _ actual: [Float], _ reference: [Float], atol: Float, rtol: Float = 0, _ label: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) -> Float {
  guard actual.count == reference.count else {
    Issue.record(
      "\(label): \(actual.count) values vs \(reference.count) in the reference",
      sourceLocation: sourceLocation)
    return .infinity
  }
  var maxAbs: Float = 0
  var maxRel: Float = 0
  var worst = -1
  var worstExcess: Float = 0
  for i in actual.indices {
    let (a, r) = (actual[i], reference[i])
    guard a.isFinite, r.isFinite else {
      Issue.record("\(label): non-finite value at \(i): \(a) vs \(r)", sourceLocation: sourceLocation)
      return .infinity
    }
    let diff = abs(a - r)
    maxAbs = max(maxAbs, diff)
    if r != 0 { maxRel = max(maxRel, diff / abs(r)) }
    let excess = diff - (atol + rtol * abs(r))
    if excess > worstExcess {
      worstExcess = excess
      worst = i
    }
  }
  if worst >= 0 {
    Issue.record(
      "\(label): max abs \(maxAbs), max rel \(maxRel); worst at \(worst): \(actual[worst]) vs \(reference[worst]) (atol \(atol), rtol \(rtol))",
      sourceLocation: sourceLocation)
  }
  return maxAbs
}

/// A small deterministic generator (SplitMix64), so every test input is reproducible from a seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var base: SplitMix64
  public init(seed: UInt64) { base = SplitMix64(seed: seed) }
  public mutating func next() -> UInt64 { base.next() }

  /// `count` floats uniform in `range`.
  public mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
    (0..<count).map { _ in Float.random(in: range, using: &self) }
  }

  public mutating func ints(_ count: Int, below limit: Int32) -> [Int32] {
    (0..<count).map { _ in Int32.random(in: 0..<limit, using: &self) }
  }
}

/// Whether the suite runs at small shapes only (set `PHOTON_TEST_SMALL=1`, e.g. under Oclgrind,
/// which interprets kernels and is slow).
public let smallShapesOnly = ProcessInfo.processInfo.environment["PHOTON_TEST_SMALL"] == "1"

import Foundation
