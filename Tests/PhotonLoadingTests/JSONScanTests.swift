import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonLoading

/// JSON that Foundation reads differently from Python, or reports without a key (issue 13, items
/// 16 and 17): duplicate keys, numbers that do not fit their field, hostile nesting.
@Suite struct JSONScanTests {
  /// A config with one integer and one float field, decoded the way every config is.
  struct Probe: ModelConfiguration {
    var hiddenSize: Int
    var eps: Float?
    enum CodingKeys: String, CodingKey {
      case hiddenSize = "hidden_size"
      case eps
    }
    func validate(file: String) throws {}
  }

  @Test func duplicateKeysInAConfigAreRefusedByName() throws {
    // JSONDecoder would take 64, transformers 128.
    expectPhotonError(.invalidFile, mentioning: ["config.json", "'hidden_size'", "more than once"]) {
      _ = try Probe.decode(Data(#"{"hidden_size": 64, "eps": 1e-5, "hidden_size": 128}"#.utf8), file: "config.json")
    }
    expectPhotonError(.invalidFile, mentioning: ["'a'", "in 'outer.inner'"]) {
      _ = try Probe.decode(
        Data(#"{"hidden_size": 1, "outer": {"inner": {"a": 1, "b": 2, "\u0061": 3}}}"#.utf8), file: "config.json")
    }
    // The same key in different objects is fine.
    #expect(try Probe.decode(Data(#"{"hidden_size": 8, "x": {"hidden_size": 9}}"#.utf8)).hiddenSize == 8)
  }

  @Test(arguments: ["1.5", "123456789012345678901234", "-0.25"])
  func anIntegerFieldThatDoesNotFitNamesItsKey(number: String) throws {
    // Foundation's own message is "The given data was not valid JSON", naming no key.
    expectPhotonError(.invalidFile, mentioning: ["config.json", "'hidden_size' = \(number)"]) {
      _ = try Probe.decode(Data(#"{"eps": 1, "hidden_size": \#(number)}"#.utf8), file: "config.json")
    }
  }

  @Test func malformedTextStillGetsLineAndColumn() throws {
    expectPhotonError(.invalidFile, mentioning: ["malformed JSON", "line 2"]) {
      _ = try Probe.decode(Data("{\"hidden_size\": 1,\n oops}".utf8), file: "config.json")
    }
  }

  @Test func deepNestingIsRefusedBeforeParsing() throws {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    expectPhotonError(.invalidFile, mentioning: ["deeper than \(JSONScan.maxDepth)"]) {
      _ = try Probe.decode(Data(#"{"hidden_size": 1, "x": \#(deep)}"#.utf8), file: "config.json")
    }
  }

  @Test func safetensorsHeaderWithADuplicateTensorIsRefused() throws {
    let dir = try TemporaryDirectory()
    let entry = #""w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
    let url = try dir.write(
      "d.safetensors", bytes: SafeTensorsBuilder.raw(header: "{\(entry),\(entry)}", data: [0, 0, 0, 0]))
    expectPhotonError(.invalidFile, mentioning: ["d.safetensors", "key 'w'", "more than once"]) {
      _ = try SafeTensorsFile(url: url)
    }
  }

  @Test func jsonStringLines() {
    #expect(JSONScan.string(Array(#"  "a\"b\\c\/d\n\u00e9"  "#.utf8)) == "a\"b\\c/d\né")
    #expect(JSONScan.string(Array(#""\ud83d\ude00""#.utf8)) == "😀")
    // A lone surrogate is valid JSON no Swift string can hold: it becomes U+FFFD.
    #expect(JSONScan.string(Array(#""x\ud800y""#.utf8)) == "x\u{FFFD}y")
    for bad in [#""open"#, #""a" "b""#, "42", #""bad \q escape""#, ""] {
      #expect(JSONScan.string(Array(bad.utf8)) == nil, "\(bad)")
    }
  }
}
