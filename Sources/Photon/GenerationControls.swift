import Foundation
import PhotonCore
import PhotonModels

/// The logits processors and stopping rules both generators (``TextGenerator``,
/// ``Text2TextGenerator``) apply on the host, written once.
enum GenerationControls {
  /// HF's `RepetitionPenaltyLogitsProcessor`: each seen token's logit divided by `penalty` when
  /// positive, multiplied when negative. `seen` is the sequence so far: prompt and new tokens for
  /// a decoder-only model, the decoder ids (start token included) for an encoder–decoder.
  static func applyRepetitionPenalty(_ penalty: Float, to logits: inout [Float], seen: Set<Int32>) {
    for id in seen where id >= 0 && Int(id) < logits.count {
      let value = logits[Int(id)]
      logits[Int(id)] = value < 0 ? value * penalty : value / penalty
    }
  }

  /// Whether `text` contains one of the stop strings (HF's `stop_strings`).
  static func containsStop(_ stops: [String], _ text: String) -> Bool {
    !stops.isEmpty && stops.contains { text.contains($0) }
  }

  /// The first index of the largest value (as `torch.argmax` and the device's argmax).
  static func argmax(_ values: [Float]) -> Int32 {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return Int32(best)
  }
}

/// Temperature, top-k and top-p sampling on the host, in HF's order (temperature, then top-k,
/// then top-p), from a seeded SplitMix64 generator so a seed reproduces the same tokens.
struct Sampler {
  let temperature: Double
  let topK: Int
  let topP: Double
  var random: SplitMix64

  init(plan: DecodingPlan, seed: UInt64?) {
    temperature = Double(plan.temperature)
    topK = plan.topK
    topP = Double(plan.topP)
    var system = SystemRandomNumberGenerator()
    random = SplitMix64(seed: seed ?? system.next())
  }

  /// One id drawn from `softmax(logits / T)` restricted to the top-k / top-p candidates.
  mutating func sample(_ logits: [Float]) -> Int32 {
    var order = logits.indices.sorted {
      logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1)
    }
    if topK > 0 && topK < order.count { order.removeLast(order.count - topK) }
    let maximum = Double(logits[order[0]])
    var weights = order.map { Foundation.exp((Double(logits[$0]) - maximum) / temperature) }
    let total = weights.reduce(0, +)
    if topP < 1 {
      // Keep tokens until their cumulative probability reaches top-p (at least one).
      var cumulative = 0.0
      var keep = 0
      while keep < weights.count {
        cumulative += weights[keep] / total
        keep += 1
        if cumulative >= topP { break }
      }
      order.removeLast(order.count - keep)
      weights.removeLast(weights.count - keep)
    }
    let draw = Double(random.next() >> 11) / Double(1 << 53) * weights.reduce(0, +)
    var cumulative = 0.0
    for (index, weight) in weights.enumerated() {
      cumulative += weight
      if draw < cumulative { return Int32(order[index]) }
    }
    return Int32(order[order.count - 1])
  }
}
