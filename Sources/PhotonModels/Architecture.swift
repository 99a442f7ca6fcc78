import Foundation
import PhotonCore
import PhotonLoading

/// A model Photon can build from a folder: the base model or a task head on it.
public enum ModelHead: String, Sendable, CaseIterable {
  /// The base encoder: hidden states (``EncoderModel``).
  case encoder
  /// `…ForSequenceClassification` (``SequenceClassifierModel``).
  case sequenceClassification = "sequence classification"
  /// `…ForTokenClassification` (``TokenClassifierModel``).
  case tokenClassification = "token classification"
  /// `…ForMaskedLM` (``MaskedLanguageModel``).
  case maskedLanguageModel = "fill-mask"
  /// A decoder-only language model for text generation (`…LMHeadModel`).
  case causalLanguageModel = "text generation"
  /// An encoder–decoder for text-to-text generation (`…ForConditionalGeneration`).
  case text2text = "text-to-text generation"
}

/// What a head's initialiser is given: the folder, the backend its weights go to and how its
/// linear weights are stored (already resolved against the folder, see
/// ``PhotonLoading/ModelFolder/loadPrecision(_:)``).
public struct ModelLoad: Sendable {
  public let folder: ModelFolder
  public let backend: any Backend
  public let precision: Precision

  public init(folder: ModelFolder, backend: any Backend, precision: Precision) {
    self.folder = folder
    self.backend = backend
    self.precision = precision
  }

  /// The checkpoint's weights from its root; `modelPrefix` (`"bert"`) is the attribute a task
  /// model keeps its base model under, so `bert.encoder…` and `encoder…` both resolve.
  public func weights(modelPrefix: String? = nil) throws -> WeightScope {
    try folder.openWeights().scope("", modelPrefix: modelPrefix)
  }
}

/// How a linear weight lies in a checkpoint, for `photon quantize`.
public enum LinearWeightLayout: Sendable, Equatable {
  /// `nn.Linear`: `[out, in]`, written as it is.
  case linear
  /// GPT-2's `Conv1D`: `[in, out]`, written transposed to `[out, in]`.
  case conv1D

  /// A rank-2 float `*.weight` tensor: what every architecture's rule starts from.
  public static func isRank2FloatWeight(_ info: SafeTensorInfo) -> Bool {
    info.shape.count == 2 && info.dtype.isReadableAsFloat && info.name.hasSuffix(".weight")
  }

  /// `.linear` for a rank-2 float `*.weight` tensor none of whose name parts is in `lookups`
  /// (embedding tables and other tables read by index, which stay float), else nil.
  public static func linear(_ info: SafeTensorInfo, outside lookups: Set<Substring>) -> Self? {
    isRank2FloatWeight(info) && !info.name.split(separator: ".").contains(where: lookups.contains)
      ? .linear : nil
  }
}

/// One architecture (one `model_type`): how its config decodes, the models it builds, and the
/// facts tools need about it. ``ModelRegistry`` lists them; each is written beside its model
/// file (`Bert/Bert+Registry.swift`, …) through the generic initialiser, so the compiler checks
/// that every closure of an entry takes that architecture's own config struct.
public struct Architecture: Sendable {
  /// `config.json`'s `model_type`.
  public let modelType: String
  /// A name for messages (`"RoBERTa"`).
  public let name: String
  /// The heads it can build, in ``ModelHead`` order.
  public let heads: [ModelHead]

  let decode: @Sendable (_ data: Data, _ file: String) throws -> any ModelConfiguration
  let positions: @Sendable (ModelFolder) throws -> Int
  let flopsPerPass: @Sendable (ModelFolder, Int, Int) throws -> Double
  let linearWeights: @Sendable (ModelFolder) throws -> @Sendable (SafeTensorInfo) -> LinearWeightLayout?
  let encoder: (@Sendable (ModelLoad) throws -> any EncoderModel)?
  let sequenceClassifier: (@Sendable (ModelLoad) throws -> any SequenceClassifierModel)?
  let tokenClassifier: (@Sendable (ModelLoad) throws -> any TokenClassifierModel)?
  let maskedLanguageModel: (@Sendable (ModelLoad) throws -> any MaskedLanguageModel)?
  let causalLanguageModel: (@Sendable (ModelLoad) throws -> any CausalLanguageModel)?
  let text2text: (@Sendable (ModelLoad) throws -> any Text2TextModel)?
  /// Named configs it builds with seeded random weights (`gpt2-small`), for benchmarks without a
  /// checkpoint; see ``ModelRegistry/randomCausalLanguageModel(named:seed:backend:precision:)``.
  public let randomConfigNames: [String]
  let randomCausalLanguageModel:
    (@Sendable (_ name: String, _ seed: UInt64, any Backend, Precision) throws -> any CausalLanguageModel)?

