import Foundation
import PhotonTestSupport
import Testing

/// `--precision` on the commands and `photon accuracy`.
@Suite("photon --precision and accuracy")
struct PrecisionCLITests {
  @Test func unknownPrecisionListsTheValidOnes() throws {
    for command in ["embed", "classify", "accuracy", "bench"] {
      let result = try CLITests.photon([command, "--precision", "int4"], input: Data("x\n".utf8))
      #expect(result.status != 0, "\(command)")
      for valid in ["int4", "fp32", "fp16", "int8"] {
        #expect(result.stderr.contains(valid), "\(command): \(result.stderr)")
      }
    }
  }

  @Test func embedAtInt8IsCloseToFp32() throws {
    let input = Data("A man is eating food.\nA cheetah chases its prey.\n".utf8)
    func embed(_ precision: String) throws -> [[Double]] {
      let result = try CLITests.photon(["embed", "--backend", "gpu", "--precision", precision], input: input)
      #expect(result.status == 0, "\(result.stderr)")
      return try CLITests.lines(result.stdout).map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Double])
      }
    }
    let (fp32, int8) = (try embed("fp32"), try embed("int8"))
    #expect(fp32.count == 2 && int8.count == 2)
    for (a, b) in zip(fp32, int8) {
      let dot = zip(a, b).map(*).reduce(0, +)
      #expect(dot > 0.999 && a != b)  // normalised: the dot product is the cosine
    }
  }

  @Test func accuracyPrintsOneJSONObject() throws {
    let result = try CLITests.photon(
      ["accuracy", "--precision", "fp16", "--backend", "cpu", "--jsonl"],
      input: Data("\"A man is eating food.\"\n\"Two\\nlines\"\n".utf8))
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(
      object["texts"] as? Int == 2 && object["precision"] as? String == "fp16" && object["backend"] as? String == "cpu")
    #expect((object["min_cosine"] as? Double ?? 0) >= 0.99999)
    #expect(object["mean_cosine"] is Double && object["max_abs_diff"] is Double)
  }

  @Test func benchReportsSmallerWeightBytes() throws {
    func weightBytes(_ precision: String) throws -> Int {
      let result = try CLITests.photon(
        [
          "bench", "--model", Fixtures.url("tiny-models/tiny-bert").path, "--backend", "gpu", "--seq", "8",
          "--iterations", "1", "--warmup", "0", "--json", "--precision", precision,
        ])
      #expect(result.status == 0, "\(result.stderr)")
      let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
      #expect(object["precision"] as? String == precision)
      return try #require(object["weight_bytes"] as? Int)
    }
    let (fp32, fp16, int8) = (try weightBytes("fp32"), try weightBytes("fp16"), try weightBytes("int8"))
    #expect(fp16 < fp32 && int8 < fp16, "\(fp32) \(fp16) \(int8)")
  }
}
