/// What a backend did, counted: the evidence that a forward pass stays on the device.
///
/// After warm-up, an encoder forward pass on `.gpu` should show zero buffer allocations, its input
/// uploads, one read-back of the output and one blocking wait (that read).
public struct ExecutionCounters: Sendable, Equatable, Codable {
  public var kernelLaunches = 0
  public var bytesHostToDevice = 0
  public var uploads = 0
  public var bytesDeviceToHost = 0
  public var readBacks = 0
  /// Buffers created from the driver (not served from the pool's free lists).
  public var bufferAllocations = 0
  /// Calls that made the host wait for the device (blocking reads and writes, finish).
  public var blockingWaits = 0

  public init() {}

  enum CodingKeys: String, CodingKey {
    case kernelLaunches = "kernel_launches", bytesHostToDevice = "bytes_host_to_device", uploads
    case bytesDeviceToHost = "bytes_device_to_host", readBacks = "read_backs"
    case bufferAllocations = "buffer_allocations", blockingWaits = "blocking_waits"
  }
}

/// Device time spent in one kernel, summed over its launches.
public struct KernelProfile: Sendable, Equatable {
  public var name: String
  public var seconds: Double
  public var launches: Int

  public init(name: String, seconds: Double, launches: Int) {
    self.name = name
    self.seconds = seconds
    self.launches = launches
  }
}

/// A backend that counts its work and can time its kernels: a capability a benchmark asks for
/// (`backend as? any ProfilingBackend`) rather than a concrete backend type it downcasts to.
public protocol ProfilingBackend: Backend {
  /// Work done since the last ``resetCounters()``.
  var counters: ExecutionCounters { get }
  /// Zeroes ``counters`` (e.g. after warm-up).
  func resetCounters()
  /// Time per kernel of the launches since the last call, which it forgets. Empty unless the
  /// backend was made to profile (on OpenCL, a device opened with `profiling: true`).
  func kernelProfile() throws -> [KernelProfile]
  /// Bytes of device memory held by live tensors (weights included).
  var memoryInUse: Int { get }
  /// The most ``memoryInUse`` has been since the last ``resetPeakMemory()``.
  var peakMemoryInUse: Int { get }
  /// Starts a new peak at the current ``memoryInUse``.
  func resetPeakMemory()
}
