import COpenCL
import PhotonCore

/// One argument of a kernel launch.
enum KernelArgument {
  case buffer(DeviceBuffer?)
  case int(Int)
  case float(Float)
}

/// A kernel ready to launch. Not shared across threads: launches hold the device lock, because
/// `clSetKernelArg` mutates the kernel object.
final class Kernel: @unchecked Sendable {
  let handle: cl_kernel
  let name: String
  private let program: Program  // keeps the program alive

  init(handle: cl_kernel, name: String, program: Program) {
    self.handle = handle
    self.name = name
    self.program = program
  }

  deinit { clReleaseKernel(handle) }

  /// Sets the arguments and enqueues the kernel; returns without waiting.
  /// `global` is rounded up to a multiple of `local` (OpenCL 1.2 has no partial work-groups).
  func launch(
    on device: OpenCLDevice, _ arguments: [KernelArgument], global: [Int], local: [Int]?
  ) throws {
    try device.lock.withLock {
      for (index, argument) in arguments.enumerated() {
        let status: cl_int
        switch argument {
        case .buffer(let buffer?):
          var mem: cl_mem? = buffer.mem
          status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem?>.size, &mem)
        case .buffer(nil):
          status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem?>.size, nil)
        case .int(let value):
          var v = cl_int(truncatingIfNeeded: value)
          status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_int>.size, &v)
        case .float(let value):
          var v = value
          status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<Float>.size, &v)
        }
        try check(status, "clSetKernelArg", "\(name) argument \(index)")
      }
      var globalSize = global
      if let local {
        for i in globalSize.indices { globalSize[i] = (global[i] + local[i] - 1) / local[i] * local[i] }
      }
      guard globalSize.allSatisfy({ $0 > 0 }) else { return }  // nothing to do
      var event: cl_event? = nil
      let status = withUnsafeMutablePointer(to: &event) { eventOut -> cl_int in
        let out = device.profiling ? eventOut : nil
        if var localSize = local {
          return clEnqueueNDRangeKernel(
            device.queue, handle, cl_uint(globalSize.count), nil, &globalSize, &localSize, 0, nil, out)
        }
        return clEnqueueNDRangeKernel(
          device.queue, handle, cl_uint(globalSize.count), nil, &globalSize, nil, 0, nil, out)
      }
      device.countersStorage.kernelLaunches += 1
      if let event { device.profiledLaunches.append((name, event)) }
      try check(status, "clEnqueueNDRangeKernel", "\(name), global \(globalSize), local \(local ?? [])")
    }
  }
}