  /// - Parameters:
  ///   - modelType: `config.json`'s `model_type`.
  ///   - name: for messages.
  ///   - config: the struct `config.json` decodes into.
  ///   - maxPositions: the longest input, in tokens, the model's positions cover (`Int.max` for
  ///     relative positions).
  ///   - flops: floating-point operations of one forward pass over `[batch, sequence]` tokens, as
  ///     `photon bench` reports them (matrix products only; nil: no formula).
  ///   - linearWeight: whether a checkpoint tensor is a linear weight `photon quantize` converts,
  ///     and how it lies; nil for every other tensor.
  ///   - encoder, sequenceClassifier, …: the initialiser of each head it has (nil: not supported).
  ///   - randomConfigs: named configs (name, `config.json` text) that
  ///     `randomCausalLanguageModel` builds with seeded random weights.
  public init<Config: ModelConfiguration>(
    modelType: String, name: String, config _: Config.Type,
    maxPositions: @escaping @Sendable (Config) -> Int,
    flops: (@Sendable (Config, _ batch: Int, _ sequence: Int) -> Double)?,
    linearWeight: @escaping @Sendable (SafeTensorInfo, Config) -> LinearWeightLayout?,
    encoder: (@Sendable (Config, ModelLoad) throws -> any EncoderModel)? = nil,
    sequenceClassifier: (@Sendable (Config, ModelLoad) throws -> any SequenceClassifierModel)? = nil,
    tokenClassifier: (@Sendable (Config, ModelLoad) throws -> any TokenClassifierModel)? = nil,
    maskedLanguageModel: (@Sendable (Config, ModelLoad) throws -> any MaskedLanguageModel)? = nil,
    causalLanguageModel: (@Sendable (Config, ModelLoad) throws -> any CausalLanguageModel)? = nil,
    text2text: (@Sendable (Config, ModelLoad) throws -> any Text2TextModel)? = nil,
    randomConfigs: [(name: String, json: String)] = [],
    randomCausalLanguageModel: (
      @Sendable (Config, _ seed: UInt64, any Backend, Precision) throws -> any CausalLanguageModel
    )? = nil
  ) {
    self.modelType = modelType
    self.name = name
    self.decode = { data, file -> any ModelConfiguration in try Config.decode(data, file: file) }
    self.positions = { folder in try maxPositions(folder.config(as: Config.self)) }
    self.flopsPerPass = { folder, batch, sequence in
      guard let flops else { return 0 }
      return try flops(folder.config(as: Config.self), batch, sequence)
    }
    self.linearWeights = { folder in
      let config = try folder.config(as: Config.self)
      return { info in linearWeight(info, config) }
    }
    self.encoder = Self.bind(encoder)
    self.sequenceClassifier = Self.bind(sequenceClassifier)
    self.tokenClassifier = Self.bind(tokenClassifier)
    self.maskedLanguageModel = Self.bind(maskedLanguageModel)
    self.causalLanguageModel = Self.bind(causalLanguageModel)
    self.text2text = Self.bind(text2text)
    self.randomConfigNames = randomCausalLanguageModel == nil ? [] : randomConfigs.map(\.name)
    self.randomCausalLanguageModel = Self.bindRandom(randomCausalLanguageModel, configs: randomConfigs)
    let built: [ModelHead: Bool] = [
      .encoder: encoder != nil, .sequenceClassification: sequenceClassifier != nil,
      .tokenClassification: tokenClassifier != nil, .maskedLanguageModel: maskedLanguageModel != nil,
      .causalLanguageModel: causalLanguageModel != nil, .text2text: text2text != nil,
    ]
    self.heads = ModelHead.allCases.filter { built[$0] == true }
  }

