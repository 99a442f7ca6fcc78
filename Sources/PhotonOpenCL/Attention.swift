import PhotonCore
import PhotonKernels

extension OpenCLBackend {
  static let attentionRowwiseGroup = 16
  /// `attention_keys_x16`: query rows per work-item (register-blocked), work-items per group (they
  /// share one transposed key chunk) and keys per chunk. Measured on PoCL (AVX-512, MiniLM 32×128,
  /// one layer): 8 rows × 16 items × 128 keys took 16 ms of CPU time against 17–19 ms for 8×8,
  /// 4×16, 4×32, 16×8 and 64-key chunks (54 ms before register blocking). Short sequences
  /// take groups of 2 items, so that 16 query rows do not occupy a group built for 128.
  static let attentionKeysRows = 8
  static let attentionKeysGroup = 16
  static let attentionKeysGroupShort = 2
  static let attentionKeyChunk = 128
  static let attentionQueryBlock = 16
  static let attentionKeyBlock = 32

  /// The `-D` options of attention.cl: every kernel of a head size shares one program (the fused
  /// kernels' knobs are defaults the others ignore); only `keys-x16` changes the group.
  func attentionDefines(headSize: Int, group: Int) -> String {
    "-DHEAD_DIM=\(headSize) -DATT_WG=\(group) -DATT_QB=\(Self.attentionKeysRows) -DATT_BQ=\(Self.attentionQueryBlock) -DATT_BK=\(Self.attentionKeyBlock) -DATT_KCHUNK=\(Self.attentionKeyChunk)"
  }

