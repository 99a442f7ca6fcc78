import Foundation
import Photon
import PhotonCPU
import PhotonCore
import PhotonOpenCL

/// Runs every encoder op on a backend (the OpenCL one, usually) and on the CPU reference with the same seeded
/// inputs at MiniLM's sizes, and reports the largest difference per op: a self-check of a device.
public enum BackendCheck {
  public struct Row: Sendable, Codable {
    public var op: String
    public var shape: String
    public var maxAbsDiff: Float
    enum CodingKeys: String, CodingKey { case op, shape, maxAbsDiff = "max_abs_diff" }
  }

  public static func run(gpu: any Backend) throws -> [Row] {
    let cpu = CPUBackend()
    var state: UInt64 = 0x5EED
    func random(_ count: Int, scale: Float = 1) -> [Float] {
      (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
      }
    }
    func compare(_ op: String, _ shape: String, _ body: (any Backend) throws -> Tensor) throws -> Row {
      let a = try gpu.floats(body(gpu))
      let b = try cpu.floats(body(cpu))
      return Row(op: op, shape: shape, maxAbsDiff: zip(a, b).map { abs($0 - $1) }.max() ?? 0)
    }
    let (b, t, c, heads, inner, vocab) = (4, 128, 384, 12, 1536, 1000)
    let x = random(b * t * c), residual = random(b * t * c), qkv = random(b * t * 3 * c, scale: 2)
    let w1 = random(inner * c, scale: 0.1), bias1 = random(inner), w2 = random(c * inner, scale: 0.05)
    let gamma = random(c), beta = random(c)
    let wide = random(b * t * inner), logits = random(b * t * c, scale: 20), spread = random(b * t * c, scale: 5)
    let mask: [Int32] = (0..<b).flatMap { row in (0..<t).map { Int32($0 < t - row * 37 ? 1 : 0) } }
    let ids = (0..<(b * t)).map { Int32($0 * 7 % vocab) }
    let positions = (0..<b).flatMap { _ in (0..<t).map(Int32.init) }
    let word = random(vocab * c), position = random(512 * c), type = random(2 * c)
    var rows: [Row] = []
    for activation in [Activation.gelu, .geluTanh, .relu] {
      rows.append(
        try compare("linear + \(activation.rawValue)", "\(b * t)×\(c)→\(inner)") { k in
          try k.linear(
            k.tensor(x, shape: [b * t, c]), k.linearWeight(w1, outFeatures: inner, inFeatures: c),
            bias: k.tensor(bias1, shape: [inner]), activation: activation)
        })
    }
    rows.append(
      try compare("linear", "\(b * t)×\(inner)→\(c)") { k in
        let h = try k.tensor(wide, shape: [b * t, inner])
        return try k.linear(h, k.linearWeight(w2, outFeatures: c, inFeatures: inner), bias: nil, activation: .identity)
      })
    rows.append(
      try compare("layer norm + residual", "\(b * t)×\(c)") { k in
        try k.normalize(
          k.tensor(x, shape: [b * t, c]), residual: k.tensor(residual, shape: [b * t, c]),
          .layer(weight: k.tensor(gamma, shape: [c]), bias: k.tensor(beta, shape: [c]), eps: 1e-12))
      })
    for causal in [false, true] {
      rows.append(
        try compare(causal ? "attention, causal" : "attention, padding mask", "B\(b) T\(t) \(heads)×\(c / heads)") {
          k in
          try k.attention(
            AttentionCall(
              .packed(k.tensor(qkv, shape: [b, t, 3 * c])), heads: heads,
              scale: 1 / Float(c / heads).squareRoot(),
              mask: causal ? nil : k.tensor(ints: mask, shape: [b, t]), masking: causal ? .causal : .none))
        })
    }
    rows.append(
      try compare("embeddings + layer norm", "B\(b) T\(t) C\(c)") { k in
        try k.embeddings(
          ids: k.tensor(ints: ids, shape: [b, t]), positions: k.tensor(ints: positions, shape: [b, t]),
          tokenTypes: nil, wordTable: k.tensor(word, shape: [vocab, c]),
          positionTable: k.tensor(position, shape: [512, c]), tokenTypeTable: k.tensor(type, shape: [2, c]),
          weight: k.tensor(gamma, shape: [c]), bias: k.tensor(beta, shape: [c]), eps: 1e-12)
      })
    rows.append(try compare("softmax", "\(b * t)×\(c)") { k in try k.softmax(k.tensor(logits, shape: [b * t, c])) })
    rows.append(try compare("tanh", "\(b * t * c)") { k in try k.unary(.tanh, k.tensor(spread, shape: [b * t * c])) })
    for mode in Pooling.allCases {
      rows.append(
        try compare("pool \(mode.rawValue)", "B\(b) T\(t) C\(c)") { k in
          try k.pool(k.tensor(x, shape: [b, t, c]), mask: k.tensor(ints: mask, shape: [b, t]), mode: mode)
        })
    }
    rows.append(
      try compare("l2 normalize", "\(b * t)×\(c)") { k in
        try k.normalize(k.tensor(x, shape: [b * t, c]), residual: nil, .l2)
      })
    return rows
  }
}
