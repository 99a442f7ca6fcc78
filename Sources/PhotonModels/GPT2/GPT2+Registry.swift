import PhotonCore
import PhotonLoading

// GPT-2's registry entry: a decoder-only language model (no encoder head).
extension GPT2LMHeadModel {
  static let architecture = Architecture(
    modelType: "gpt2", name: "GPT-2", config: GPT2Config.self,
    maxPositions: \.nPositions,
    flops: { c, batch, sequence in
      Architecture.transformerFlops(
        hidden: c.nEmbd, intermediate: c.innerSize, layers: c.nLayer, batch: batch,
        sequence: sequence)
    },
    // The Conv1D weights (`transformer.h.0.attn.c_attn.weight`: the module is the name's
    // second-to-last part), stored `[in, out]`. `wte`, `wpe` and an `lm_head.weight` stay float.
    linearWeight: { info, _ in
      guard LinearWeightLayout.isRank2FloatWeight(info) else { return nil }
      let parts = info.name.split(separator: ".")
      let module = parts.count >= 2 ? parts[parts.count - 2] : ""
      return ["c_attn", "c_proj", "c_fc"].contains(module) ? .conv1D : nil
    },
    causalLanguageModel: { config, load in
      try GPT2LMHeadModel(
        weights: load.weights(modelPrefix: "transformer"), config: config, backend: load.backend,
        precision: load.precision)
    },
    // HF's `GPT2Config()` (small; `gpt2` too), gpt2-medium (24 × 1024, 16 heads), DistilGPT-2 (6
    // layers of small).
    randomConfigs: [
      ("gpt2-small", "{}"), ("gpt2-medium", #"{"n_layer": 24, "n_embd": 1024, "n_head": 16}"#),
      ("distilgpt2", #"{"n_layer": 6}"#), ("gpt2", "{}"),
    ],
    randomCausalLanguageModel: { config, seed, backend, precision in
      try GPT2LMHeadModel(randomWeights: config, seed: seed, backend: backend, precision: precision)
    })

  /// `GPT2LMHeadModel` from a GPT-2 folder (`.unsupported` for another `model_type`), its linear
  /// weights (blocks and LM head) stored at `precision`: nil means the folder's own (fp32, or
  /// what `photon quantize` wrote it at; see ``PhotonLoading/ModelFolder/loadPrecision(_:)``).
  public convenience init(folder: ModelFolder, backend: any Backend, precision: Precision? = nil) throws {
    try self.init(
      weights: folder.openWeights().scope("", modelPrefix: "transformer"),
      config: Self.architecture.config(GPT2Config.self, of: folder), backend: backend,
      precision: folder.loadPrecision(precision))
  }
}

extension GPT2LMHeadModel: CausalLanguageModel {
  public var contextLength: Int { config.nPositions }
  public var vocabularySize: Int { config.vocabSize }
  public var hiddenSize: Int { config.nEmbd }
  public var bosTokenID: Int? { config.bosTokenID }
  public var eosTokenID: Int? { config.eosTokenID }
  public var padTokenID: Int? { config.padTokenID }
}
