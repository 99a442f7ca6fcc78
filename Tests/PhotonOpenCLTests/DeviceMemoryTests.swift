import Foundation
import PhotonCore
import PhotonTestSupport
import Testing

@testable import PhotonOpenCL

/// The buffer pool: size buckets, reuse across shapes, a budget kept by least-recently-used
/// eviction, and a typed error (after which the pool still works) for what cannot fit.
@Suite("Device memory: bucketed pool under a budget")
struct DeviceMemoryTests {
  /// A backend of its own, so its pool's counters see only this test.
  static func backend(budget: Int? = nil, buckets: BufferPool.BucketPolicy = .sized) throws -> OpenCLBackend {
    try OpenCLBackend(device: OpenCLDevice.select(), options: .init(memoryBudget: budget, memoryBuckets: buckets))
  }

  @Test func requestsRoundUpToFourBucketsPerOctave() {
    let cases = [
      (0, 256), (1, 256), (256, 256), (257, 320), (320, 320), (321, 384), (449, 512), (512, 512), (513, 640),
      (1000, 1024), (1025, 1280), (3 << 20, 3 << 20), ((3 << 20) + 1, 7 << 19), (100_000_000, 100_663_296),
    ]
    for (request, bucket) in cases {
      #expect(BufferPool.bucket(for: request) == bucket, "request \(request)")
    }
    var random = SeededGenerator(seed: 7)
    for _ in 0..<2000 {
      let request = Int(random.next() % (1 << 30))
      let bucket = BufferPool.bucket(for: request)
      // Never smaller, at most a quarter larger, and a bucket is its own bucket.
      #expect(bucket >= request && (request <= 256 || 4 * bucket <= 5 * request))
      #expect(BufferPool.bucket(for: bucket) == bucket)
    }
    #expect(BufferPool.bucket(for: 0, policy: .exact) == 4)
    #expect(BufferPool.bucket(for: 1234, policy: .exact) == 1234)
  }

  @Test func aFreedBufferServesAnotherShapeInItsBucket() throws {
    let backend = try Self.backend()
    // [10, 30] floats = 1200 B and [1, 310] = 1240 B share the 1280-byte bucket.
    let first = try backend.tensor([Float](repeating: 1, count: 300), shape: [10, 30])
    let firstMem = try first.deviceBuffer(of: backend).mem
    let allocations = backend.pool.allocations
    _ = consume first
    let second = try backend.tensor([Float](repeating: 2, count: 310), shape: [1, 310])
    #expect(backend.pool.allocations == allocations, "a new driver buffer for a shape in a warm bucket")
    #expect(try second.deviceBuffer(of: backend).mem == firstMem)
    #expect(try second.deviceBuffer(of: backend).capacity == 1280)
    #expect(try backend.floats(second) == [Float](repeating: 2, count: 310))
    #expect(backend.pool.inUseBytes == 1240 && backend.pool.allocatedBytes == 1280)

    // The old pool's policy: only the exact size is reused.
    let exact = try Self.backend(buckets: .exact)
    _ = try exact.tensor([Float](repeating: 1, count: 300), shape: [10, 30])
    _ = try exact.tensor([Float](repeating: 1, count: 310), shape: [1, 310])
    _ = try exact.tensor([Float](repeating: 1, count: 300), shape: [30, 10])
    #expect(exact.pool.allocations == 2)
  }

  @Test func evictsLeastRecentlyFreedBuffersFirst() throws {
    let backend = try Self.backend(budget: 3 * 1024)
    let pool = backend.pool
    var a: DeviceBuffer? = try pool.buffer(byteCount: 1024, for: "a")
    var b: DeviceBuffer? = try pool.buffer(byteCount: 1024, for: "b")
    var c: DeviceBuffer? = try pool.buffer(byteCount: 1024, for: "c")
    let aMem = a!.mem
    #expect(pool.allocatedBytes == 3 * 1024)
    b = nil  // freed first: the oldest
    c = nil
    a = nil  // freed last: the newest
    _ = (a, b, c)
    // 1100 B (bucket 1280) must evict two 1024-byte buffers to fit: b, then c; a stays.
    let big = try pool.buffer(byteCount: 1100, for: "big")
    #expect(pool.evictions == 2)
    #expect(pool.allocatedBytes == 1024 + 1280)
    let allocations = pool.allocations
    let again = try pool.buffer(byteCount: 1000, for: "a's bucket")
    #expect(pool.allocations == allocations, "a's buffer should have been kept and reused")
    #expect(again.mem == aMem)
    #expect(pool.peakAllocatedBytes <= pool.budgetBytes)
    withExtendedLifetime((big, again)) {}
  }

