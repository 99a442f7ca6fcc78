import COpenCL
import Foundation
import PhotonCore

/// What an OpenCL device says about itself.
public struct DeviceInfo: Sendable, Codable, Equatable {
  /// Position in ``OpenCLDevice/all()``: platforms in order, their devices in order.
  public var index: Int
  public var name: String
  public var vendor: String
  public var platformName: String
  public var platformVersion: String
  public var driverVersion: String
  public var deviceVersion: String
  public var openCLCVersion: String
  public var isGPU: Bool
  public var isCPU: Bool
  public var computeUnits: Int
  public var globalMemoryBytes: Int
  public var maxAllocationBytes: Int
  public var localMemoryBytes: Int
  public var maxWorkGroupSize: Int
  /// Required alignment of a sub-buffer's origin, in bytes.
  public var baseAddressAlignmentBytes: Int
  public var extensions: [String]

  public var supportsFP16: Bool { extensions.contains("cl_khr_fp16") }
  public var supportsFP64: Bool { extensions.contains("cl_khr_fp64") }
  public var supportsSubgroups: Bool {
    extensions.contains("cl_khr_subgroups") || extensions.contains("cl_intel_subgroups")
  }
}

extension DeviceInfo {
  init(index: Int, device: cl_device_id, platform: cl_platform_id) throws {
    func deviceString(_ parameter: Int32) throws -> String {
      try infoString { size, value, sizeOut in
        clGetDeviceInfo(device, cl_device_info(parameter), size, value, sizeOut)
      }
    }
    func platformString(_ parameter: Int32) throws -> String {
      try infoString { size, value, sizeOut in
        clGetPlatformInfo(platform, cl_platform_info(parameter), size, value, sizeOut)
      }
    }
    func deviceValue<T: FixedWidthInteger>(_ parameter: Int32, as: T.Type) throws -> Int {
      var value: T = 0
      try check(
        clGetDeviceInfo(device, cl_device_info(parameter), MemoryLayout<T>.size, &value, nil),
        "clGetDeviceInfo")
      return Int(value)
    }
    var type: cl_device_type = 0
    try check(
      clGetDeviceInfo(device, cl_device_info(CL_DEVICE_TYPE), MemoryLayout.size(ofValue: type), &type, nil),
      "clGetDeviceInfo")
    self.init(
      index: index,
      name: try deviceString(CL_DEVICE_NAME),
      vendor: try deviceString(CL_DEVICE_VENDOR),
      platformName: try platformString(CL_PLATFORM_NAME),
      platformVersion: try platformString(CL_PLATFORM_VERSION),
      driverVersion: try deviceString(CL_DRIVER_VERSION),
      deviceVersion: try deviceString(CL_DEVICE_VERSION),
      openCLCVersion: try deviceString(CL_DEVICE_OPENCL_C_VERSION),
      isGPU: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0,
      isCPU: type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0,
      computeUnits: try deviceValue(CL_DEVICE_MAX_COMPUTE_UNITS, as: cl_uint.self),
      globalMemoryBytes: try deviceValue(CL_DEVICE_GLOBAL_MEM_SIZE, as: cl_ulong.self),
      maxAllocationBytes: try deviceValue(CL_DEVICE_MAX_MEM_ALLOC_SIZE, as: cl_ulong.self),
      localMemoryBytes: try deviceValue(CL_DEVICE_LOCAL_MEM_SIZE, as: cl_ulong.self),
      maxWorkGroupSize: try deviceValue(CL_DEVICE_MAX_WORK_GROUP_SIZE, as: Int.self),
      baseAddressAlignmentBytes: try deviceValue(CL_DEVICE_MEM_BASE_ADDR_ALIGN, as: cl_uint.self) / 8,
      extensions: try deviceString(CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init))
  }
}

/// Reads a string-valued OpenCL info parameter with the usual size-then-value calls.
func infoString(
  _ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int
) throws -> String {
  var size = 0
  try check(query(0, nil, &size), "clGet*Info")
  var bytes = [UInt8](repeating: 0, count: max(size, 1))
  try check(query(size, &bytes, nil), "clGet*Info")
  return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    .trimmingCharacters(in: .whitespaces)
}
