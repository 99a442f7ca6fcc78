import Foundation
import Photon
import PhotonTestSupport
import Testing

/// The public API end to end: text in, Hugging Face's numbers out, on both backends.
@Suite("Pipelines: SentenceEmbedder, TextClassifier, TokenClassifier, FillMask")
struct PipelineTests {
  static let miniLM = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Models/all-MiniLM-L6-v2")

  static func referenceCases() throws -> [[String: Any]] {
    let reference = try #require(try Fixtures.json("minilm/reference.json") as? [String: Any])
    return try #require(reference["cases"] as? [[String: Any]])
  }

  @Test(arguments: BackendKind.allCases)
  func embedderMatchesSentenceTransformersFromText(backend: BackendKind) throws {
    let embedder = try SentenceEmbedder(model: Self.miniLM, backend: backend)
    #expect(embedder.dimension == 384 && embedder.maxLength == 256 && embedder.pooling == .mean && embedder.normalize)
    let cases = try Self.referenceCases()
    let texts = try cases.map { try #require($0["text"] as? String) }
    // Small batches, so sorting by length and restoring the order is exercised.
    let embeddings = try embedder.embed(texts, batchSize: 7)
    #expect(embeddings.count == texts.count)
    var worst = 1.0
    for (index, testCase) in cases.enumerated() {
      let expected = try #require(testCase["embedding"] as? [NSNumber]).map(\.floatValue)
      let similarity = Double(SentenceEmbedder.cosine(embeddings[index], expected))
      worst = min(worst, similarity)
      #expect(similarity >= 0.99999, "case \(index): cosine \(similarity)")
      let ids = try #require(testCase["input_ids"] as? [NSNumber]).map(\.int32Value)
      #expect(embedder.tokenize([texts[index]])[0] == ids, "case \(index) ids")
    }
    print("SentenceEmbedder \(backend): worst cosine \(worst) over \(texts.count) texts")
  }

  @Test func emptyBatchReturnsEmptyAndBadBatchSizeIsAnError() throws {
    let embedder = try SentenceEmbedder(model: Self.miniLM, backend: .cpu)
    #expect(try embedder.embed([]).isEmpty)
    let error = try #require(throws: PhotonError.self) { try embedder.embed(["x"], batchSize: 0) }
    #expect(error.code == .invalidArgument)
  }

  @Test func overlongTextIsTruncatedLikeHuggingFace() throws {
    let embedder = try SentenceEmbedder(model: Self.miniLM, backend: .cpu, maxLength: 8)
    let ids = embedder.tokenize([String(repeating: "word ", count: 50)])[0]
    #expect(ids.count == 8 && ids.first == 101 && ids.last == 102)
    #expect(try embedder.embed([String(repeating: "word ", count: 50)])[0].count == 384)
    #expect(throws: PhotonError.self) { try SentenceEmbedder(model: Self.miniLM, backend: .cpu, maxLength: 513) }
  }

  @Test(arguments: BackendKind.allCases)
  func classifierScoresAreSoftmaxOfTheLogits(backend: BackendKind) throws {
    let classifier = try TextClassifier(model: Fixtures.url("tiny-models/tiny-bert-classifier"), backend: backend)
    let reference = try #require(try Fixtures.json("tiny-models/tiny-bert-classifier/reference.json") as? [String: Any])
    let cases = try #require(reference["cases"] as? [[String: Any]])
    let texts = try cases.map { try #require($0["text"] as? String) }
    let results = try classifier.classify(texts, topK: nil)
    for (index, testCase) in cases.enumerated() {
      let logits = try #require(testCase["logits"] as? [NSNumber]).map(\.floatValue)
      let exps = logits.map { exp($0 - logits.max()!) }
      let expected = zip(classifier.labels, exps.map { $0 / exps.reduce(0, +) })
        .map { LabelScore(label: $0, score: $1) }.sorted { $0.score > $1.score }
      #expect(results[index].map(\.label) == expected.map(\.label))
      expectClose(results[index].map(\.score), expected.map(\.score), atol: 1e-5, "case \(index)")
    }
    #expect(try classifier.classify(texts, topK: 1).allSatisfy { $0.count == 1 })
  }

  @Test(arguments: BackendKind.allCases)
  func fillMaskAndTokenClassifierRun(backend: BackendKind) throws {
    let fill = try FillMask(model: Fixtures.url("tiny-models/tiny-bert-mlm"), backend: backend)
    let predictions = try fill.predict(["the capital of france is [MASK] ."], topK: 3)
    #expect(predictions[0].count == 3)
    #expect(predictions[0][0].score >= predictions[0][1].score)
    #expect(predictions[0].allSatisfy { !$0.sequence.contains("[MASK]") })
    let noMask = try #require(throws: PhotonError.self) { try fill.predict(["no mask here"]) }
    #expect(noMask.message.contains("text 0"))

    let ner = try TokenClassifier(model: Fixtures.url("tiny-models/tiny-bert-token-classifier"), backend: backend)
    let entities = try ner.entities(["john lives in paris", ""])
    #expect(entities.count == 2)
    for entity in entities[0] {
      #expect(["PER", "LOC"].contains(entity.entityGroup) && entity.startToken < entity.endToken)
    }
  }

  @Test func wrongArchitectureForAPipelineIsNamed() throws {
    let error = try #require(throws: PhotonError.self) {
      try TextClassifier(model: Fixtures.url("tiny-models/tiny-distilbert"), backend: .cpu)
    }
    #expect(error.code == .unsupported && error.message.contains("distilbert"))
    let missing = try #require(throws: PhotonError.self) {
      try SentenceEmbedder(model: URL(fileURLWithPath: "/nonexistent/model"), backend: .cpu)
    }
    #expect(missing.message.contains("/nonexistent/model"))
  }
}
