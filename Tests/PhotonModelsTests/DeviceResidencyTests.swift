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
    let encoder = try ModelRegistry.encoder(folder: ModelFolder(url: Fixtures.url("tiny-models/\(model)")), backend: backend)
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
}
