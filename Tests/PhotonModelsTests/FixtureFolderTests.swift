import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import Testing

@Suite struct FixtureFolderTests {
  /// Checks every tensor a model of the folder's architecture reads, by HF name, against the
  /// shapes its config implies.
  @Test(arguments: Fixtures.tinyModels)
  func everyTinyModelFolderLoadsWithConfigShapes(model: String) throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/\(model)"))
    #expect(folder.weightsURL.lastPathComponent == "model.safetensors")
    #expect(folder.tokenizerURL?.lastPathComponent == "tokenizer.json")
    #expect(folder.tokenizerConfigURL?.lastPathComponent == "tokenizer_config.json")
    #expect(folder.sentenceTransformers == nil)
    let root = try folder.openWeights().scope()

    switch try ModelRegistry.architecture(for: folder).config(of: folder) {
    case let c as BertConfig:
      let (C, I) = (c.hiddenSize, c.intermediateSize)
      let e = root.scope("embeddings")
      #expect(
        try e.tensor("word_embeddings.weight", shape: [c.vocabSize, C]).values.count == c.vocabSize
          * C)
      _ = try e.tensor("position_embeddings.weight", shape: [c.maxPositionEmbeddings, C])
      _ = try e.tensor("token_type_embeddings.weight", shape: [c.typeVocabSize, C])
      _ = try e.tensor("LayerNorm.weight", shape: [C])
      _ = try e.tensor("LayerNorm.bias", shape: [C])
      for i in 0..<c.numHiddenLayers {
        let layer = root.scope("encoder.layer.\(i)")
        for part in ["query", "key", "value"] {
          _ = try layer.tensor("attention.self.\(part).weight", shape: [C, C])
          _ = try layer.tensor("attention.self.\(part).bias", shape: [C])
        }
        _ = try layer.tensor("attention.output.dense.weight", shape: [C, C])
        _ = try layer.tensor("attention.output.LayerNorm.weight", shape: [C])
        _ = try layer.tensor("intermediate.dense.weight", shape: [I, C])
        _ = try layer.tensor("output.dense.weight", shape: [C, I])
        _ = try layer.tensor("output.LayerNorm.bias", shape: [C])
      }
      #expect(!root.contains("encoder.layer.\(c.numHiddenLayers).output.dense.weight"))
      if !c.id2label.isEmpty {
        _ = try root.tensor("classifier.weight", shape: [c.id2label.count, C])
        _ = try root.tensor("classifier.bias", shape: [c.id2label.count])
      }
      if c.architectures == ["BertForMaskedLM"] {
        _ = try root.tensor("cls.predictions.transform.dense.weight", shape: [C, C])
        _ = try root.tensor("cls.predictions.bias", shape: [c.vocabSize])
      }
    case let c as DistilBertConfig:
      let C = c.dim
      _ = try root.tensor("embeddings.word_embeddings.weight", shape: [c.vocabSize, C])
      _ = try root.tensor(
        "embeddings.position_embeddings.weight", shape: [c.maxPositionEmbeddings, C])
      for i in 0..<c.nLayers {
        let layer = root.scope("transformer.layer.\(i)")
        for part in ["q_lin", "k_lin", "v_lin", "out_lin"] {
          _ = try layer.tensor("attention.\(part).weight", shape: [C, C])
        }
        _ = try layer.tensor("sa_layer_norm.weight", shape: [C])
        _ = try layer.tensor("ffn.lin1.weight", shape: [c.hiddenDim, C])
        _ = try layer.tensor("ffn.lin2.weight", shape: [C, c.hiddenDim])
        _ = try layer.tensor("output_layer_norm.bias", shape: [C])
      }
    case let c as GPT2Config:
      let C = c.nEmbd
      // GPT2Model's own names; the checkpoint (GPT2LMHeadModel) adds `transformer.`.
      _ = try root.tensor("wte.weight", shape: [c.vocabSize, C])
      _ = try root.tensor("wpe.weight", shape: [c.nPositions, C])
      _ = try root.tensor("ln_f.weight", shape: [C])
      for i in 0..<c.nLayer {
        let block = root.scope("h.\(i)")
        // Conv1D stores [in, out].
        _ = try block.tensor("attn.c_attn.weight", shape: [C, 3 * C])
        _ = try block.tensor("attn.c_proj.weight", shape: [C, C])
        _ = try block.tensor("mlp.c_fc.weight", shape: [C, c.innerSize])
        _ = try block.tensor("mlp.c_proj.weight", shape: [c.innerSize, C])
        _ = try block.tensor("ln_1.weight", shape: [C])
      }
    case let c as T5Config:
      let inner = c.numHeads * c.dKV
      _ = try root.tensor("shared.weight", shape: [c.vocabSize, c.dModel])
      for (stack, layers) in [("encoder", c.numLayers), ("decoder", c.numDecoderLayers)] {
        _ = try root.tensor("\(stack).final_layer_norm.weight", shape: [c.dModel])
        _ = try root.tensor(
          "\(stack).block.0.layer.0.SelfAttention.relative_attention_bias.weight",
          shape: [c.relativeAttentionNumBuckets, c.numHeads])
        for i in 0..<layers {
          let attention = root.scope("\(stack).block.\(i).layer.0.SelfAttention")
          _ = try attention.tensor("q.weight", shape: [inner, c.dModel])
          _ = try attention.tensor("o.weight", shape: [c.dModel, inner])
          let ffn = root.scope(
            "\(stack).block.\(i).layer.\(stack == "encoder" ? 1 : 2).DenseReluDense")
          _ = try ffn.tensor("wi.weight", shape: [c.dFF, c.dModel])
          _ = try ffn.tensor("wo.weight", shape: [c.dModel, c.dFF])
        }
      }
      _ = try root.tensor(
        "decoder.block.0.layer.1.EncDecAttention.k.weight", shape: [inner, c.dModel])
    case let other:
      Issue.record("\(model): no shape checks for \(type(of: other))")
    }
  }
}
