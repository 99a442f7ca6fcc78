import PhotonCore

/// The product of an fp16 or int8 linear layer, read from the stored form (1–2 bytes a weight)
/// instead of a full fp32 copy made on every call:
///
/// - a few rows of x (decoding): each output is a dot product of x's row with one weight row
///   widened in SIMD lanes as it is read — fp16 by moving its bits into a float's, int8 as q8_0
///   does, one multiply by the block's scale per 32-weight block sum;
/// - more rows: a tile of weight rows at a time is widened into a per-chunk fp32 scratch
///   (exactly ``Quantization/floats(halfBits:)`` / ``Quantization/dequantize(_:scales:rows:columns:)``)
///   and multiplied by `sgemm`, so the widening is paid once per tile, not once per row of x.
///
/// Both give the dequantize-then-multiply products up to fp32 rounding: the same weights, summed
/// in another order. The OpenCL kernels widen inside the GEMM (`gemm_quant.cl`): another route.
extension CPUBackend {
  // x: [T, K], w: [N, K] (HF [out, in]) fp16 or int8, b: [N], y: [T, N]
  func quantizedLinear(_ x: Tensor, _ weight: LinearWeight, bias: Tensor?, activation: Activation) throws
    -> Tensor
  {
    let shape = try ShapeCheck.linear(x, weight, bias: bias)
    let (t, k, n) = (x.rows, weight.inFeatures, weight.outFeatures)
    let rows = try QuantizedRows(weight)
    let xs = try x.hostFloats()
    let bs = try bias?.hostFloats() ?? [Float](repeating: 0, count: n)
    let y = [Float](filling: t * n) { y in
      guard t > 0, n > 0 else { return }
      let y = y.baseAddress!
      guard k > 0 else {
        y.initialize(repeating: 0, count: t * n)
        for row in 0..<t { addBias(bs, activation, to: y + row * n, columns: 0..<n) }
        return
      }
      xs.withUnsafeBufferPointer { xs in
        rows.withPointers { w in
          let x = xs.baseAddress!
          if t <= Self.directProductRows && !w.needsExactWidening {
            // Each output row of W once per row of x, read in place; chunks of output columns.
            Parallel.forEachChunk(of: n, grain: Self.directProductGrain) { columns in
              for row in 0..<t {
                let (xRow, yRow) = (x + row * k, y + row * n)
                for j in columns { yRow[j] = w.dot(xRow, row: j) }
                addBias(bs, activation, to: yRow, columns: columns)
              }
            }
          } else if t >= 2 * Self.gemmRowGrain {
            // Chunks of x's rows as in `linear`, each walking W a tile at a time: a tile is widened
            // once per chunk (at most four per core), against a GEMM of 64+ rows per weight.
            Parallel.forEachChunk(of: t, grain: Self.gemmRowGrain) { chunk in
              let first = chunk.lowerBound
              w.forEachWidenedTile(of: 0..<n) { tile, scratch in
                sgemm(
                  m: chunk.count, n: tile.count, k: k, x + first * k, lda: k, scratch, ldb: k, transposeB: true,
                  y + first * n + tile.lowerBound, ldc: n)
              }
              for row in chunk { addBias(bs, activation, to: y + row * n, columns: 0..<n) }
            }
          } else {
            // Few rows: chunks of output columns, every weight widened exactly once.
            Parallel.forEachChunk(of: n, grain: Self.gemmColumnGrain) { columns in
              w.forEachWidenedTile(of: columns) { tile, scratch in
                sgemm(
                  m: t, n: tile.count, k: k, x, lda: k, scratch, ldb: k, transposeB: true, y + tile.lowerBound,
                  ldc: n)
              }
              for row in 0..<t { addBias(bs, activation, to: y + row * n, columns: columns) }
            }
          }
        }
      }
    }
    return .host(y, shape: shape)
  }

  /// Rows of x up to which the product is read from the stored weights directly (each weight
  /// widened once per row of x); from the next row on, widening a tile once and running sgemm
  /// costs less.
  static let directProductRows = 4
  /// Output columns per chunk of the direct product (a few weight rows of 768–3072 values each).
  static let directProductGrain = 32
}

