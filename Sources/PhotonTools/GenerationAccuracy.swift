import Foundation
import Photon
import PhotonCore
import PhotonLoading
import PhotonModels

/// The accuracy cost of a weight precision for text generation: a decoder-only model with its linear weights at
/// `precision` against the same model at fp32 on the same backend, so only the weight storage
/// differs. Over seeded random prompts it measures
/// - free-running greedy decoding: the share of new tokens whose id equals fp32's at the same
///   position, and how many tokens each prompt keeps before its first difference;
/// - teacher-forced steps (fed fp32's ids, so both see the same prefixes): the largest |Δ logit|
///   and the share of steps whose argmax equals fp32's.
///
/// ```swift
/// let report = try GenerationAccuracy.measure(
///   model: .random(name: "gpt2-small", seed: 0), precision: .int8, backend: .gpu)
/// ```
public enum GenerationAccuracy {
  /// What `photon accuracy --generate` prints (snake_case keys in JSON).
  public struct Report: Sendable, Codable, Equatable {
    public var model: String
    public var backend: String
    public var precision: String
    public var prompts: Int
    public var promptLen: Int
    public var newTokens: Int
    /// Free-running greedy ids equal to fp32's, over all prompts' new tokens (0…1).
    public var greedyAgreement: Double
    /// Per prompt, new tokens generated before the first id that differs from fp32's
    /// (`newTokens` when none differs).
    public var tokensBeforeDivergence: [Int]
    /// Teacher-forced steps whose argmax equals fp32's (0…1).
    public var teacherForcedTop1Agreement: Double
    /// Largest |logit − fp32 logit| over every teacher-forced step and vocabulary entry.
    public var maxLogitDiff: Double
    /// Largest |fp32 logit| seen, for scale.
    public var maxAbsLogit: Double

    enum CodingKeys: String, CodingKey {
      case model, backend, precision, prompts
      case promptLen = "prompt_len", newTokens = "new_tokens", greedyAgreement = "greedy_agreement"
      case tokensBeforeDivergence = "tokens_before_divergence"
      case teacherForcedTop1Agreement = "teacher_forced_top1_agreement"
      case maxLogitDiff = "max_logit_diff", maxAbsLogit = "max_abs_logit"
    }
  }

  /// Builds the model twice on one `backend` — fp32 and `precision` — and compares generations
  /// from `prompts` random prompts of `promptLength` ids (seeded by `seed`), `newTokens` each.
  public static func measure(
    model source: DecodeBenchmark.ModelSource, precision: Precision, backend kind: BackendKind = .preferred,
    prompts: Int = 4, promptLength: Int = 16, newTokens: Int = 32, seed: UInt64 = 0
  ) throws -> Report {
    guard prompts > 0, promptLength > 0, newTokens > 0 else {
      throw PhotonError(
        .invalidArgument,
        "prompts, prompt length and new tokens must be positive, got \(prompts), \(promptLength), \(newTokens)")
    }
    let backend = try kind.makeBackend()
    func load(_ precision: Precision) throws -> (any CausalLanguageModel, String) {
      switch source {
      case .folder(let url):
        return (
          try ModelRegistry.causalLanguageModel(folder: ModelFolder(url: url), backend: backend, precision: precision),
          url.lastPathComponent
        )
      case .random(let name, let seed):
        return (
          try ModelRegistry.randomCausalLanguageModel(named: name, seed: seed, backend: backend, precision: precision),
          "\(name) (random weights)"
        )
      }
    }
    let (reference, name) = try load(.fp32)
    let (measured, _) = try load(precision)
    guard promptLength + newTokens <= reference.contextLength else {
      throw PhotonError(
        .invalidArgument,
        "prompt \(promptLength) + \(newTokens) new tokens exceed the \(reference.contextLength) positions of \(name)"
      )
    }

    /// Greedy steps from `prompt`; with `forced`, those ids are fed instead of the model's own.
    func run(_ model: any CausalLanguageModel, _ prompt: [Int32], forced: [Int32]?) throws -> (
      ids: [Int32], logits: [[Float]]
    ) {
      let cache = try model.makeCache(batch: 1, capacity: prompt.count + newTokens, leftPadding: nil)
      var input = prompt
      var ids: [Int32] = []
      var logits: [[Float]] = []
      for step in 0..<newTokens {
        let row = try model.nextTokenLogits(ids: input, cache: cache)
        logits.append(try backend.floats(row))
        let next = try backend.ints(backend.argmax(row))[0]
        ids.append(next)
        input = [forced?[step] ?? next]
      }
      return (ids, logits)
    }

    var random = SplitMix64(seed: seed)
    let vocabulary = UInt64(reference.vocabularySize)
    var (agree, top1, maxDiff, maxLogit) = (0, 0, 0.0, 0.0)
    var before: [Int] = []
    for _ in 0..<prompts {
      let prompt = (0..<promptLength).map { _ in Int32(random.next() % vocabulary) }
      let exact = try run(reference, prompt, forced: nil)
      let free = try run(measured, prompt, forced: nil)
      let forced = try run(measured, prompt, forced: exact.ids)
      agree += zip(free.ids, exact.ids).filter { $0 == $1 }.count
      before.append(free.ids.indices.first { free.ids[$0] != exact.ids[$0] } ?? newTokens)
      top1 += zip(forced.ids, exact.ids).filter { $0 == $1 }.count
      for (a, b) in zip(forced.logits, exact.logits) {
        for (x, y) in zip(a, b) {
          maxDiff = max(maxDiff, Double(abs(x - y)))
          maxLogit = max(maxLogit, Double(abs(y)))
        }
      }
    }
    let total = Double(prompts * newTokens)
    return Report(
      model: name, backend: kind.rawValue, precision: precision.rawValue, prompts: prompts, promptLen: promptLength,
      newTokens: newTokens, greedyAgreement: Double(agree) / total, tokensBeforeDivergence: before,
      teacherForcedTop1Agreement: Double(top1) / total, maxLogitDiff: maxDiff, maxAbsLogit: maxLogit)
  }
}
