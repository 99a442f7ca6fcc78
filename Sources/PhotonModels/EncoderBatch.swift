import PhotonCore

/// A padded batch of token ids for an encoder: `[B, T]` row-major, mask 1 on real tokens.
public struct EncoderBatch: Sendable, Equatable {
  public var ids: [Int32]
  public var attentionMask: [Int32]
  public var tokenTypeIds: [Int32]
  public var batchSize: Int
  public var length: Int

  public init(ids: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32]? = nil, batchSize: Int, length: Int) throws {
    guard batchSize >= 0, length >= 0, ids.count == batchSize * length, attentionMask.count == ids.count,
      tokenTypeIds.map({ $0.count == ids.count }) ?? true
    else {
      throw PhotonError(
        .shapeMismatch,
        "batch of \(batchSize)×\(length) needs \(batchSize * length) ids, mask values and type ids; got \(ids.count), \(attentionMask.count), \(tokenTypeIds?.count ?? ids.count)"
      )
    }
    self.ids = ids
    self.attentionMask = attentionMask
    self.tokenTypeIds = tokenTypeIds ?? [Int32](repeating: 0, count: ids.count)
    self.batchSize = batchSize
    self.length = length
  }

  /// Sequences of different lengths, padded on the right with `padId` to the longest.
  public init(sequences: [[Int32]], typeIds: [[Int32]]? = nil, padId: Int32) throws {
    let length = sequences.map(\.count).max() ?? 0
    var ids: [Int32] = []
    var mask: [Int32] = []
    var types: [Int32] = []
    for (row, sequence) in sequences.enumerated() {
      let padding = length - sequence.count
      ids += sequence + [Int32](repeating: padId, count: padding)
      mask += [Int32](repeating: 1, count: sequence.count) + [Int32](repeating: 0, count: padding)
      types += (typeIds?[row] ?? [Int32](repeating: 0, count: sequence.count)) + [Int32](repeating: 0, count: padding)
    }
    try self.init(ids: ids, attentionMask: mask, tokenTypeIds: types, batchSize: sequences.count, length: length)
  }

  /// Positions `0..<T` for every row (BERT, DistilBERT).
  public var sequentialPositions: [Int32] {
    (0..<batchSize).flatMap { _ in (0..<length).map(Int32.init) }
  }

  /// RoBERTa's positions: padding tokens sit at `padId`, real tokens count up from `padId + 1`
  /// (HF `create_position_ids_from_input_ids`, driven by the ids, not the attention mask).
  public func positionsAfterPadding(padId: Int32) -> [Int32] {
    var positions = [Int32](repeating: padId, count: ids.count)
    for row in 0..<batchSize {
      var count: Int32 = 0
      for t in 0..<length where ids[row * length + t] != padId {
        count += 1
        positions[row * length + t] = padId + count
      }
    }
    return positions
  }
}