  /// A head's initialiser over the folder's config.
  private static func bind<Config: ModelConfiguration, Model>(
    _ build: (@Sendable (Config, ModelLoad) throws -> Model)?
  ) -> (@Sendable (ModelLoad) throws -> Model)? {
    guard let build else { return nil }
    return { load in try build(load.folder.config(as: Config.self), load) }
  }

  /// A random-weights initialiser over the named configs' JSON.
  private static func bindRandom<Config: ModelConfiguration>(
    _ build: (@Sendable (Config, UInt64, any Backend, Precision) throws -> any CausalLanguageModel)?,
    configs: [(name: String, json: String)]
  ) -> (@Sendable (String, UInt64, any Backend, Precision) throws -> any CausalLanguageModel)? {
    guard let build else { return nil }
    let configs = Dictionary(configs.map { ($0.name, $0.json) }, uniquingKeysWith: { first, _ in first })
    return { name, seed, backend, precision in
      guard let json = configs[name] else {
        throw PhotonError(.invalidArgument, "unknown random config '\(name)'")
      }
      return try build(Config.decode(Data(json.utf8), file: name), seed, backend, precision)
    }
  }

  /// `config.json` of `folder`, decoded and validated as this architecture's struct.
  public func config(of folder: ModelFolder) throws -> any ModelConfiguration {
    try decode(folder.configData, folder.configURL.path)
  }

  /// The longest input, in tokens, the model of `folder` takes (`Int.max`: no position table).
  public func maxPositions(of folder: ModelFolder) throws -> Int { try positions(folder) }

  /// Floating-point operations of one forward pass over `batch × sequence` tokens (0 when the
  /// architecture gives no formula).
  public func flops(of folder: ModelFolder, batch: Int, sequence: Int) throws -> Double {
    try flopsPerPass(folder, batch, sequence)
  }

  /// The rule that picks `folder`'s linear weights for `photon quantize`: a tensor's layout if it
  /// is one, nil otherwise.
  public func linearWeightRule(of folder: ModelFolder) throws -> @Sendable (SafeTensorInfo) -> LinearWeightLayout? {
    try linearWeights(folder)
  }

  /// `folder`'s config as this architecture's `Config`, for an architecture's typed
  /// initialisers (`GPT2LMHeadModel(folder:…)`): `.unsupported` if the folder is another
  /// `model_type`.
  package func config<Config: ModelConfiguration>(_: Config.Type, of folder: ModelFolder) throws -> Config {
    guard folder.modelType == modelType else {
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): model_type '\(folder.modelType)' is not \(name) (model_type '\(modelType)')")
    }
    return try folder.config(as: Config.self)
  }

  /// The head `build` if this architecture has it, else `.unsupported` naming the heads it has.
  func require<Model>(_ build: (@Sendable (ModelLoad) throws -> Model)?, _ head: ModelHead, folder: ModelFolder)
    throws -> @Sendable (ModelLoad) throws -> Model
  {
    guard let build else {
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): \(head.rawValue) is not supported for model_type '\(modelType)' (\(name)); it has: \(heads.map(\.rawValue).joined(separator: ", "))"
      )
    }
    return build
  }
}

extension Architecture {
  /// The matrix products of one pass of a post-norm Transformer encoder (or decoder without the
  /// LM head) of `layers` layers of width C and feed-forward width I over `batch × sequence`
  /// tokens: Q, K, V, output (4·C²) and the FFN (2·C·I) per token, and Q·Kᵀ and P·V (2·T·C each)
  /// per query. Two FLOPs per multiply-add.
  public static func transformerFlops(
    hidden c: Int, intermediate i: Int, layers: Int, batch: Int, sequence: Int
  ) -> Double {
    let tokens = Double(batch * sequence)
    let dense = 2 * tokens * Double(4 * c * c + 2 * c * i)
    let attention = 4 * Double(batch) * Double(sequence * sequence) * Double(c)
    return Double(layers) * (dense + attention)
  }
}