  @Test func aRequestOverTheBudgetThrowsAndTheNextSmallerOneSucceeds() throws {
    let backend = try Self.backend(budget: 64 << 10)
    let pool = backend.pool
    let held = try backend.tensor([Float](repeating: 1, count: 8192), shape: [8192])  // 32 KiB
    var spare: DeviceBuffer? = try pool.buffer(byteCount: 16 << 10, for: "spare")
    spare = nil  // free, so it must be evicted before the error
    _ = spare
    do {
      _ = try pool.buffer(byteCount: 48 << 10, for: "a 48 KiB activation")
      Issue.record("48 KiB fit under a 64 KiB budget with 32 KiB in use")
    } catch let error as PhotonError {
      #expect(error.code == .outOfMemory)
      #expect(error.message.contains("a 48 KiB activation"))
      #expect(error.message.contains("needs 49152 bytes"), "\(error.message)")
      #expect(error.message.contains("32768 bytes are in use"), "\(error.message)")
      #expect(error.message.contains("budget") && error.message.contains("65536"), "\(error.message)")
    }
    // Consistent afterwards: the free buffer went, what is held is intact, and a request that fits
    // is served.
    #expect(pool.evictions == 1)
    #expect(pool.allocatedBytes == 32 << 10)
    let next = try backend.tensor([Float](repeating: 3, count: 4096), shape: [4096])  // 16 KiB
    #expect(try backend.floats(next) == [Float](repeating: 3, count: 4096))
    #expect(try backend.floats(held) == [Float](repeating: 1, count: 8192))
    #expect(pool.allocatedBytes == 48 << 10 && pool.peakAllocatedBytes <= 64 << 10)

    // Beyond the whole budget: the same error, whatever is free.
    #expect(throws: PhotonError.self) {
      _ = try backend.tensor([Float](repeating: 0, count: 1 << 15), shape: [1 << 15])
    }
  }

  @Test func packedIntInputsLiveInOnePooledBuffer() throws {
    let backend = try Self.backend(budget: 1 << 20)
    let tensors = try backend.tensors(ints: [([1, 2, 3], [3]), ([4, 5], [1, 2])])
    #expect(try backend.ints(tensors[0]) == [1, 2, 3])
    #expect(try backend.ints(tensors[1]) == [4, 5])
    #expect(backend.pool.allocations == 1)
  }

  @Test func budgetComesFromTheOptionOrTheEnvironmentAndIsChecked() throws {
    #expect(BufferPool.parseByteCount("1048576") == 1 << 20)
    #expect(BufferPool.parseByteCount("512K") == 512 << 10)
    #expect(BufferPool.parseByteCount("64m") == 64 << 20)
    #expect(BufferPool.parseByteCount("2GiB") == 2 << 30)
    #expect(BufferPool.parseByteCount("3GB") == 3 << 30)
    for bad in ["", "G", "1.5G", "-3M", "12Q", "99999999999999999999", "4 M", "1e6"] {
      #expect(BufferPool.parseByteCount(bad) == nil, "\(bad)")
    }
    let device = try OpenCLDevice.select().info
    #expect(try BufferPool.configuredBudget(nil, environment: [:], device: device) == nil)
    #expect(
      try BufferPool.configuredBudget(nil, environment: ["PHOTON_MEMORY_BUDGET": "64M"], device: device) == 64 << 20)
    #expect(try BufferPool.configuredBudget(1000, environment: ["PHOTON_MEMORY_BUDGET": "64M"], device: device) == 1000)
    for text in ["lots", "0", "\(device.globalMemoryBytes + 1)"] {
      #expect(throws: PhotonError.self, "\(text)") {
        _ = try BufferPool.configuredBudget(nil, environment: ["PHOTON_MEMORY_BUDGET": text], device: device)
      }
    }
    #expect(throws: PhotonError.self) { _ = try Self.backend(budget: -1) }
    // The default: a stated fraction of the device's global memory.
    let backend = try Self.backend()
    #expect(backend.pool.budgetBytes == Int(Double(device.globalMemoryBytes) * BufferPool.defaultBudgetFraction))
  }
}
