import ArgumentParser
import Foundation
import Photon
import PhotonTools

/// `photon quantize`: a model folder with its linear weights stored at int8 or fp16.
struct QuantizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "quantize",
    abstract: "Write a copy of a model folder with its linear weights stored as int8 (q8_0) or fp16.",
    discussion: """
      Linear weights X.weight become I8 [out, in] plus X.weight_scale F32 [out, ceil(in/32)] (int8), \
      or F16 (fp16); embeddings, norms and biases are copied as they are. GPT-2's Conv1D weights \
      ([in, out] in the checkpoint) are stored transposed, [out, in], like every other linear weight; \
      T5's relative_attention_bias and embedding tables stay float. config.json gains \
      "quantization_config": {"quant_method": "photon", "bits": 8, "group_size": 32} (bits 16 for fp16). \
      The folder loads directly (embed, classify, fill-mask, ner, generate) at that precision, with \
      the same results as --precision on the original. Prints one JSON object describing what was written.
      """)

  @Option(help: "Model folder to quantize (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, GPT-2, T5).")
  var model: String

  /// The precisions a folder can be written at (an unknown value is an error listing these two).
  enum Stored: String, ExpressibleByArgument, CaseIterable {
    case int8, fp16
    var precision: Precision { self == .int8 ? .int8 : .fp16 }
  }

  @Option(help: "int8 (q8_0: blocks of 32 inputs, one F32 scale each) or fp16.")
  var precision: Stored

  @Option(help: "Folder to write (created; must be empty unless --force).")
  var out: String

  @Flag(help: "Write into an existing non-empty --out folder, replacing files of the same names.")
  var force = false

  func run() throws {
    let report = try ModelQuantizer.quantize(
      model: URL(fileURLWithPath: model), precision: precision.precision, output: URL(fileURLWithPath: out),
      force: force)
    try printJSONLine(report)
  }
}
