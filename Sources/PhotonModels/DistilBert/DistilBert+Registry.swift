import PhotonCore
import PhotonLoading

// DistilBERT's registry entry: the base encoder (its weights under `distilbert.` in task
// checkpoints).
extension DistilBertModel {
  static let architecture = Architecture(
    modelType: "distilbert", name: "DistilBERT", config: DistilBertConfig.self,
    maxPositions: \.maxPositionEmbeddings,
    flops: { c, batch, sequence in
      Architecture.transformerFlops(
        hidden: c.dim, intermediate: c.hiddenDim, layers: c.nLayers, batch: batch,
        sequence: sequence)
    },
    // q_lin, …, ffn.lin1, ffn.lin2: the nn.Linear weights, all but the embedding tables.
    linearWeight: { info, _ in .linear(info, outside: ["embeddings"]) },
    encoder: { config, load in
      try DistilBertModel(
        weights: load.weights(modelPrefix: "distilbert"), config: config, backend: load.backend,
        precision: load.precision)
    })
}