  // q: [B, Tq, C] (or packed [B, T, 3C]); k, v: [B, S, C], first L rows read; bias: [NH, P, P'];
  // mask: [B, S]; y: [B, Tq, C]
  // One query over many keys splits across them; without a cache or a bias the fused kernels of
  // this device's variant run; otherwise attention_cached.
  public func attention(_ call: AttentionCall) throws -> Tensor {
    let s = try ShapeCheck.attention(call)
    let y = try allocate([s.batch, s.queryLength, s.channels], for: "attention output")
    guard s.batch > 0, s.queryLength > 0, s.channels > 0 else { return y }
    // Clamped to L, so that the kernels' position ± bound cannot overflow an int.
    let (before, after) = (min(call.masking.bounds.before, s.keyLength), min(call.masking.bounds.after, s.keyLength))
    let (q, k, v): (Tensor, Tensor, Tensor)
    let (kvStride, kOffset, vOffset): (Int, Int, Int)
    switch call.input {
    case .packed(let qkv):
      (q, k, v) = (qkv, qkv, qkv)
      (kvStride, kOffset, vOffset) = (3 * s.channels, s.channels, 2 * s.channels)
    case .separate(let query, let key, let value):
      (q, k, v) = (query, key, value)
      (kvStride, kOffset, vOffset) = (s.channels, 0, 0)
    }
    if s.queryLength == 1, s.keyLength >= Self.splitAttentionMinimumKeys, case .separate = call.input {
      // A decode step over a long context: split across the keys.
      return try splitAttention(
        query: q, keys: k, values: v, length: s.keyLength, positionBias: call.positionBias,
        mask: call.mask, heads: s.heads, headSize: s.headSize, queryStride: s.queryStride,
        scale: call.scale, splits: Self.splitAttentionSplits(length: s.keyLength),
        firstKey: max(0, s.keyLength - 1 - before))
    }
    if call.keyLength != nil || call.positionBias != nil {
      guard case .separate = call.input else {
        throw PhotonError(.invalidArgument, "attention: a packed QKV input takes no key length or position bias")
      }
      try kernel(
        "attention_cached", in: KernelSource.attention, file: "attention.cl",
        defines: attentionDefines(headSize: s.headSize, group: Self.attentionRowwiseGroup)
      ).launch(
        on: device,
        [
          .buffer(try q.deviceBuffer(of: self)), .buffer(try k.deviceBuffer(of: self)),
          .buffer(try v.deviceBuffer(of: self)), .buffer(try call.positionBias?.deviceBuffer(of: self)),
          .buffer(try call.mask?.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
          .int(s.queryLength), .int(s.keyLength), .int(s.keyRows), .int(s.heads), .int(s.queryStride),
          .int(s.biasRows), .int(s.biasColumns), .float(call.scale), .int(before), .int(after),
        ],
        // CPU devices: one work-item per group, else PoCL makes all Tq·NH·B items one group, which
        // runs on one core (GPT-2 small decode: 12 heads on one of 2 cores).
        global: [s.queryLength, s.heads, s.batch], local: device.info.isCPU ? [1, 1, 1] : nil)
      return y
    }
    let arguments: [KernelArgument] = [
      .buffer(try q.deviceBuffer(of: self)), .buffer(try k.deviceBuffer(of: self)),
      .buffer(try v.deviceBuffer(of: self)), .buffer(try call.mask?.deviceBuffer(of: self)),
      .buffer(try y.deviceBuffer(of: self)), .int(s.queryLength), .int(s.keyLength), .int(s.heads),
      .int(s.queryStride), .int(kvStride), .int(0), .int(kOffset), .int(vOffset), .float(call.scale),
      .int(before), .int(after),
    ]
    var variant = attentionVariant
    if variant == .keysVectorized && s.headSize % 16 != 0 { variant = .rowwise }  // its precondition
    let keysGroup =
      s.queryLength >= Self.attentionKeysGroup * Self.attentionKeysRows
      ? Self.attentionKeysGroup : Self.attentionKeysGroupShort
    let defines = attentionDefines(
      headSize: s.headSize, group: variant == .keysVectorized ? keysGroup : Self.attentionRowwiseGroup)
    switch variant {
    case .keysVectorized:
      let items = (s.queryLength + Self.attentionKeysRows - 1) / Self.attentionKeysRows
      try kernel("attention_keys_x16", in: KernelSource.attention, file: "attention.cl", defines: defines)
        .launch(on: device, arguments, global: [items, s.heads, s.batch], local: [keysGroup, 1, 1])
    case .rowwise:
      try kernel("attention_rowwise", in: KernelSource.attention, file: "attention.cl", defines: defines)
        .launch(
          on: device, arguments, global: [s.queryLength, s.heads, s.batch],
          local: [Self.attentionRowwiseGroup, 1, 1])
    case .tiled:
      try kernel("attention_tiled", in: KernelSource.attention, file: "attention.cl", defines: defines)
        .launch(
          on: device, arguments, global: [s.queryLength, s.heads, s.batch],
          local: [Self.attentionQueryBlock, 1, 1])
    }
    return y
  }

  // qkv: [B, T, 3C]; caches: [B, S, C], written in place at rows start..<start+T
  public func writeKeyValueCache(_ qkv: Tensor, keyCache: Tensor, valueCache: Tensor, at start: Int)
    throws
  {
    let (batch, t, c, s) = try ShapeCheck.writeKeyValueCache(
      qkv, keyCache: keyCache, valueCache: valueCache, at: start)
    try kernel("kv_cache_write", in: KernelSource.attention, file: "attention.cl").launch(
      on: device,
      [
        .buffer(try qkv.deviceBuffer(of: self)), .buffer(try keyCache.deviceBuffer(of: self)),
        .buffer(try valueCache.deviceBuffer(of: self)), .int(t), .int(c), .int(s), .int(start),
      ], global: [c, t, batch], local: [max(1, min(c, 64)), 1, 1])
  }

  // MARK: Split across the keys (flash-decoding)
  //
  // For one new query per sequence over a long cache, the unsplit kernels run NH·B work-items,
  // each streaming every key; here the keys are cut into chunks, each chunk's online softmax runs
  // as its own work-item (`attention_split_partial`), and `attention_split_combine` merges them.

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
  // mask: [B, S] or nil; y: [B, 1, C]. The caller checked the shapes (ShapeCheck.attention) and
  // that there is one query; keys before `firstKey` are outside its window.
  func splitAttention(
    query: Tensor, keys: Tensor, values: Tensor, length: Int, positionBias: Tensor?,
    mask: Tensor?, heads: Int, headSize: Int, queryStride: Int, scale: Float, splits: Int, firstKey: Int = 0
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
    let defines = attentionDefines(headSize: headSize, group: Self.attentionRowwiseGroup)
    try kernel(
      "attention_split_partial", in: KernelSource.attention, file: "attention.cl", defines: defines
    ).launch(
      on: device,
      [
        .buffer(try query.deviceBuffer(of: self)), .buffer(try keys.deviceBuffer(of: self)),
        .buffer(try values.deviceBuffer(of: self)),
        .buffer(try positionBias?.deviceBuffer(of: self)), .buffer(try mask?.deviceBuffer(of: self)),
        .buffer(try partial.deviceBuffer(of: self)), .int(length), .int(s), .int(heads),
        .int(queryStride), .int(positionBias?.shape[1] ?? 0), .int(positionBias?.shape[2] ?? 0),
        .float(scale), .int(chunk), .int(splits), .int(firstKey),
      ], global: [splits, heads, batch], local: nil)
    try kernel(
      "attention_split_combine", in: KernelSource.attention, file: "attention.cl", defines: defines
    ).launch(
      on: device,
      [
        .buffer(try partial.deviceBuffer(of: self)), .buffer(try y.deviceBuffer(of: self)),
        .int(heads), .int(splits),
      ], global: [headSize, heads, batch], local: nil)
    return y
  }
}
