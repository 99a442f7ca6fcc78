import COpenCL
import Foundation
import PhotonCore

/// A device allocation. When the last reference goes, the memory returns to its pool's free list
/// for the next request of the same bucket instead of being released. A sub-buffer (a window onto
/// a parent, e.g. one of several inputs uploaded together) keeps its parent alive and releases
/// only itself.
public final class DeviceBuffer: TensorStorage, @unchecked Sendable {
  let mem: cl_mem
  /// The bytes asked for; the buffer may be larger (``capacity``).
  public let byteCount: Int
  /// The bytes the device holds for this buffer: its bucket's size.
  public let capacity: Int
  let pool: BufferPool
  private let parent: DeviceBuffer?

  init(mem: cl_mem, byteCount: Int, capacity: Int, pool: BufferPool) {
    self.mem = mem
    self.byteCount = byteCount
    self.capacity = capacity
    self.pool = pool
    self.parent = nil
  }

  /// The `byteCount` bytes of `parent` from `offset` (a multiple of the device's base alignment).
  init(subBufferOf parent: DeviceBuffer, offset: Int, byteCount: Int) throws {
    guard offset >= 0, byteCount >= 0, offset + max(byteCount, 4) <= parent.capacity else {
      throw PhotonError(
        .invalidArgument, "sub-buffer of \(byteCount) bytes at \(offset) outside its parent's \(parent.capacity)")
    }
    var region = cl_buffer_region(origin: offset, size: max(byteCount, 4))
    var status: cl_int = 0
    let mem = clCreateSubBuffer(
      parent.mem, cl_mem_flags(CL_MEM_READ_WRITE), cl_buffer_create_type(CL_BUFFER_CREATE_TYPE_REGION), &region,
      &status)
    guard let mem, status == CL_SUCCESS else {
      try check(status, "clCreateSubBuffer", "offset \(offset), \(byteCount) bytes")
      throw PhotonError(.openCL, "clCreateSubBuffer returned nothing")
    }
    self.mem = mem
    self.byteCount = byteCount
    self.capacity = max(byteCount, 4)
    self.pool = parent.pool
    self.parent = parent
  }

  deinit {
    if parent != nil {
      clReleaseMemObject(mem)
    } else {
      pool.recycle(mem, byteCount: byteCount, capacity: capacity)
    }
  }
}

/// Device memory for one backend: weights, activations and caches, under one budget.
///
/// Requests are rounded up to size buckets (``BucketPolicy/sized``: four per octave), so a buffer
/// freed by one shape serves the next request of a nearby size: after the buckets an encoder uses
/// are warm, new sequence lengths and batch sizes allocate nothing. The bytes allocated from the
/// driver (in use + free) never exceed ``budgetBytes``: when a new buffer would pass it, free
/// buffers are released least-recently-used first; a request that still does not fit throws
/// `.outOfMemory` and leaves the pool as it was, so smaller requests keep working.
public final class BufferPool: @unchecked Sendable {
  /// How requests are rounded to buffer sizes.
  public enum BucketPolicy: String, CaseIterable, Sendable, Codable {
    /// Sizes `2^k · {1, 1.25, 1.5, 1.75}`, at least ``BufferPool/minimumBucket`` bytes: a buffer
    /// is at most 25% larger than asked (12% on average) and serves any request of its bucket.
    case sized
    /// The requested size: a free buffer serves only a request of the same byte count (the pool
    /// before buckets; kept to measure against).
    case exact
  }

  /// The default budget: this fraction of the device's global memory. The rest is left to what
  /// Photon does not allocate through the pool (CLBlast's scratch buffers, program binaries, the
  /// driver's own) and to other users of the device.
  public static let defaultBudgetFraction = 0.75
  /// The smallest bucket: smaller requests (biases, norms' weights, ids) share it.
  public static let minimumBucket = 256

  /// The most bytes the pool allocates from the driver (in use + free).
  public let budgetBytes: Int
  public let policy: BucketPolicy

  private let context: cl_context
  private let info: DeviceInfo
  private let lock = NSLock()
  /// Free buffers by size, least recently freed first.
  private var free: [Int: [(mem: cl_mem, freedAt: UInt64)]] = [:]
  private var freeBytes = 0
  /// Counts recycles: the "time" free buffers are ordered by.
  private var clock: UInt64 = 0
  /// Buffers created from the driver (not served from the free lists).
  public private(set) var allocations = 0
  /// Free buffers released to make room under the budget (not counting ``trim()``).
  public private(set) var evictions = 0
  /// Bytes allocated from the driver, in use or free (bucket sizes); never above ``budgetBytes``.
  public private(set) var allocatedBytes = 0
  /// The most ``allocatedBytes`` since the pool was made or ``resetPeak()``.
  public private(set) var peakAllocatedBytes = 0
  /// Bytes asked for by live tensors (weights included; requested sizes, not bucket sizes), and
  /// the most held since ``resetPeak()``.
  public private(set) var inUseBytes = 0
  public private(set) var peakInUseBytes = 0

