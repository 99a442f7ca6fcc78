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
