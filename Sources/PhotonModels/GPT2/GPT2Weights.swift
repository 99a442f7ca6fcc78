import Foundation
import PhotonCore
import PhotonLoading

/// Where GPT-2's tensors come from: a checkpoint, looked up by HF's names through a
/// ``WeightScope``, or seeded random values drawn as HF's `GPT2PreTrainedModel._init_weights`
/// draws them — so a benchmark runs GPT-2 small (or any config) at real shapes without a download.
struct GPT2Weights: Sendable {
  enum Source: Sendable {
    case checkpoint(WeightScope)
    /// Tensor `name` gets its own generator, seeded from `seed` and the name, so values do not
    /// depend on the order modules are built in.
    case random(seed: UInt64, layers: Int, path: String)
  }

  let source: Source
  let backend: any Backend
  /// How the linear weights (every `Conv1D` and the LM head) are stored on the backend;
  /// embeddings, biases and LayerNorms stay fp32.
  let precision: Precision

  init(checkpoint: WeightScope, backend: any Backend, precision: Precision = .fp32) {
    source = .checkpoint(checkpoint)
    self.backend = backend
    self.precision = precision
  }

  init(random seed: UInt64, layers: Int, backend: any Backend, precision: Precision = .fp32) {
    source = .random(seed: seed, layers: layers, path: "")
    self.backend = backend
    self.precision = precision
  }

  private init(source: Source, backend: any Backend, precision: Precision) {
    self.source = source
    self.backend = backend
    self.precision = precision
  }

  /// One module deeper (`scope("h.0")`).
  func scope(_ name: String) -> GPT2Weights {
    switch source {
    case .checkpoint(let weights):
      GPT2Weights(source: .checkpoint(weights.scope(name)), backend: backend, precision: precision)
    case .random(let seed, let layers, let path):
      GPT2Weights(
        source: .random(seed: seed, layers: layers, path: path.isEmpty ? name : path + "." + name),
        backend: backend, precision: precision)
    }
  }

  /// Whether the checkpoint has `name` (random weights have exactly the tied GPT-2 set).
  func contains(_ name: String) -> Bool {
    switch source {
    case .checkpoint(let weights): weights.contains(name)
    case .random: name != "lm_head.weight"
    }
  }

  /// Host values of tensor `name` with `shape`.
  func values(_ name: String, shape: [Int]) throws -> [Float] {
    switch source {
    case .checkpoint(let weights):
      return try weights.tensor(name, shape: shape).values
    case .random(let seed, let layers, let path):
      let full = path.isEmpty ? name : path + "." + name
      let count = shape.elementCount
      let parts = full.split(separator: ".")
      let isLayerNorm = parts.contains { $0.hasPrefix("ln_") }
      if full.hasSuffix(".bias") { return [Float](repeating: 0, count: count) }
      if isLayerNorm { return [Float](repeating: 1, count: count) }
      // HF: normal(0, initializer_range = 0.02); residual projections (`c_proj`) by 1/√(2·n_layer).
      var std: Float = 0.02
      if parts.contains("c_proj") { std /= Float(2 * layers).squareRoot() }
      return Self.normal(count: count, std: std, seed: seed ^ fnv1a64(full))
    }
  }

  /// Tensor `name` on the backend.
  func tensor(_ name: String, shape: [Int]) throws -> Tensor {
    try backend.tensor(values(name, shape: shape), shape: shape)
  }

  /// A linear weight given in HF's `[out, in]` layout, stored at ``precision``.
  func linearWeight(_ values: [Float], outFeatures: Int, inFeatures: Int) throws -> LinearWeight {
    try backend.linearWeight(values, outFeatures: outFeatures, inFeatures: inFeatures, precision: precision)
  }

  /// The `Conv1D` weight `weight` of this scope as a linear weight `[out, in]` at ``precision``.
  ///
  /// An fp32 checkpoint stores it `[in, out]`: transposed here once. A `photon quantize` folder
  /// stores it transposed already (I8 `[out, in]` + `weight_scale` `[out, ceil(in/32)]`, or F16
  /// `[out, in]`), so the blocks run along the input axis as for every other linear weight; it goes
  /// to the backend as stored.
  ///
  /// - Throws: `.shapeMismatch` naming the tensor, its shape and `[out, in]` for a quantized weight
  ///   of another shape (one left `[in, out]`); the errors of
  ///   ``PhotonLoading/WeightScope/linearWeight(_:outFeatures:inFeatures:allowFloat:)`` (a scale of
  ///   the wrong shape names both tensors).
  func conv1DWeight(in inFeatures: Int, out outFeatures: Int) throws -> LinearWeight {
    if case .checkpoint(let weights) = source, weights.weights.quantization != nil {
      if let name = weights.resolve("weight"), let shape = weights.shape(of: "weight"),
        shape != [outFeatures, inFeatures]
      {
        throw PhotonError(
          .shapeMismatch,
          "\(weights.weights.url.path): quantized GPT-2 Conv1D weight '\(name)' has shape \(shape), expected [out, in] = [\(outFeatures), \(inFeatures)] (photon quantize stores Conv1D weights transposed from the fp32 checkpoint's [in, out])"
        )
      }
      return try Parameters(scope: weights, backend: backend, precision: precision).linearWeight(
        ["weight"], outFeatures: outFeatures, inFeatures: inFeatures)
    }
    let stored = try values("weight", shape: [inFeatures, outFeatures])  // [in, out]
    var transposed = [Float](repeating: 0, count: stored.count)
    for i in 0..<inFeatures {
      for o in 0..<outFeatures { transposed[o * inFeatures + i] = stored[i * outFeatures + o] }
    }
    return try linearWeight(transposed, outFeatures: outFeatures, inFeatures: inFeatures)
  }

  /// `nn.LayerNorm` `name` (`weight`, `bias`).
  func layerNorm(_ name: String, channels: Int, eps: Float) throws -> LayerNorm {
    let p = scope(name)
    return LayerNorm(
      weight: try p.tensor("weight", shape: [channels]),
      bias: try p.tensor("bias", shape: [channels]), eps: eps)
  }

  /// `count` draws from normal(0, std) (Box–Muller over SplitMix64).
  static func normal(count: Int, std: Float, seed: UInt64) -> [Float] {
    var random = SplitMix64(seed: seed)
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      var i = 0
      while i < count {
        // u1 in (0, 1], so log(u1) is finite.
        let u1 = Double((random.next() >> 11) + 1) / Double(1 << 53)
        let u2 = Double(random.next() >> 11) / Double(1 << 53)
        let radius = (-2 * Foundation.log(u1)).squareRoot() * Double(std)
        let angle = 2 * Double.pi * u2
        buffer[i] = Float(radius * Foundation.cos(angle))
        if i + 1 < count { buffer[i + 1] = Float(radius * Foundation.sin(angle)) }
        i += 2
      }
      initialized = count
    }
  }
}

extension LayerNorm {
  /// A LayerNorm from tensors already on the backend.
  init(weight: Tensor, bias: Tensor, eps: Float) {
    self.weight = weight
    self.bias = bias
    self.eps = eps
  }
}
