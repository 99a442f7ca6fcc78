import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTokenizers

/// What every text pipeline shares: a model folder, its tokenizer, the truncation length, and a
/// batched run that pads, sorts by length and restores the caller's order.
struct TextPipeline: Sendable {
  let folder: ModelFolder
  let tokenizer: Tokenizer
  /// Where the model lives and its work runs.
  let engine: Engine
  var backend: any Backend { engine.backend }
  /// Inputs are truncated to this many tokens (special tokens included), as HF does.
  let maxLength: Int
  let padId: Int32

  /// - Parameter maxLength: overrides the folder's limit: sentence-transformers' `max_seq_length`
  ///   when present, else the tokenizer's `model_max_length`, capped by the model's positions.
  init(model: URL, engine: Engine, maxLength: Int?, modelPositions: (ModelFolder) throws -> Int) throws {
    folder = try ModelFolder(url: model)
    tokenizer = try Tokenizer.load(from: folder.url)
    self.engine = engine
    let positions = try modelPositions(folder)
    let folderLimit = folder.sentenceTransformers?.maxSeqLength ?? tokenizer.modelMaxLength ?? positions
    let limit = maxLength ?? min(folderLimit, positions)
    guard limit > 0 else {
      throw PhotonError(.invalidArgument, "max length must be positive, got \(limit)")
    }
    guard limit <= positions else {
      throw PhotonError(
        .invalidArgument, "max length \(limit) exceeds the \(positions) positions of \(folder.url.lastPathComponent)")
    }
    self.maxLength = limit
    padId = tokenizer.padTokenId ?? 0
  }

  /// Token ids of each text, special tokens included, truncated to ``maxLength``.
  func encode(_ texts: [String]) -> [Encoding] {
    texts.map { tokenizer.encode($0, maxLength: maxLength) }
  }

  /// Runs `body` on padded batches of at most `batchSize` texts of similar length (sorted, so
  /// little padding is computed) and returns its per-text results in the order of `texts`; all of
  /// it on the engine's executor.
  func run<Result>(
    _ texts: [String], batchSize: Int,
    _ body: (_ batch: EncoderBatch, _ encodings: [Encoding]) throws -> [Result]
  ) throws -> [Result] {
    try engine.run { try runOnExecutor(texts, batchSize: batchSize, body) }
  }

  private func runOnExecutor<Result>(
    _ texts: [String], batchSize: Int,
    _ body: (_ batch: EncoderBatch, _ encodings: [Encoding]) throws -> [Result]
  ) throws -> [Result] {
    guard batchSize > 0 else {
      throw PhotonError(.invalidArgument, "batch size must be positive, got \(batchSize)")
    }
    guard !texts.isEmpty else { return [] }
    let encodings = encode(texts)
    let order = encodings.indices.sorted { encodings[$0].count < encodings[$1].count }
    var results = [Result?](repeating: nil, count: texts.count)
    for start in stride(from: 0, to: order.count, by: batchSize) {
      let indices = Array(order[start..<min(start + batchSize, order.count)])
      let group = indices.map { encodings[$0] }
      let batch = try EncoderBatch(sequences: group.map(\.ids), typeIds: group.map(\.typeIds), padId: padId)
      let outputs = try body(batch, group)
      for (index, output) in zip(indices, outputs) { results[index] = output }
    }
    return results.map { $0! }
  }
}

/// Maximum positions of any encoder folder, as its architecture reads them from its config.
func encoderPositions(_ folder: ModelFolder) throws -> Int {
  try ModelRegistry.architecture(for: folder).maxPositions(of: folder)
}
