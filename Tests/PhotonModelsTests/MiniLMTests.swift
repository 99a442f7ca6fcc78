import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonTestSupport
import Testing

/// The real all-MiniLM-L6-v2 (fetched into Models/ by scripts/fetch-model.sh, which the test
/// command runs first) against sentence-transformers' embeddings, on both backends.
@Suite("all-MiniLM-L6-v2 vs sentence-transformers")
struct MiniLMTests {
  static let folderURL = repositoryRoot.appendingPathComponent("Models/all-MiniLM-L6-v2")

  func folder() throws -> ModelFolder {
    guard FileManager.default.fileExists(atPath: Self.folderURL.appendingPathComponent("model.safetensors").path)
    else {
      throw PhotonError(.invalidFile, "\(Self.folderURL.path) is missing: run scripts/fetch-model.sh first")
    }
    return try ModelFolder(url: Self.folderURL)
  }

  @Test func embeddingsAndHiddenStatesMatchOnBothBackends() throws {
    let folder = try folder()
    let reference = try Reference("minilm/reference.json")
    #expect(reference.cases.count == 40)
    for backend in try Backends.all() {
      let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
      var worstCosine = 1.0
      var worstHidden: Float = 0
      for (index, testCase) in reference.cases.enumerated() {
        let batch = try singleBatch(testCase)
        let output = try encoder.forward(batch)
        let embedding = try backend.floats(
          backend.normalize(
            backend.pool(output.lastHiddenState, mask: output.attentionMask, mode: .mean), residual: nil, .l2))
        let similarity = cosine(embedding, flatFloats(testCase["embedding"]))
        worstCosine = min(worstCosine, similarity)
        #expect(similarity >= 0.99999, "\(backend.kind) case \(index): cosine \(similarity)")
        if let hidden = testCase["last_hidden_state"] {
          worstHidden = max(
            worstHidden,
            expectClose(
              try backend.floats(output.lastHiddenState), flatFloats(hidden), atol: 1e-4,
              "\(backend.kind) case \(index) hidden"))
        }
      }
      print("MiniLM \(backend.kind): worst cosine \(worstCosine), worst hidden-state max abs diff \(worstHidden)")
    }
  }

  @Test func paddedBatchMatchesOnRealTokens() throws {
    let folder = try folder()
    let reference = try Reference("minilm/reference.json")
    let batch = try #require(reference.paddedBatch)
    for backend in try Backends.all() {
      let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
      let input = try paddedBatch(batch)
      #expect(input.attentionMask.contains(0))
      let hidden = try backend.floats(encoder.forward(input).lastHiddenState)
      expectClose(
        unpaddedRows(hidden, mask: input.attentionMask, width: 384),
        unpaddedRows(flatFloats(batch["last_hidden_state"]), mask: input.attentionMask, width: 384), atol: 1e-4,
        "\(backend.kind) padded batch")
    }
  }
}
