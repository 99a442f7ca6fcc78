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

/// Builds the encoder a model folder describes: `model_type` picks the graph.
public enum ModelRegistry {
  /// The base encoder (no task head) of a BERT, RoBERTa, XLM-RoBERTa, DistilBERT or T5 folder.
  /// `precision` applies to every linear weight (BERT family and T5 encoders).
  /// nil means the folder's own: fp32, or the precision `photon quantize` wrote it at (see
  /// ``PhotonLoading/ModelFolder/loadPrecision(_:)``, which also says why asking a quantized
  /// folder for another precision is an error).
  public static func encoder(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws
    -> any EncoderModel
  {
    let precision = try folder.loadPrecision(precision)
    let weights = try folder.openWeights()
    switch folder.config {
    case .bert(let config):
      return try BertModel(
        weights: weights.scope("", modelPrefix: "bert"), config: config, backend: backend, precision: precision)
    case .roberta(let config), .xlmRoberta(let config):
      return try BertModel(
        weights: weights.scope("", modelPrefix: "roberta"), config: config, backend: backend, roberta: true,
        precision: precision)
    case .distilBert(let config):
      return try DistilBertModel(
        weights: weights.scope("", modelPrefix: "distilbert"), config: config, backend: backend,
        precision: precision)
    case .t5(let config):
      // T5EncoderModel: the encoder stack of a T5 checkpoint (full or encoder-only).
      return try T5EncoderModel(weights: weights.scope(""), config: config, backend: backend, precision: precision)
    case .gpt2:
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): model_type '\(folder.config.modelType.rawValue)' is a generator; encoders supported: bert, roberta, xlm-roberta, distilbert, t5"
      )
    }
  }
}

extension ModelRegistry {
  /// `BertForSequenceClassification` from a BERT-type folder (heads of other architectures are
  /// not supported yet and are named in the error).
  public static func sequenceClassifier(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws
    -> BertForSequenceClassification
  {
    guard case .bert(let config) = folder.config else {
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): sequence classification is supported for model_type bert, not '\(folder.config.modelType.rawValue)'"
      )
    }
    let precision = try folder.loadPrecision(precision)
    return try BertForSequenceClassification(
      weights: folder.openWeights().scope("", modelPrefix: "bert"), config: config, backend: backend,
      precision: precision)
  }

  /// `BertForTokenClassification` from a BERT-type folder.
  public static func tokenClassifier(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws
    -> BertForTokenClassification
  {
    guard case .bert(let config) = folder.config else {
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): token classification is supported for model_type bert, not '\(folder.config.modelType.rawValue)'"
      )
    }
    let precision = try folder.loadPrecision(precision)
    return try BertForTokenClassification(
      weights: folder.openWeights().scope("", modelPrefix: "bert"), config: config, backend: backend,
      precision: precision)
  }

  /// `BertForMaskedLM` from a BERT-type folder.
  public static func maskedLanguageModel(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws
    -> BertForMaskedLM
  {
    guard case .bert(let config) = folder.config else {
      throw PhotonError(
        .unsupported,
        "\(folder.configURL.path): fill-mask is supported for model_type bert, not '\(folder.config.modelType.rawValue)'"
      )
    }
    let precision = try folder.loadPrecision(precision)
    return try BertForMaskedLM(
      weights: folder.openWeights().scope("", modelPrefix: "bert"), config: config, backend: backend,
      precision: precision)
  }
}
