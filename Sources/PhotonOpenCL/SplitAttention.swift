import PhotonCore
import PhotonKernels

/// Decode attention split across the keys (flash-decoding): for one new query per sequence over
/// a long cache, the unsplit kernels run NH·B work-items, each streaming every key; here the keys
/// are cut into chunks, each chunk's online softmax runs as its own work-item
/// (`split_attention_partial`), and `split_attention_combine` merges the chunks. Used by
/// ``biasedAttention(query:keys:values:length:positionBias:mask:causal:heads:scale:)`` (T5) and
/// ``cachedAttention(query:keyCache:valueCache:length:mask:heads:scale:)`` (GPT-2) when a step
/// has a single query and at least ``splitAttentionMinimumKeys`` keys.
extension OpenCLBackend {
  /// Keys from which a one-query step splits: below it one work-item per head is enough.
  static let splitAttentionMinimumKeys = 256
  /// Keys per chunk aimed at.
  static let splitAttentionChunk = 64
  /// Chunks at most (their partial results are combined in one loop per output).
  static let splitAttentionMaximumSplits = 64

  /// The chunk count for `length` keys: ⌈length / 64⌉, at most 64.
  static func splitAttentionSplits(length: Int) -> Int {
    max(1, min(splitAttentionMaximumSplits, (length + splitAttentionChunk - 1) / splitAttentionChunk))
  }

  // query: [B, 1, C] or packed [B, 1, 3C]; keys, values: [B, S, C]; bias: [NH, P, P'] or nil;
  // mask: [B, S] or nil; y: [B, 1, C]. The caller checked the shapes (ShapeCheck.biasedAttention
  // or ShapeCheck.cachedAttention) and that there is one query.
  func splitAttention(
    query: Tensor, keys: Tensor, values: Tensor, length: Int, positionBias: Tensor?,
    mask: Tensor?, heads: Int, headSize: Int, queryStride: Int, scale: Float, splits: Int
  ) throws -> Tensor {
    let (batch, s, c) = (keys.shape[0], keys.shape[1], keys.shape[2])
    guard query.shape[1] == 1, splits >= 1, length >= 1, length <= s else {
      throw PhotonError(
        .invalidArgument,
        "split attention needs one query, 1 ≤ length \(length) ≤ \(s) keys and splits ≥ 1; got query \(query.shape), splits \(splits)"
      )
    }
    let splits = min(splits, length)
    let chunk = (length + splits - 1) / splits
    let y = try allocate([batch, 1, c], for: "splitAttention output")
    let partial = try allocate(
      [batch, heads, splits, headSize + 2], for: "splitAttention partial results")
    let defines = "-DHEAD_DIM=\(headSize)"
    try kernel(
      "split_attention_partial", in: KernelSource.decode, file: "decode.cl", defines: defines
    ).launch(
      on: device,
      [
        .buffer(try query.deviceBuffer(of: self)), .buffer(try keys.deviceBuffer(of: self)),
        .buffer(try values.deviceBuffer(of: self)),
        .buffer(try positionBias?.deviceBuffer(of: self)), .buffer(try mask?.deviceBuffer(of: self)),
        .buffer(try partial.deviceBuffer(of: self)), .int(length), .int(s), .int(heads),
        .int(queryStride), .int(positionBias?.shape[1] ?? 0), .int(positionBias?.shape[2] ?? 0),
        .float(scale), .int(chunk), .int(splits),
      ], global: [splits, heads, batch], local: nil)
    try kernel(
      "split_attention_combine", in: KernelSource.decode, file: "decode.cl", defines: defines
    ).launch(
      on: device,
      [
        .buffer(try partial.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
        .int(heads), .int(splits),
      ], global: [headSize, heads, batch], local: nil)
    return y
  }
}
