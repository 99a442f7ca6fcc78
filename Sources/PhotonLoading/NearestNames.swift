/// Suggestions for a name that was not found: the existing names closest to it.
enum NearestNames {
  /// The `limit` names in `candidates` with the smallest edit distance to any of `targets`
  /// (ties broken by longer shared prefix, then alphabetically).
  static func find(_ targets: [String], among candidates: [String], limit: Int = 3) -> [String] {
    let targetBytes = targets.map { Array($0.utf8) }
    let scored = candidates.map { candidate -> (name: String, distance: Int, prefix: Int) in
      let bytes = Array(candidate.utf8)
      var best = (distance: Int.max, prefix: 0)
      for target in targetBytes {
        let distance = editDistance(target, bytes)
        let prefix = sharedPrefixLength(target, bytes)
        if distance < best.distance || (distance == best.distance && prefix > best.prefix) {
          best = (distance, prefix)
        }
      }
      return (candidate, best.distance, best.prefix)
    }
    return scored.sorted {
      ($0.distance, -$0.prefix, $0.name) < ($1.distance, -$1.prefix, $1.name)
    }.prefix(limit).map(\.name)
  }

  static func find(_ target: String, among candidates: [String], limit: Int = 3) -> [String] {
    find([target], among: candidates, limit: limit)
  }

  /// Levenshtein distance over UTF-8 bytes (tensor names are ASCII), two rows of memory.
  static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
        current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
      }
      swap(&previous, &current)
    }
    return previous[b.count]
  }

  static func sharedPrefixLength(_ a: [UInt8], _ b: [UInt8]) -> Int {
    var n = 0
    while n < a.count, n < b.count, a[n] == b[n] { n += 1 }
    return n
  }
}
