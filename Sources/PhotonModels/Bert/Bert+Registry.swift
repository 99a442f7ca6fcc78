import PhotonCore
import PhotonLoading

// BERT's registry entries: `bert` (MiniLM too), `roberta` and `xlm-roberta` share the graph and
// the config struct; RoBERTa's differ in the weight prefix and the position rule
// (``BertConfig/maxSequenceLength``). Task heads exist for `bert`.
extension BertModel {
  static let architectures: [Architecture] = [
    entry(.bert, name: "BERT", modelPrefix: "bert", heads: true),
    entry(.roberta, name: "RoBERTa", modelPrefix: "roberta", heads: false),
    entry(.xlmRoberta, name: "XLM-RoBERTa", modelPrefix: "roberta", heads: false),
  ]

  static func entry(_ type: BertConfig.ModelType, name: String, modelPrefix: String, heads: Bool)
    -> Architecture
  {
    let encoder: @Sendable (BertConfig, ModelLoad) throws -> any EncoderModel = { config, load in
      try BertModel(
        weights: load.weights(modelPrefix: modelPrefix), config: config, backend: load.backend,
        roberta: config.positionsAfterPadding, precision: load.precision)
    }
    let sequenceClassifier: @Sendable (BertConfig, ModelLoad) throws -> any SequenceClassifierModel = {
      config, load in
      try BertForSequenceClassification(
        weights: load.weights(modelPrefix: modelPrefix), config: config, backend: load.backend,
        precision: load.precision)
    }
    let tokenClassifier: @Sendable (BertConfig, ModelLoad) throws -> any TokenClassifierModel = {
      config, load in
      try BertForTokenClassification(
        weights: load.weights(modelPrefix: modelPrefix), config: config, backend: load.backend,
        precision: load.precision)
    }
    let maskedLanguageModel: @Sendable (BertConfig, ModelLoad) throws -> any MaskedLanguageModel = {
      config, load in
      try BertForMaskedLM(
        weights: load.weights(modelPrefix: modelPrefix), config: config, backend: load.backend,
        precision: load.precision)
    }
    let flops: @Sendable (BertConfig, Int, Int) -> Double = { c, batch, sequence in
      Architecture.transformerFlops(
        hidden: c.hiddenSize, intermediate: c.intermediateSize, layers: c.numHiddenLayers,
        batch: batch, sequence: sequence)
    }
    return Architecture(
      modelType: type.rawValue, name: name, config: BertConfig.self,
      maxPositions: { $0.maxSequenceLength }, flops: flops,
      // The nn.Linear weights (attention, FFN, pooler, heads): all but the embedding tables.
      linearWeight: { info, _ in .linear(info, outside: ["embeddings"]) },
      encoder: encoder,
      sequenceClassifier: heads ? sequenceClassifier : nil,
      tokenClassifier: heads ? tokenClassifier : nil,
      maskedLanguageModel: heads ? maskedLanguageModel : nil)
  }
}

extension BertForSequenceClassification: SequenceClassifierModel {
  public var backend: any Backend { bert.backend }
  public var problemType: ProblemType? { bert.config.problemType }
}

extension BertForTokenClassification: TokenClassifierModel {
  public var backend: any Backend { bert.backend }
}

extension BertForMaskedLM: MaskedLanguageModel {
  public var backend: any Backend { bert.backend }
  public var vocabularySize: Int { bert.vocabularySize }
}
