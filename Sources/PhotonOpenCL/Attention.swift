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

  // q: [B, Tq, C], k, v: [B, Tk, C] (or packed [B, T, 3C]); mask: [B, Tk]; y: [B, Tq, C]
  public func attention(
    _ input: AttentionInput, mask: Tensor?, causal: Bool, heads: Int, scale: Float
  ) throws -> Tensor {
    let s = try ShapeCheck.attention(input, mask: mask, heads: heads)
    let y = try allocate([s.batch, s.queryLength, s.channels], for: "attention output")
    guard s.batch > 0, s.queryLength > 0, s.keyLength > 0 else { return y }
    let (q, k, v): (DeviceBuffer, DeviceBuffer, DeviceBuffer)
    let (qStride, kvStride, qOffset, kOffset, vOffset): (Int, Int, Int, Int, Int)
    switch input {
    case .packed(let qkv):
      let buffer = try qkv.deviceBuffer(of: self)
      (q, k, v) = (buffer, buffer, buffer)
      (qStride, kvStride) = (3 * s.channels, 3 * s.channels)
      (qOffset, kOffset, vOffset) = (0, s.channels, 2 * s.channels)
    case .separate(let query, let key, let value):
      (q, k, v) = (try query.deviceBuffer(of: self), try key.deviceBuffer(of: self), try value.deviceBuffer(of: self))
      (qStride, kvStride) = (s.channels, s.channels)
      (qOffset, kOffset, vOffset) = (0, 0, 0)
    }
    let arguments: [KernelArgument] = [
      .buffer(q), .buffer(k), .buffer(v), .buffer(try mask?.deviceBuffer(of: self)),
      .buffer(try y.deviceBuffer(of: self)), .int(s.queryLength), .int(s.keyLength), .int(heads),
      .int(qStride), .int(kvStride), .int(qOffset), .int(kOffset), .int(vOffset), .float(scale),
      .int(causal ? 1 : 0),
    ]
    var variant = attentionVariant
    if variant == .keysVectorized && s.headSize % 16 != 0 { variant = .rowwise }  // its precondition
    let keysGroup =
      s.queryLength >= Self.attentionKeysGroup * Self.attentionKeysRows
      ? Self.attentionKeysGroup : Self.attentionKeysGroupShort
    let defines =
      "-DHEAD_DIM=\(s.headSize) -DATT_WG=\(variant == .keysVectorized ? keysGroup : Self.attentionRowwiseGroup) -DATT_QB=\(Self.attentionKeysRows) -DATT_BQ=\(Self.attentionQueryBlock) -DATT_BK=\(Self.attentionKeyBlock) -DATT_KCHUNK=\(Self.attentionKeyChunk)"
    switch variant {
    case .keysVectorized:
      let items = (s.queryLength + Self.attentionKeysRows - 1) / Self.attentionKeysRows
      try kernel("attention_keys_x16", in: KernelSource.attention, file: "attention.cl", defines: defines)
        .launch(on: device, arguments, global: [items, heads, s.batch], local: [keysGroup, 1, 1])
    case .rowwise:
      try kernel("attention_rowwise", in: KernelSource.attention, file: "attention.cl", defines: defines)
        .launch(
          on: device, arguments, global: [s.queryLength, heads, s.batch],
          local: [Self.attentionRowwiseGroup, 1, 1])
    case .tiled:
      try kernel("attention_tiled", in: KernelSource.attention, file: "attention.cl", defines: defines)
        .launch(
          on: device, arguments, global: [s.queryLength, heads, s.batch],
          local: [Self.attentionQueryBlock, 1, 1])
    }
    return y
  }
}
