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
    clReleaseCommandQueue(queue)
    clReleaseContext(context)
  }

  /// Waits until every enqueued command has finished.
  public func finish() throws {
    try check(clFinish(queue), "clFinish")
  }

  private static func handles() throws -> [(
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
