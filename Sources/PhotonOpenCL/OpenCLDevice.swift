import COpenCL
import Foundation
import PhotonCore

/// One OpenCL device with its context and its one in-order command queue.
///
/// Choose one with ``select(_:)`` (the `PHOTON_DEVICE` environment variable: an index into
/// ``all()`` or a case-insensitive substring of the device or platform name) or by index.
public final class OpenCLDevice: @unchecked Sendable {
  public let info: DeviceInfo
  let id: cl_device_id
  let context: cl_context
  let queue: cl_command_queue
  /// Serialises kernel-argument setting and enqueueing: `clSetKernelArg` is not thread-safe.
  let lock = NSLock()
  /// Whether the queue records profiling timestamps.
  public let profiling: Bool
  /// Work enqueued on this device's queue so far (guarded by `lock`).
  var countersStorage = ExecutionCounters()
  /// Host copies of non-blocking uploads, freed once the host has waited for the queue.
  var pendingUploads: [UnsafeMutableRawPointer] = []
  /// With `profiling`, one event per kernel launch until ``kernelTimes()`` collects them.
  var profiledLaunches: [(name: String, event: cl_event)] = []

  /// What has been enqueued on this device since it was opened or ``resetCounters()``.
  public var counters: ExecutionCounters { lock.withLock { countersStorage } }

  public func resetCounters() {
    lock.withLock { countersStorage = ExecutionCounters() }
  }

  /// Device time per kernel name (seconds, summed) of the launches since the last call, from
  /// OpenCL profiling events. Empty unless the device was opened with `profiling: true`.
  public func kernelTimes() throws -> [(name: String, seconds: Double, launches: Int)] {
    try finish()
    let launches = lock.withLock { () -> [(name: String, event: cl_event)] in
      defer { profiledLaunches = [] }
      return profiledLaunches
    }
    var totals: [String: (Double, Int)] = [:]
    for (name, event) in launches {
      var start: cl_ulong = 0
      var end: cl_ulong = 0
      try check(
        clGetEventProfilingInfo(
          event, cl_profiling_info(CL_PROFILING_COMMAND_START), MemoryLayout<cl_ulong>.size, &start, nil),
        "clGetEventProfilingInfo")
      try check(
        clGetEventProfilingInfo(
          event, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &end, nil),
        "clGetEventProfilingInfo")
      clReleaseEvent(event)
      let previous = totals[name] ?? (0, 0)
      totals[name] = (previous.0 + Double(end &- start) * 1e-9, previous.1 + 1)
    }
    return totals.map { ($0.key, $0.value.0, $0.value.1) }.sorted { $0.seconds > $1.seconds }
  }

  /// Every device of every platform, in platform order.
  public static func all() throws -> [DeviceInfo] {
    try handles().map(\.info)
  }

  /// The device `PHOTON_DEVICE` names, else the first GPU, else the first device.
  public static func select(
    _ selector: String? = ProcessInfo.processInfo.environment["PHOTON_DEVICE"],
    profiling: Bool = false
  ) throws -> OpenCLDevice {
    let candidates = try handles()
    let chosen: (info: DeviceInfo, device: cl_device_id, platform: cl_platform_id)?
    if let selector, !selector.isEmpty {
      if let index = Int(selector) {
        chosen = candidates.first { $0.info.index == index }
      } else {
        let needle = selector.lowercased()
        chosen = candidates.first {
          $0.info.name.lowercased().contains(needle) || $0.info.platformName.lowercased().contains(needle)
        }
      }
      guard let chosen else {
        let list = candidates.map { "  \($0.info.index): \($0.info.name) [\($0.info.platformName)]" }
        throw PhotonError(
          .deviceNotFound,
          "no OpenCL device matches PHOTON_DEVICE=\"\(selector)\"; devices:\n\(list.joined(separator: "\n"))")
      }
      return try OpenCLDevice(chosen.info, chosen.device, profiling: profiling)
    }
    chosen = candidates.first { $0.info.isGPU } ?? candidates.first
    guard let chosen else {
      throw PhotonError(.deviceNotFound, "OpenCL platforms report no devices")
    }
    return try OpenCLDevice(chosen.info, chosen.device, profiling: profiling)
  }

  private init(_ info: DeviceInfo, _ id: cl_device_id, profiling: Bool) throws {
    self.info = info
    self.id = id
    self.profiling = profiling
    var status: cl_int = 0
    var device: cl_device_id? = id
    guard let context = clCreateContext(nil, 1, &device, nil, nil, &status), status == CL_SUCCESS
    else {
      try check(status, "clCreateContext", info.name)
      throw PhotonError(.openCL, "clCreateContext returned no context for \(info.name)")
    }
    self.context = context
    let properties = profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
    guard let queue = clCreateCommandQueue(context, id, properties, &status), status == CL_SUCCESS
    else {
      clReleaseContext(context)
      try check(status, "clCreateCommandQueue", info.name)
      throw PhotonError(.openCL, "clCreateCommandQueue returned no queue for \(info.name)")
    }
    self.queue = queue
  }

  deinit {
    clFinish(queue)
    releaseCompletedUploads()
    for (_, event) in profiledLaunches { clReleaseEvent(event) }
    clReleaseCommandQueue(queue)
    clReleaseContext(context)
  }

  /// Waits until every enqueued command has finished.
  public func finish() throws {
    try lock.withLock {
      countersStorage.blockingWaits += 1
      try check(clFinish(queue), "clFinish")
      releaseCompletedUploads()
    }
  }

  /// Frees upload staging copies; call with `lock` held, right after a blocking read or finish
  /// (the queue is in order, so every earlier write has completed).
  func releaseCompletedUploads() {
    for pointer in pendingUploads { pointer.deallocate() }
    pendingUploads.removeAll()
  }

  /// Serialises enumeration: PoCL reports no devices to a thread that asks while another thread's
  /// first call is still initialising it.
  private static let enumerationLock = NSLock()

  private static func handles() throws -> [(
    info: DeviceInfo, device: cl_device_id, platform: cl_platform_id
  )] {
    try enumerationLock.withLock { try enumerate() }
  }

  private static func enumerate() throws -> [(
    info: DeviceInfo, device: cl_device_id, platform: cl_platform_id
  )] {
    var platformCount: cl_uint = 0
    let status = clGetPlatformIDs(0, nil, &platformCount)
    if status == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || platformCount == 0 {
      throw PhotonError(
        .deviceNotFound,
        "no OpenCL platform found (install an ICD such as pocl-opencl-icd, or check OCL_ICD_VENDORS)")
    }
    try check(status, "clGetPlatformIDs")
    var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
    try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

    var result: [(info: DeviceInfo, device: cl_device_id, platform: cl_platform_id)] = []
    for case let platform? in platforms {
      var deviceCount: cl_uint = 0
      let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
      if status == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
      try check(status, "clGetDeviceIDs")
      var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
      try check(
        clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil),
        "clGetDeviceIDs")
      for case let device? in devices {
        let info = try DeviceInfo(index: result.count, device: device, platform: platform)
        result.append((info, device, platform))
      }
    }
    if result.isEmpty {
      throw PhotonError(.deviceNotFound, "OpenCL platforms report no devices")
    }
    return result
  }
}
