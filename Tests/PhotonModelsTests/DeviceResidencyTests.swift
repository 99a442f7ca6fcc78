import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL
import PhotonTestSupport
import Testing

/// A forward pass stays on the device: after warm-up it allocates nothing, uploads its inputs
/// once, launches only kernels, and the host waits once — to read the output.
@Suite("Device residency: counters of an encoder forward pass on .gpu")
struct DeviceResidencyTests {
  @Test(arguments: ["tiny-bert", "tiny-roberta", "tiny-distilbert"])
  func forwardPassUploadsOnceReadsOnceAllocatesNothing(model: String) throws {
    let backend = try OpenCLBackend()
    let encoder = try ModelRegistry.encoder(
      folder: ModelFolder(url: Fixtures.url("tiny-models/\(model)")), backend: backend)
    let batch = try EncoderBatch(sequences: [[101, 7, 8, 9, 102], [101, 5, 102]], padId: 0)
    let first = try backend.floats(encoder.forward(batch, pooler: false).lastHiddenState)  // warm-up

    backend.resetCounters()
    let second = try backend.floats(encoder.forward(batch, pooler: false).lastHiddenState)
    let counters = backend.counters
    #expect(first == second)
    #expect(counters.bufferAllocations == 0)
    #expect(counters.uploads == 1)
    #expect(counters.readBacks == 1)
    #expect(counters.bytesDeviceToHost == 2 * 5 * encoder.hiddenSize * 4)
    #expect(counters.blockingWaits == 1)
    // Embeddings, then per layer: QKV GEMM, attention, output GEMM + add & norm, FFN in, FFN out + add & norm.
    let layers = model == "tiny-distilbert" ? 2 : 2
    #expect(counters.kernelLaunches <= 1 + layers * 7)
  }

  @Test func peakActivationMemoryDoesNotGrowWithDepth() throws {
    let backend = try OpenCLBackend()
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert"))
    let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
    let batch = try EncoderBatch(sequences: [[Int32](repeating: 7, count: 64)], padId: 0)
    _ = try backend.floats(encoder.forward(batch, pooler: false).lastHiddenState)
    backend.pool.resetPeak()
    let before = backend.pool.inUseBytes
    _ = try backend.floats(encoder.forward(batch, pooler: false).lastHiddenState)
    let peak = backend.pool.peakInUseBytes - before
    // One layer's largest live set: hidden [T, C], QKV [T, 3C], context [T, C], attended [T, C],
    // FFN inner [T, I] — bounded by 2× that, whatever the number of layers.
    let (t, c, i) = (64, 64, 128)
    let layerSet = 4 * (t * c + t * 3 * c + t * c + t * c + t * i)
    #expect(peak > 0 && peak <= 2 * layerSet, "peak \(peak) B vs one layer's set \(layerSet) B")
  }

  /// Random batch sizes and lengths under a budget far below what keeping every shape's buffers
  /// would take: the pool evicts instead of growing, never passes the budget, and the outputs are
  /// those of a backend with the default budget.
  @Test func randomShapesStayWithinASmallBudget() throws {
    let folder = try ModelFolder(url: Fixtures.url("tiny-models/tiny-bert"))
    // Weights take 1.1 MB, the largest pass (8×128) about 1.8 MB more; every shape's buckets kept
    // would take about 12 MB.
    let budget = 4 << 20
    let backend = try OpenCLBackend(options: .init(memoryBudget: budget))
    let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
    let unbounded = try OpenCLBackend()
    let reference = try ModelRegistry.encoder(folder: folder, backend: unbounded)
    var random = SeededGenerator(seed: 16)
    for _ in 0..<40 {
      let batch = Int.random(in: 1...8, using: &random)
      let sequences = (0..<batch).map { _ in
        (0..<Int.random(in: 1...encoder.maxSequenceLength, using: &random)).map { _ in
          Int32.random(in: 1..<Int32(encoder.vocabularySize), using: &random)
        }
      }
      let input = try EncoderBatch(sequences: sequences, padId: 0)
      let output = try backend.floats(encoder.forward(input, pooler: false).lastHiddenState)
      #expect(output == (try unbounded.floats(reference.forward(input, pooler: false).lastHiddenState)))
    }
    let memory = backend.pool.statistics
    #expect(memory.peakAllocatedBytes <= budget, "\(memory)")
    #expect(memory.evictions > 0, "the budget never bound: \(memory)")
    #expect(unbounded.pool.statistics.peakAllocatedBytes > budget, "the budget is not small")
  }
}