/// An fp16 or int8 weight `[N, K]` as stored on the reference backend, plus its int8 scales.
struct QuantizedRows {
  let precision: Precision
  let n: Int
  let k: Int
  let storage: QuantizedHostStorage
  let scales: [Float]

  init(_ weight: LinearWeight) throws {
    guard let storage = weight.storage.storage as? QuantizedHostStorage else {
      throw PhotonError(.wrongBackend, "expected an fp16 or int8 .cpu weight, got \(weight.storage)")
    }
    switch weight.precision {
    case .fp32:
      throw PhotonError(.invalidArgument, "an fp32 weight has no quantized rows")
    case .fp16:
      self.scales = []
    case .int8:
      guard let scales = weight.scales else {
        throw PhotonError(.wrongBackend, "expected an int8 .cpu weight with scales, got \(weight.storage)")
      }
      self.scales = try scales.hostFloats()
    }
    (precision, n, k, self.storage) = (weight.precision, weight.outFeatures, weight.inFeatures, storage)
  }

  func withPointers<R>(_ body: (QuantizedRowPointers) -> R) -> R {
    storage.halfBits.withUnsafeBufferPointer { halves in
      storage.int8Values.withUnsafeBufferPointer { q in
        scales.withUnsafeBufferPointer { scales in
          body(
            QuantizedRowPointers(
              precision: precision, n: n, k: k, halves: halves.baseAddress, q: q.baseAddress,
              scales: scales.baseAddress, needsExactWidening: storage.hasNonFiniteHalves))
        }
      }
    }
  }
}

/// The stored weights behind raw pointers, for the loops over them (read-only, shared by chunks).
struct QuantizedRowPointers: @unchecked Sendable {
  let precision: Precision
  let n: Int
  let k: Int
  /// fp16: half bit patterns `[N, K]`.
  let halves: UnsafePointer<UInt16>?
  /// int8: values `[N, K]` and scales `[N, blocks(K)]`.
  let q: UnsafePointer<Int8>?
  let scales: UnsafePointer<Float>?
  /// Some half is inf or NaN: widen one value at a time (see ``QuantizedHostStorage``).
  let needsExactWidening: Bool

  /// Weight rows widened per tile: up to 256, and at most 1 MiB of fp32 scratch.
  var tileRows: Int { max(16, min(256, (1 << 18) / max(k, 1))) }

  /// `x · w[row]`: x: [K].
  @inline(__always)
  func dot(_ x: UnsafePointer<Float>, row: Int) -> Float {
    switch precision {
    case .fp16: Self.dotHalf(x, halves! + row * k, k: k)
    case .int8: Self.dotInt8(x, q! + row * k, scales: scales! + row * Quantization.blocks(k), k: k)
    case .fp32: 0  // never built for fp32 (``QuantizedRows/init(_:)`` throws)
    }
  }

