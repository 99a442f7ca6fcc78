import Foundation
import PhotonTestSupport
import Testing

/// `--precision` on GPT-2: `photon generate`, `photon bench --generate` and
/// `photon accuracy --generate`, on tiny-gpt2.
@Suite("photon generate / bench --generate / accuracy --generate with --precision")
struct GeneratePrecisionCLITests {
  static let model = Fixtures.url("tiny-models/tiny-gpt2").path

  /// Greedy text at fp16 equals fp32's on tiny-gpt2 (GPT2PrecisionTests: 30/30 ids agree); int8
  /// runs and ends with a newline.
  @Test func generateAtEachPrecision() throws {
    func generate(_ precision: String) throws -> String {
      let result = try CLITests.photon(
        [
          "generate", "--model", Self.model, "--backend", "gpu", "--precision", precision, "--max-new-tokens", "8",
          "Hello",
        ])
      #expect(result.status == 0, "\(result.stderr)")
      return result.stdout
    }
    let fp32 = try generate("fp32")
    #expect(try generate("fp16") == fp32)
    #expect(try generate("int8").hasSuffix("\n"))
  }

  @Test func benchGenerateReportsPrecisionAndWeightBytes() throws {
    func run(_ precision: String) throws -> [String: Any] {
      let result = try CLITests.photon(
        [
          "bench", "--generate", "--model", Self.model, "--backend", "gpu", "--prompt-len", "4", "--new-tokens", "3",
          "--iterations", "1", "--warmup", "0", "--json", "--precision", precision,
        ])
      #expect(result.status == 0, "\(result.stderr)")
      return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }
    let rows = try ["fp32", "fp16", "int8"].map(run)
    for (row, precision) in zip(rows, ["fp32", "fp16", "int8"]) {
      #expect(row["precision"] as? String == precision)
      #expect((row["decode_ms_per_token"] as? Double ?? 0) > 0)
    }
    let bytes = rows.map { $0["weight_bytes"] as? Int ?? 0 }
    #expect(bytes[0] > bytes[1] && bytes[1] > bytes[2] && bytes[2] > 0, "\(bytes)")
  }

  @Test func accuracyGenerateAtFp16AgreesWithFp32() throws {
    let result = try CLITests.photon(
      [
        "accuracy", "--generate", "--model", Self.model, "--backend", "cpu", "--precision", "fp16", "--prompts", "2",
        "--new-tokens", "6",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["precision"] as? String == "fp16" && object["prompts"] as? Int == 2)
    #expect(object["greedy_agreement"] as? Double == 1)
    #expect(object["tokens_before_divergence"] as? [Int] == [6, 6])
    #expect((object["max_logit_diff"] as? Double ?? 1) < 1e-3)
  }
}