  init(context: cl_context, info: DeviceInfo, budgetBytes: Int? = nil, policy: BucketPolicy = .sized) {
    self.context = context
    self.info = info
    self.budgetBytes = budgetBytes ?? Int(Double(info.globalMemoryBytes) * Self.defaultBudgetFraction)
    self.policy = policy
  }

  deinit {
    for list in free.values { for entry in list { clReleaseMemObject(entry.mem) } }
  }

  /// What the pool holds and has done, read at one moment.
  public struct Statistics: Sendable, Codable, Equatable {
    public var policy: BucketPolicy
    public var budgetBytes: Int
    public var allocatedBytes: Int
    public var peakAllocatedBytes: Int
    public var inUseBytes: Int
    public var peakInUseBytes: Int
    public var allocations: Int
    public var evictions: Int

    enum CodingKeys: String, CodingKey {
      case policy, budgetBytes = "budget_bytes", allocatedBytes = "allocated_bytes"
      case peakAllocatedBytes = "peak_allocated_bytes", inUseBytes = "in_use_bytes"
      case peakInUseBytes = "peak_in_use_bytes", allocations, evictions
    }
  }

  public var statistics: Statistics {
    lock.withLock {
      Statistics(
        policy: policy, budgetBytes: budgetBytes, allocatedBytes: allocatedBytes,
        peakAllocatedBytes: peakAllocatedBytes, inUseBytes: inUseBytes, peakInUseBytes: peakInUseBytes,
        allocations: allocations, evictions: evictions)
    }
  }

  /// The size of the buffer that serves a request of `byteCount` bytes.
  public static func bucket(for byteCount: Int, policy: BucketPolicy = .sized) -> Int {
    let byteCount = max(byteCount, 4)  // a zero-size buffer is invalid in OpenCL
    guard policy == .sized else { return byteCount }
    guard byteCount > minimumBucket else { return minimumBucket }
    // The octave (2^k, 2^(k+1)] holding byteCount, cut into four equal steps of 2^(k-2).
    let k = Int.bitWidth - 1 - (byteCount - 1).leadingZeroBitCount
    let step = 1 << (k - 2)
    return (byteCount + step - 1) / step * step
  }

  /// A buffer of at least `byteCount` bytes. Throws `.outOfMemory` naming the request, the bytes in
  /// use and the budget when it cannot fit, after releasing every free buffer.
  func buffer(byteCount requested: Int, for purpose: @autoclosure () -> String) throws -> DeviceBuffer {
    let byteCount = max(requested, 4)
    // A device's single-allocation limit is hard; a bucket never rounds past it.
    let size = max(min(Self.bucket(for: byteCount, policy: policy), info.maxAllocationBytes), byteCount)
    if size > info.maxAllocationBytes {
      throw PhotonError(
        .outOfMemory,
        "\(purpose()) needs \(size) bytes in one buffer; \(info.name) allows at most \(info.maxAllocationBytes) per allocation"
      )
    }
    var evicted: [cl_mem] = []
    defer { for mem in evicted { clReleaseMemObject(mem) } }
    let reused = try lock.withLock { () -> cl_mem? in
      if let entry = free[size]?.popLast() {
        if free[size]!.isEmpty { free[size] = nil }  // lists are never empty (see evictOldest)
        freeBytes -= size
        markInUse(byteCount)
        return entry.mem
      }
      while allocatedBytes + size > budgetBytes, let mem = evictOldest() {
        evicted.append(mem)
        evictions += 1
      }
      guard allocatedBytes + size <= budgetBytes else {
        throw PhotonError(
          .outOfMemory,
          "\(purpose()) needs \(size) bytes\(size == byteCount ? "" : " (\(byteCount) rounded up to its bucket)"); \(allocatedBytes) bytes are in use by live tensors and the memory budget on \(info.name) is \(budgetBytes) bytes (OpenCLBackend.Options.memoryBudget, PHOTON_MEMORY_BUDGET)"
        )
      }
      // Reserved before the driver call, so concurrent requests cannot overshoot the budget.
      allocatedBytes += size
      peakAllocatedBytes = max(peakAllocatedBytes, allocatedBytes)
      return nil
    }
    if let reused { return DeviceBuffer(mem: reused, byteCount: byteCount, capacity: size, pool: self) }
    do {
      let mem = try createBuffer(size, for: purpose())
      lock.withLock {
        allocations += 1
        markInUse(byteCount)
      }
      return DeviceBuffer(mem: mem, byteCount: byteCount, capacity: size, pool: self)
    } catch {
      lock.withLock { allocatedBytes -= size }
      throw error
    }
  }