  /// Calls `body(tile, scratch)` for consecutive tiles of weight rows covering `rows`, with
  /// `scratch` holding `w[tile]` widened to fp32, `[tile.count, K]`.
  func forEachWidenedTile(
    of rows: Range<Int>, _ body: (Range<Int>, UnsafePointer<Float>) -> Void
  ) {
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: min(tileRows, rows.count) * k)
    defer { scratch.deallocate() }
    for start in stride(from: rows.lowerBound, to: rows.upperBound, by: tileRows) {
      let tile = start..<min(start + tileRows, rows.upperBound)
      widen(tile, into: scratch)
      body(tile, scratch)
    }
  }

  /// `w[rows]` in fp32, `[rows.count, K]`: the values ``Quantization`` defines, bit for bit.
  func widen(_ rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
    let count = rows.count * k
    switch precision {
    case .fp16:
      let source = halves! + rows.lowerBound * k
      var i = 0
      if !needsExactWidening {
        while i + 8 <= count {
          let bits = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<UInt16>.self)
          UnsafeMutableRawPointer(out + i).storeBytes(of: Self.widen(bits), as: SIMD8<Float>.self)
          i += 8
        }
      }
      for i in i..<count { out[i] = Float(Float16(bitPattern: source[i])) }
    case .int8:
      let blocks = Quantization.blocks(k)
      for (r, row) in rows.enumerated() {
        let (values, scale, o) = (q! + row * k, scales! + row * blocks, out + r * k)
        // A plain loop per block, which LLVM vectorises (sign-extend, convert, scale) better than
        // hand-written SIMD8<Int8> lanes here.
        for block in 0..<blocks {
          let s = scale[block]
          for c in (block * Quantization.blockSize)..<min((block + 1) * Quantization.blockSize, k) {
            o[c] = Float(values[c]) * s
          }
        }
      }
    case .fp32: break
    }
  }

  /// Eight finite halves in fp32, exactly, without F16C (Swift's own `Float(Float16)` is a library
  /// call per value on baseline x86-64). Each half goes to the high 16 bits of a 32-bit lane; an
  /// arithmetic shift right by 3 puts its sign at bit 31 and its exponent and mantissa at bits
  /// 27…13 (bits 30…28 are copies of the sign, cleared by the mask): a float whose exponent is 112
  /// too small, the rebias being one exact multiply by 2¹¹². Subnormal halves come out as float
  /// subnormals times 2¹¹², exact too; inf and NaN would not (a weight holding them is widened
  /// one value at a time).
  @inline(__always)
  static func widen(_ bits: SIMD8<UInt16>) -> SIMD8<Float> {
    let lanes = SIMD8<Int32>(truncatingIfNeeded: bits) &<< 16
    let moved = (lanes &>> 3) & Int32(bitPattern: 0x8FFF_E000)
    return unsafeBitCast(moved, to: SIMD8<Float>.self) * 0x1p112
  }

  /// `Σ x[c]·w[c]` over one fp16 row; two accumulators of eight lanes, the tail one at a time.
  @inline(__always)
  static func dotHalf(_ x: UnsafePointer<Float>, _ w: UnsafePointer<UInt16>, k: Int) -> Float {
    let (xr, wr) = (UnsafeRawPointer(x), UnsafeRawPointer(w))
    var (acc0, acc1) = (SIMD8<Float>.zero, SIMD8<Float>.zero)
    var c = 0
    while c + 16 <= k {
      let w0 = widen(wr.loadUnaligned(fromByteOffset: 2 &* c, as: SIMD8<UInt16>.self))
      let w1 = widen(wr.loadUnaligned(fromByteOffset: 2 &* c &+ 16, as: SIMD8<UInt16>.self))
      acc0 += xr.loadUnaligned(fromByteOffset: 4 &* c, as: SIMD8<Float>.self) * w0
      acc1 += xr.loadUnaligned(fromByteOffset: 4 &* c &+ 32, as: SIMD8<Float>.self) * w1
      c += 16
    }
    var sum = (acc0 + acc1).sum()
    for c in c..<k { sum += x[c] * Float(Float16(bitPattern: w[c])) }
    return sum
  }

  /// `Σ_b scale[b] · Σ_{c in block b} x[c]·q[c]` over one int8 row (q8_0's order: one multiply by
  /// the scale per block); a short last block one value at a time.
  @inline(__always)
  static func dotInt8(_ x: UnsafePointer<Float>, _ q: UnsafePointer<Int8>, scales: UnsafePointer<Float>, k: Int)
    -> Float
  {
    let size = Quantization.blockSize
    var acc = SIMD8<Float>.zero
    var (xr, qr) = (UnsafeRawPointer(x), UnsafeRawPointer(q))
    let full = k / size
    for b in 0..<full {
      @inline(__always) func products(_ o: Int) -> SIMD8<Float> {
        xr.loadUnaligned(fromByteOffset: 4 &* o, as: SIMD8<Float>.self)
          * SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: qr.loadUnaligned(fromByteOffset: o, as: SIMD8<Int8>.self)))
      }
      acc += ((products(0) + products(8)) + (products(16) + products(24))) * scales[b]
      xr += 4 * size
      qr += size
    }
    var sum = acc.sum()
    if full * size < k {
      var block: Float = 0
      for c in (full * size)..<k { block += x[c] * Float(q[c]) }
      sum += block * scales[full]
    }
    return sum
  }
}
