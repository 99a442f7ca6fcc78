import COpenCL
import Foundation
import PhotonCore

/// A device allocation. When the last reference goes, the memory returns to its pool for the next
/// tensor of the same size instead of being released. A sub-buffer (a window onto a parent,
/// e.g. one of several inputs uploaded together) keeps its parent alive and releases only itself.
public final class DeviceBuffer: TensorStorage, @unchecked Sendable {
  let mem: cl_mem
  public let byteCount: Int
  let pool: BufferPool
  private let parent: DeviceBuffer?

  init(mem: cl_mem, byteCount: Int, pool: BufferPool) {
    self.mem = mem
    self.byteCount = byteCount
    self.pool = pool
    self.parent = nil
  }

  /// The `byteCount` bytes of `parent` from `offset` (a multiple of the device's base alignment).
  init(subBufferOf parent: DeviceBuffer, offset: Int, byteCount: Int) throws {
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
    self.pool = parent.pool
    self.parent = parent
  }

  deinit {
    if parent != nil {
      clReleaseMemObject(mem)
    } else {
      pool.recycle(mem, byteCount: byteCount)
    }
  }
}

/// Free device buffers by size, so repeated shapes reuse memory. Buffers are released when the
/// pool goes.
public final class BufferPool: @unchecked Sendable {
  private let context: cl_context
  private let info: DeviceInfo
  private let lock = NSLock()
  private var free: [Int: [cl_mem]] = [:]
  /// Buffers created from the driver (not served from the free lists).
  public private(set) var allocations = 0
  /// Bytes currently allocated from the driver, in use or free.
  public private(set) var allocatedBytes = 0
  /// Bytes held by live tensors (weights included), and the most held since ``resetPeak()``.
  public private(set) var inUseBytes = 0
  public private(set) var peakInUseBytes = 0

  init(context: cl_context, info: DeviceInfo) {
    self.context = context
    self.info = info
  }

  deinit {
    for list in free.values { for mem in list { clReleaseMemObject(mem) } }
  }

  /// A buffer of at least `byteCount` bytes. Throws `.outOfMemory` naming the request and the
  /// device's limits when the device cannot hold it.
  func buffer(byteCount requested: Int, for purpose: @autoclosure () -> String) throws -> DeviceBuffer {
    let byteCount = max(requested, 4)  // a zero-size buffer is invalid in OpenCL
    if let mem = lock.withLock({ () -> cl_mem? in
      guard let mem = free[byteCount]?.popLast() else { return nil }
      markInUse(byteCount)
      return mem
    }) {
      return DeviceBuffer(mem: mem, byteCount: byteCount, pool: self)
    }
    if byteCount > info.maxAllocationBytes {
      throw PhotonError(
        .outOfMemory,
        "\(purpose()) needs \(byteCount) bytes in one buffer; \(info.name) allows at most \(info.maxAllocationBytes) per allocation (\(info.globalMemoryBytes) bytes of global memory, \(allocatedBytes) already allocated by Photon)")
    }
    var status: cl_int = 0
    var mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), byteCount, nil, &status)
    if mem == nil || status != CL_SUCCESS {
      // Free buffers of other sizes may be what fills the device: release them and try once more.
      trim()
      mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), byteCount, nil, &status)
    }
    guard let mem, status == CL_SUCCESS else {
      try check(
        status, "clCreateBuffer",
        "\(purpose()): \(byteCount) bytes requested, \(inUseBytes) in use of \(info.globalMemoryBytes) on \(info.name)")
      throw PhotonError(.outOfMemory, "clCreateBuffer returned no buffer for \(byteCount) bytes")
    }
    lock.withLock {
      allocations += 1
      allocatedBytes += byteCount
      markInUse(byteCount)
    }
    return DeviceBuffer(mem: mem, byteCount: byteCount, pool: self)
  }

  private func markInUse(_ byteCount: Int) {
    inUseBytes += byteCount
    peakInUseBytes = max(peakInUseBytes, inUseBytes)
  }

  /// Starts a new peak measurement from what is in use now.
  public func resetPeak() {
    lock.withLock { peakInUseBytes = inUseBytes }
  }

  fileprivate func recycle(_ mem: cl_mem, byteCount: Int) {
    lock.withLock {
      inUseBytes -= byteCount
      free[byteCount, default: []].append(mem)
    }
  }

  /// Releases every free buffer back to the driver (after an out-of-memory error, say).
  public func trim() {
    lock.withLock {
      for (size, list) in free {
        for mem in list { clReleaseMemObject(mem) }
        allocatedBytes -= size * list.count
      }
      free.removeAll()
    }
  }
}