  /// A new driver buffer; when the driver refuses, releases the free buffers and tries once more.
  private func createBuffer(_ size: Int, for purpose: @autoclosure () -> String) throws -> cl_mem {
    var status: cl_int = 0
    if let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status), status == CL_SUCCESS {
      return mem
    }
    trim()
    guard let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status), status == CL_SUCCESS
    else {
      let inUse = lock.withLock { allocatedBytes - freeBytes - size }
      try check(
        status, "clCreateBuffer",
        "\(purpose()): \(size) bytes requested, \(inUse) in use of \(info.globalMemoryBytes) on \(info.name)")
      throw PhotonError(.outOfMemory, "clCreateBuffer returned no buffer for \(size) bytes")
    }
    return mem
  }

  /// Removes the least recently freed buffer from the free lists (lock held); the caller releases it.
  private func evictOldest() -> cl_mem? {
    // Each list is oldest first, so the oldest of all is one of the lists' first entries.
    guard let (size, list) = free.min(by: { $0.value[0].freedAt < $1.value[0].freedAt }) else { return nil }
    let mem = list[0].mem
    if list.count == 1 { free[size] = nil } else { free[size]!.removeFirst() }
    freeBytes -= size
    allocatedBytes -= size
    return mem
  }

  private func markInUse(_ byteCount: Int) {
    inUseBytes += byteCount
    peakInUseBytes = max(peakInUseBytes, inUseBytes)
  }

  /// Starts new peak measurements from what is held now.
  public func resetPeak() {
    lock.withLock {
      peakInUseBytes = inUseBytes
      peakAllocatedBytes = allocatedBytes
    }
  }

  fileprivate func recycle(_ mem: cl_mem, byteCount: Int, capacity: Int) {
    lock.withLock {
      inUseBytes -= byteCount
      clock += 1
      free[capacity, default: []].append((mem, clock))
      freeBytes += capacity
    }
  }

  /// Releases every free buffer back to the driver (after an out-of-memory error, say).
  public func trim() {
    let released = lock.withLock { () -> [cl_mem] in
      let mems = free.values.flatMap { $0.map(\.mem) }
      allocatedBytes -= freeBytes
      freeBytes = 0
      free.removeAll()
      return mems
    }
    for mem in released { clReleaseMemObject(mem) }
  }
}

extension BufferPool {
  /// The budget `option` or else `PHOTON_MEMORY_BUDGET` sets, checked against the device; nil
  /// when neither does (the default fraction applies).
  static func configuredBudget(_ option: Int?, environment: [String: String], device: DeviceInfo) throws -> Int? {
    let budget: Int
    let source: String
    if let option {
      (budget, source) = (option, "memoryBudget \(option)")
    } else if let text = environment["PHOTON_MEMORY_BUDGET"], !text.isEmpty {
      guard let parsed = parseByteCount(text) else {
        throw PhotonError(
          .invalidArgument, "PHOTON_MEMORY_BUDGET=\(text) is not a byte count (e.g. 1073741824, 512M, 2G)")
      }
      (budget, source) = (parsed, "PHOTON_MEMORY_BUDGET=\(text)")
    } else {
      return nil
    }
    guard budget > 0, budget <= device.globalMemoryBytes else {
      throw PhotonError(
        .invalidArgument,
        "\(source): a memory budget must be positive and at most \(device.name)'s \(device.globalMemoryBytes) bytes of global memory"
      )
    }
    return budget
  }

  /// `text` as bytes: digits with an optional K, M or G suffix (binary multiples; `B` or `iB` may
  /// follow, any case): `1048576`, `512M`, `2GiB`. nil when it is not one.
  public static func parseByteCount(_ text: String) -> Int? {
    var digits = Substring(text.trimmingCharacters(in: .whitespaces).uppercased())
    for unit in ["IB", "B"] where digits.hasSuffix(unit) {
      digits = digits.dropLast(unit.count)
      break
    }
    var multiplier = 1
    if let last = digits.last, let shift = ["K": 10, "M": 20, "G": 30][String(last)] {
      multiplier = 1 << shift
      digits = digits.dropLast()
    }
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits) else { return nil }
    let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
    return overflow || value < 0 ? nil : bytes
  }
}
