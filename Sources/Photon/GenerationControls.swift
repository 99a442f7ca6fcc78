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
