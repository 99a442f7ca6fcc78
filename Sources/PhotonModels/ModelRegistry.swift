import Foundation
import PhotonCore
import PhotonLoading

/// An encoder's outputs, still on its backend.
public struct EncoderOutput: Sendable {
  /// `[B, T, C]`.
  public let lastHiddenState: Tensor
  /// `[B, T]` int32, as uploaded.
  public let attentionMask: Tensor
  /// `[B, C]` pooler output (BERT with a pooler), else nil.
  public let pooled: Tensor?
}

/// A Transformer encoder (BERT, RoBERTa, DistilBERT, MiniLM) ready to run on one backend.
public protocol EncoderModel: AnyObject, Sendable {
  var backend: any Backend { get }
  var hiddenSize: Int { get }
  var vocabularySize: Int { get }
  /// Longest input, in tokens, the model's position table covers.
  var maxSequenceLength: Int { get }
  /// Runs the encoder; `pooler: false` skips BERT's pooler when only hidden states are wanted.
  func forward(_ batch: EncoderBatch, pooler: Bool) throws -> EncoderOutput
}

extension EncoderModel {
  public func forward(_ batch: EncoderBatch) throws -> EncoderOutput { try forward(batch, pooler: true) }
}

/// Checks ids and length on the host before any device work: an out-of-range id would read
/// outside a table on a GPU instead of failing.
func validate(_ batch: EncoderBatch, maxLength: Int, vocabulary: Int, model: String) throws {
  guard batch.length <= maxLength else {
    throw PhotonError(
      .invalidInput,
      "input of \(batch.length) tokens is longer than the \(maxLength) positions \(model) supports; truncate it")
  }
  if let bad = batch.ids.firstIndex(where: { $0 < 0 || Int($0) >= vocabulary }) {
    throw PhotonError(
      .invalidInput,
      "token id \(batch.ids[bad]) at row \(bad / max(batch.length, 1)), position \(bad % max(batch.length, 1)) is outside the vocabulary [0, \(vocabulary))"
    )
  }
}

/// The architectures Photon reads, by `config.json`'s `model_type`, and the models it builds from
/// a folder. This is the one place that lists them: each entry is written beside its model
/// (`Bert/Bert+Registry.swift`, …); adding an architecture adds its line here (see
/// `Docs/AddingAModel.md`).
public enum ModelRegistry {
  /// Every architecture, in the order errors list them.
  public static let architectures: [Architecture] =
    BertModel.architectures + [
      DistilBertModel.architecture,
      GPT2LMHeadModel.architecture,
      T5ForConditionalGeneration.architecture,
    ]

  static let byModelType: [String: Architecture] = Dictionary(
    architectures.map { ($0.modelType, $0) }, uniquingKeysWith: { first, _ in first })

  /// `"bert, roberta, …"`, for error messages.
  public static var supportedModelTypes: String {
    architectures.map(\.modelType).joined(separator: ", ")
  }

  /// The architecture of `model_type` `modelType`, or `.unsupported` listing the supported ones;
  /// `file` names the config in the error.
  public static func architecture(modelType: String, file: String = "config.json") throws
    -> Architecture
  {
    guard let architecture = byModelType[modelType] else {
      throw PhotonError(
        .unsupported,
        "\(file): model_type '\(modelType)' is not supported; supported: \(supportedModelTypes)")
    }
    return architecture
  }

  /// The architecture of `folder` (by its `model_type`).
  public static func architecture(for folder: ModelFolder) throws -> Architecture {
    try architecture(modelType: folder.modelType, file: folder.configURL.path)
  }

  /// Config JSON text decoded and validated as the struct of its `model_type`'s architecture;
  /// `file` names it in errors.
  public static func config(decoding data: Data, file: String = "config.json") throws
    -> any ModelConfiguration
  {
    try architecture(modelType: ConfigFile.modelType(of: data, file: file), file: file).decode(data, file)
  }

