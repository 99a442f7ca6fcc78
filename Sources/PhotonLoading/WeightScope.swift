import PhotonCore

/// A view of a checkpoint under one module path, looking tensors up by Hugging Face's own names.
///
/// ```swift
/// let attention = weights.scope("encoder.layer.0.attention")
/// let query = try attention.tensor("self.query.weight", shape: [384, 384])
/// ```
///
/// This is the one place that knows how checkpoints differ in naming. A task model saves the base
/// model under an attribute (`BertForSequenceClassification.bert`, so `bert.encoder…`), the base
/// model alone saves `encoder…`; a lookup tries the name as given, then with a model prefix removed,
/// then with one added. Checkpoints converted from TensorFlow call LayerNorm parameters
/// `gamma`/`beta`; Hugging Face renames them to `weight`/`bias` on load, and so do we here.
public struct WeightScope: Sendable {
  /// The attribute names HF's task classes give the base model.
  public static let knownModelPrefixes = ["bert", "roberta", "distilbert", "transformer", "model"]

  public let weights: ModelWeights
  /// The module path, without a trailing dot (`""` at the root).
  public let prefix: String
  private let modelPrefixes: [String]

  init(weights: ModelWeights, prefix: String, modelPrefixes: [String]?) {
    self.weights = weights
    self.prefix = Self.trimmed(prefix)
    self.modelPrefixes = modelPrefixes ?? Self.knownModelPrefixes
  }

  /// A scope one or more modules deeper: `scope("encoder").scope("layer.0")`.
  public func scope(_ path: String) -> WeightScope {
    WeightScope(weights: weights, prefix: fullName(path), modelPrefixes: modelPrefixes)
  }

  /// `prefix.name`.
  public func fullName(_ name: String) -> String {
    let name = Self.trimmed(name)
    if prefix.isEmpty { return name }
    if name.isEmpty { return prefix }
    return prefix + "." + name
  }

  /// The checkpoint's own name for `name` after prefix fallback, or `nil` if no variant exists.
  public func resolve(_ name: String) -> String? {
    candidates(fullName(name)).first { weights.contains($0) }
  }

  /// Whether `name` exists under any of its fallback spellings.
  public func contains(_ name: String) -> Bool { resolve(name) != nil }

  /// The tensor `name` under this scope as `Float`, checked against `shape`.
  ///
  /// - Parameters:
  ///   - name: HF's name relative to the scope, e.g. `"self.query.weight"`.
  ///   - shape: the shape the model expects, e.g. `[C, C]` for a square `nn.Linear` (`[out, in]`).
  /// - Throws: `.missingTensor` naming the tensor, the spellings tried and the 3 nearest names;
  ///   `.shapeMismatch` naming the tensor, expected and actual shape.
  public func tensor(_ name: String, shape: [Int]) throws -> LoadedTensor {
    let full = fullName(name)
    let tried = candidates(full)
    guard let found = tried.first(where: { weights.contains($0) }) else {
      let prefixes = modelPrefixes.map { "'\($0).'" }.joined(separator: ", ")
      throw weights.missing(
        full, tried: tried, note: "nor with model prefix \(prefixes) added or removed")
    }
    return try read(found, requested: full, shape: shape)
  }

  /// Like ``tensor(_:shape:)`` but `nil` when no spelling of `name` exists (for optional parts such
  /// as a pooler). A tensor that exists with the wrong shape still throws.
  public func optionalTensor(_ name: String, shape: [Int]) throws -> LoadedTensor? {
    guard let found = resolve(name) else { return nil }
    return try read(found, requested: fullName(name), shape: shape)
  }

  /// The shape the checkpoint records for `name` (after fallback), or `nil` if absent: for sizes
  /// the config does not give, such as the number of labels of a head.
  public func shape(of name: String) -> [Int]? {
    resolve(name).flatMap { weights.info($0)?.shape }
  }

  private func read(_ found: String, requested: String, shape: [Int]) throws -> LoadedTensor {
    if let actual = weights.info(found)?.shape, actual != shape {
      let spelled = found == requested ? "'\(found)'" : "'\(requested)' (stored as '\(found)')"
      throw PhotonError(
        .shapeMismatch,
        "\(weights.url.path): tensor \(spelled) has shape \(actual), expected \(shape)")
    }
    let tensor = try weights.floats(found)
    // At load, by name: a NaN weight would otherwise surface as garbage output, or an error at
    // output time that names nothing.
    if let index = tensor.values.firstNonFiniteIndex {
      throw PhotonError(
        .invalidFile,
        "\(weights.url.path): tensor '\(found)' holds \(tensor.values[index]) at element \(index) (shape \(tensor.shape)); weights must be finite"
      )
    }
    return tensor
  }

  /// Spellings to try for a full name, in order, without duplicates.
  func candidates(_ full: String) -> [String] {
    var names = [full]
    for model in modelPrefixes where full.hasPrefix(model + ".") {
      names.append(String(full.dropFirst(model.count + 1)))
    }
    for model in modelPrefixes where !full.hasPrefix(model + ".") {
      names.append(model + "." + full)
    }
    // TensorFlow-era LayerNorm names (HF's `_fix_key`): weight ← gamma, bias ← beta.
    for name in names {
      if name.hasSuffix("LayerNorm.weight") {
        names.append(String(name.dropLast("weight".count)) + "gamma")
      } else if name.hasSuffix("LayerNorm.bias") {
        names.append(String(name.dropLast("bias".count)) + "beta")
      }
    }
    var seen = Set<String>()
    return names.filter { seen.insert($0).inserted }
  }

  private static func trimmed(_ path: String) -> String {
    var path = Substring(path)
    while path.hasPrefix(".") { path = path.dropFirst() }
    while path.hasSuffix(".") { path = path.dropLast() }
    return String(path)
  }
}
