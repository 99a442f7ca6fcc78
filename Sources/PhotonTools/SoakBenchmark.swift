import Foundation
import PhotonCore
import PhotonLoading
import PhotonModels
import PhotonOpenCL

/// Many encoder passes at random shapes on the device, to show what the memory pool does when
/// every call has a new batch size and length (a server's load): the device bytes it holds at the
/// peak against its budget, whether allocations stop once the size buckets are warm, how often
/// it evicts, and whether any pass fails.
///
/// Pass `i` draws a batch size in `1...maxBatch` and a padded length in `1...maxLength`, with the
/// rows' real lengths in `1...length` (the first row is full), from a seeded generator: the same
/// seed gives the same sequence of shapes, so two bucket policies can be compared on it.
public struct SoakBenchmark: Sendable {
  public var passes: Int
  public var maxBatch: Int
  /// nil: the model's maximum sequence length.
  public var maxLength: Int?
  public var seed: UInt64
  /// Device bytes the backend may allocate; nil: its default (`PHOTON_MEMORY_BUDGET`, else a
  /// fixed fraction of the device's global memory).
  public var memoryBudget: Int?
  /// Exact-size buffers (the pool before size buckets), to measure against.
  public var exactBuckets: Bool
  /// Passes counted as warm-up: allocations after them are reported apart. nil: a tenth.
  public var warmupPasses: Int?

  public init(
    passes: Int, maxBatch: Int = 32, maxLength: Int? = nil, seed: UInt64 = 0, memoryBudget: Int? = nil,
    exactBuckets: Bool = false, warmupPasses: Int? = nil
  ) {
    self.passes = passes
    self.maxBatch = maxBatch
    self.maxLength = maxLength
    self.seed = seed
    self.memoryBudget = memoryBudget
    self.exactBuckets = exactBuckets
    self.warmupPasses = warmupPasses
  }

  public struct Result: Sendable, Codable {
    public var device: String
    public var model: String
    public var passes: Int
    public var maxBatch: Int
    public var maxLength: Int
    public var seed: UInt64
    /// `sized` or `exact`.
    public var buckets: String
    public var budgetBytes: Int
    /// Device bytes held after loading, before the first pass (the weights).
    public var weightBytes: Int
    /// The most device bytes allocated at once (weights, activations, free buffers).
    public var peakAllocatedBytes: Int
    /// The most bytes live tensors asked for at once.
    public var peakInUseBytes: Int
    /// Buffers created from the driver during the passes.
    public var allocations: Int
    public var warmupPasses: Int
    /// Of ``allocations``, those after the warm-up passes.
    public var allocationsAfterWarmup: Int
    /// The last pass (from 1) that created a driver buffer; 0 if none did.
    public var lastAllocationPass: Int
    public var evictions: Int
    public var errors: Int
    public var firstError: String?
    public var tokens: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
      case device, model, passes, seed, buckets, evictions, errors, tokens, seconds
      case maxBatch = "max_batch", maxLength = "max_length", budgetBytes = "budget_bytes"
      case weightBytes = "weight_bytes", peakAllocatedBytes = "peak_allocated_bytes"
      case peakInUseBytes = "peak_in_use_bytes", allocations, warmupPasses = "warmup_passes"
      case allocationsAfterWarmup = "allocations_after_warmup", lastAllocationPass = "last_allocation_pass"
      case firstError = "first_error"
    }
  }

  /// `text` as a byte count: digits with an optional K, M or G suffix (`512M`, `2G`).
  public static func byteCount(_ text: String) -> Int? { BufferPool.parseByteCount(text) }

  /// Runs the passes on the encoder in `model` on the OpenCL device (`PHOTON_DEVICE`).
  public func run(model: URL, progress: (String) -> Void = { _ in }) throws -> Result {
    guard passes > 0, maxBatch > 0, (maxLength ?? 1) > 0, (warmupPasses ?? 0) >= 0 else {
      throw PhotonError(
        .invalidArgument,
        "passes, batch and length must be positive and warm-up non-negative; got \(passes), \(maxBatch), \(maxLength ?? 0), \(warmupPasses ?? 0)"
      )
    }
    let folder = try ModelFolder(url: model)
    let backend = try OpenCLBackend(
      options: .init(memoryBudget: memoryBudget, memoryBuckets: exactBuckets ? .exact : nil))
    let encoder = try ModelRegistry.encoder(folder: folder, backend: backend)
    let maxLength = maxLength ?? encoder.maxSequenceLength
    guard maxLength <= encoder.maxSequenceLength else {
      throw PhotonError(
        .invalidArgument,
        "max length \(maxLength) exceeds the \(encoder.maxSequenceLength) positions of \(folder.url.lastPathComponent)")
    }
    let warmup = min(warmupPasses ?? max(passes / 10, 1), passes)
    let pool = backend.pool
    let weightBytes = pool.allocatedBytes
    let allocationsBefore = pool.allocations
    var allocationsAtWarmup = allocationsBefore
    var lastAllocationPass = 0
    var errors = 0
    var firstError: String?
    var tokens = 0
    var random = SplitMix64(seed: seed)
    let vocabulary = Int32(encoder.vocabularySize)
    let start = Date()
    var lastReport = start

    for pass in 1...passes {
      let batch = Int.random(in: 1...maxBatch, using: &random)
      let length = Int.random(in: 1...maxLength, using: &random)
      let sequences = (0..<batch).map { row in
        let count = row == 0 ? length : Int.random(in: 1...length, using: &random)
        return (0..<count).map { _ in Int32.random(in: min(1000, vocabulary - 1)..<vocabulary, using: &random) }
      }
      let allocations = pool.allocations
      do {
        let input = try EncoderBatch(sequences: sequences, padId: 0)
        _ = try backend.floats(encoder.forward(input, pooler: false).lastHiddenState)
        tokens += batch * length
      } catch {
        errors += 1
        firstError = firstError ?? "pass \(pass) (\(batch)×\(length)): \(error)"
      }
      if pool.allocations != allocations { lastAllocationPass = pass }
      if pass == warmup { allocationsAtWarmup = pool.allocations }
      if Date().timeIntervalSince(lastReport) > 5 {
        let memory = pool.statistics
        progress(
          "pass \(pass)/\(passes): \(memory.allocatedBytes) B allocated (peak \(memory.peakAllocatedBytes) of \(memory.budgetBytes)), \(memory.allocations - allocationsBefore) allocations, \(memory.evictions) evictions, \(errors) errors"
        )
        lastReport = Date()
      }
    }

    let memory = pool.statistics
    return Result(
      device: backend.deviceName, model: folder.url.lastPathComponent, passes: passes, maxBatch: maxBatch,
      maxLength: maxLength, seed: seed, buckets: memory.policy.rawValue, budgetBytes: memory.budgetBytes,
      weightBytes: weightBytes, peakAllocatedBytes: memory.peakAllocatedBytes, peakInUseBytes: memory.peakInUseBytes,
      allocations: memory.allocations - allocationsBefore, warmupPasses: warmup,
      allocationsAfterWarmup: memory.allocations - allocationsAtWarmup, lastAllocationPass: lastAllocationPass,
      evictions: memory.evictions, errors: errors, firstError: firstError, tokens: tokens,
      seconds: Date().timeIntervalSince(start))
  }
}
