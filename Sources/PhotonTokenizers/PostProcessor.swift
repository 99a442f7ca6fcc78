/// A `tokenizer.json` post-processor, as a template: `TemplateProcessing` as written,
/// `BertProcessing` as `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]`, `RobertaProcessing` as
/// `<s> A </s>` / `<s> A </s> </s> B </s>`, and no processor (or `ByteLevel`) as `A` / `A B`.
struct PostProcessor: Sendable {
  enum Piece: Sendable {
    /// The first (`A`) or second (`B`) sequence.
    case sequence(second: Bool, typeId: Int32)
    case special(ids: [Int32], typeId: Int32)
  }

  let single: [Piece]
  let pair: [Piece]

  /// No special tokens; the second sequence gets type id 1, as HF encodes pairs.
  static let none = PostProcessor(
    single: [.sequence(second: false, typeId: 0)],
    pair: [.sequence(second: false, typeId: 0), .sequence(second: true, typeId: 1)])

  /// `BertProcessing` (type ids 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`).
  static func bert(cls: Int32, sep: Int32) -> PostProcessor {
    PostProcessor(
      single: [
        .special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0),
        .special(ids: [sep], typeId: 0),
      ],
      pair: [
        .special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0),
        .special(ids: [sep], typeId: 0), .sequence(second: true, typeId: 1),
        .special(ids: [sep], typeId: 1),
      ])
  }

  /// `RobertaProcessing`: the pair separator is doubled (`</s></s>`); type ids are all 0, as
  /// `tokenizers` writes them.
  static func roberta(cls: Int32, sep: Int32) -> PostProcessor {
    PostProcessor(
      single: [
        .special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0),
        .special(ids: [sep], typeId: 0),
      ],
      pair: [
        .special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0),
        .special(ids: [sep], typeId: 0), .special(ids: [sep], typeId: 0),
        .sequence(second: true, typeId: 0), .special(ids: [sep], typeId: 0),
      ])
  }

  /// How many special tokens the template adds (truncation leaves room for them).
  func addedCount(pair isPair: Bool) -> Int {
    (isPair ? pair : single).reduce(0) {
      if case .special(let ids, _) = $1 { return $0 + ids.count }
      return $0
    }
  }

  /// - Returns: ids, type ids and whether each position is a special token.
  func apply(
    _ a: [Int32], _ b: [Int32]?, addSpecialTokens: Bool
  ) -> (ids: [Int32], typeIds: [Int32], special: [Bool]) {
    var ids: [Int32] = []
    var typeIds: [Int32] = []
    var special: [Bool] = []
    let count = a.count + (b?.count ?? 0) + (addSpecialTokens ? addedCount(pair: b != nil) : 0)
    ids.reserveCapacity(count)
    typeIds.reserveCapacity(count)
    special.reserveCapacity(count)
    for piece in b == nil ? single : pair {
      switch piece {
      case .sequence(let second, let typeId):
        let part = second ? (b ?? []) : a
        ids.append(contentsOf: part)
        typeIds.append(contentsOf: repeatElement(typeId, count: part.count))
        special.append(contentsOf: repeatElement(false, count: part.count))
      case .special(let specialIds, let typeId):
        guard addSpecialTokens else { continue }
        ids.append(contentsOf: specialIds)
        typeIds.append(contentsOf: repeatElement(typeId, count: specialIds.count))
        special.append(contentsOf: repeatElement(true, count: specialIds.count))
      }
    }
    return (ids, typeIds, special)
  }
}