  /// A `config.json` read, decoded and validated as the struct of its architecture.
  public static func config(contentsOf url: URL) throws -> any ModelConfiguration {
    try config(decoding: ConfigFile.read(url), file: url.path)
  }

  /// Names of the configs an architecture builds with seeded random weights (`gpt2-small`).
  public static var randomConfigNames: [String] { architectures.flatMap(\.randomConfigNames) }

  /// A language model of the named config (one of ``randomConfigNames``) with seeded random
  /// weights: for measuring speed at real sizes without a checkpoint. The same seed gives the
  /// same weights on every backend and machine.
  public static func randomCausalLanguageModel(
    named name: String, seed: UInt64, backend: any Backend, precision: Precision = .fp32
  ) throws -> any CausalLanguageModel {
    guard let architecture = architectures.first(where: { $0.randomConfigNames.contains(name) }),
      let build = architecture.randomCausalLanguageModel
    else {
      throw PhotonError(
        .invalidArgument,
        "unknown random config '\(name)'; known: \(randomConfigNames.joined(separator: ", "))")
    }
    return try build(name, seed, backend, precision)
  }

  /// The head `pick` of `folder`'s architecture, built on `backend`: `.unsupported` for an unknown
  /// `model_type` or a head the architecture lacks (naming the heads it has).
  static func build<Model>(
    _ head: ModelHead, folder: ModelFolder, backend: any Backend, precision: Precision?,
    _ pick: (Architecture) -> (@Sendable (ModelLoad) throws -> Model)?
  ) throws -> Model {
    let architecture = try architecture(for: folder)
    let build = try architecture.require(pick(architecture), head, folder: folder)
    return try build(ModelLoad(folder: folder, backend: backend, precision: folder.loadPrecision(precision)))
  }

  // `precision` below: how every linear weight is stored. nil means the folder's own: fp32, or
  // the precision `photon quantize` wrote it at (see ``PhotonLoading/ModelFolder/loadPrecision(_:)``,
  // which also says why asking a quantized folder for another precision is an error).

  /// The base encoder (no task head) of an encoder folder (or the encoder stack of an
  /// encoder–decoder).
  public static func encoder(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws
    -> any EncoderModel
  {
    try build(.encoder, folder: folder, backend: backend, precision: precision) { $0.encoder }
  }

  /// The sequence-classification head (`…ForSequenceClassification`) of `folder`.
  public static func sequenceClassifier(folder: ModelFolder, backend: any Backend, precision: Precision? = nil)
    throws -> any SequenceClassifierModel
  {
    try build(.sequenceClassification, folder: folder, backend: backend, precision: precision) {
      $0.sequenceClassifier
    }
  }

  /// The token-classification head (`…ForTokenClassification`) of `folder`.
  public static func tokenClassifier(folder: ModelFolder, backend: any Backend, precision: Precision? = nil)
    throws -> any TokenClassifierModel
  {
    try build(.tokenClassification, folder: folder, backend: backend, precision: precision) {
      $0.tokenClassifier
    }
  }

  /// The masked-LM head (`…ForMaskedLM`) of `folder`.
  public static func maskedLanguageModel(folder: ModelFolder, backend: any Backend, precision: Precision? = nil)
    throws -> any MaskedLanguageModel
  {
    try build(.maskedLanguageModel, folder: folder, backend: backend, precision: precision) {
      $0.maskedLanguageModel
    }
  }

  /// The decoder-only language model of `folder`, for text generation.
  public static func causalLanguageModel(folder: ModelFolder, backend: any Backend, precision: Precision? = nil)
    throws -> any CausalLanguageModel
  {
    try build(.causalLanguageModel, folder: folder, backend: backend, precision: precision) {
      $0.causalLanguageModel
    }
  }

  /// The encoder–decoder of `folder`, for text-to-text generation.
  public static func text2textModel(folder: ModelFolder, backend: any Backend, precision: Precision? = nil)
    throws -> any Text2TextModel
  {
    try build(.text2text, folder: folder, backend: backend, precision: precision) { $0.text2text }
  }
}
