import COpenCL
import Foundation
import PhotonCore
import PhotonKernels

/// The OpenCL backend: every op is a kernel enqueued on the device's in-order queue; tensors stay
/// in device memory until ``floats(_:)`` or ``ints(_:)`` reads them back.
///
/// Kernel variants are picked per device (CPU-like devices such as PoCL get the vectorised,
/// register-blocked family; GPUs the local-memory tiled one) and can be forced through
/// ``Options`` or the environment (`PHOTON_GEMM`, `PHOTON_ATTENTION`, `PHOTON_NORM`).
public final class OpenCLBackend: Backend, @unchecked Sendable {
  /// GEMM implementations for ``linear(_:_:bias:activation:)``.
  public enum GEMMVariant: String, CaseIterable, Sendable, Codable {
    /// `gemm_packed_rows_x32`: float16 register blocks, no local memory (CPU-like devices).
    case packedRows = "packed-rows"
    /// `gemm_tiled_local`: 32×32 tiles staged in local memory by 8×8 work-groups (GPUs).
    case tiledLocal = "tiled-local"
    /// CLBlast's SGEMM followed by our bias/activation epilogue.
    case clblast
    /// `gemm_panel_rows`: like `packedRows`, with the weight packed into contiguous column panels
    /// and a vectorised epilogue; block shape and work-group chosen per device and M (CPU-like).
    case panelRows = "panel-rows"
  }

  /// Fused attention implementations.
  public enum AttentionVariant: String, CaseIterable, Sendable, Codable {
    /// `attention_rowwise`: one work-item per query row, keys streamed from global memory.
    case rowwise
    /// `attention_tiled`: keys and values staged in local memory per work-group.
    case tiled
    /// `attention_keys_x16`: 16 keys at a time as float16 vectors from a transposed local copy
    /// (CPU-like devices; needs a head size that is a multiple of 16, else runs `rowwise`).
    case keysVectorized = "keys-x16"
  }

  /// Layer-norm implementations (see norm.cl).
  public enum NormVariant: String, CaseIterable, Sendable, Codable {
    /// `layer_norm`: one work-group per row, reducing through local memory (GPUs).
    case group
    /// `layer_norm_rows`: one work-item per row, float16 loads, no barriers (CPU-like devices).
    case rows
  }

  public struct Options: Sendable {
    /// nil: chosen for the device (or by `PHOTON_GEMM`).
    public var gemm: GEMMVariant?
    /// nil: chosen for the device (or by `PHOTON_ATTENTION`).
    public var attention: AttentionVariant?
    /// nil: chosen for the device (or by `PHOTON_NORM`).
    public var norm: NormVariant?
    /// Where program binaries are cached; nil disables the disk cache.
    public var cacheDirectory: URL?
    /// The most device memory, in bytes, the backend allocates (weights, activations, caches).
    /// nil: `PHOTON_MEMORY_BUDGET` (bytes, or with a K, M or G suffix), else
    /// ``BufferPool/defaultBudgetFraction`` of the device's global memory.
    public var memoryBudget: Int?
    /// nil: `PHOTON_MEMORY_BUCKETS` (`sized` or `exact`), else ``BufferPool/BucketPolicy/sized``.
    public var memoryBuckets: BufferPool.BucketPolicy?

    public init(
      gemm: GEMMVariant? = nil, attention: AttentionVariant? = nil, norm: NormVariant? = nil,
      cacheDirectory: URL? = ProgramCompiler.defaultCacheDirectory, memoryBudget: Int? = nil,
      memoryBuckets: BufferPool.BucketPolicy? = nil
    ) {
      self.gemm = gemm
      self.attention = attention
      self.norm = norm
      self.cacheDirectory = cacheDirectory
      self.memoryBudget = memoryBudget
      self.memoryBuckets = memoryBuckets
    }
  }

  public let kind = BackendKind.gpu
  public let device: OpenCLDevice
  public let pool: BufferPool
  public let compiler: ProgramCompiler
  public let gemmVariant: GEMMVariant
  public let attentionVariant: AttentionVariant
  public let normVariant: NormVariant
  public var deviceName: String { device.info.name }

  private let kernelLock = NSLock()
  nonisolated(unsafe) private var allocationsAtReset = 0
  private var kernels: [String: Kernel] = [:]

  /// - Parameters:
  ///   - device: nil selects with ``OpenCLDevice/select(_:profiling:)`` (`PHOTON_DEVICE`).
  public init(device: OpenCLDevice? = nil, options: Options = Options()) throws {
    let device = try device ?? OpenCLDevice.select()
    self.device = device
    let environment = ProcessInfo.processInfo.environment
    let budget = try BufferPool.configuredBudget(options.memoryBudget, environment: environment, device: device.info)
    let buckets =
      try options.memoryBuckets
      ?? Self.parse(
        environment["PHOTON_MEMORY_BUCKETS"], as: BufferPool.BucketPolicy.self, variable: "PHOTON_MEMORY_BUCKETS")
    self.pool = BufferPool(context: device.context, info: device.info, budgetBytes: budget, policy: buckets ?? .sized)
    self.compiler = ProgramCompiler(device: device, cacheDirectory: options.cacheDirectory)
    // Forced variants (options, then environment) win; otherwise the tuned choice for this device
    // (measured at first use and kept on disk), else the device type's default.
    let forcedGEMM =
      try options.gemm
      ?? Self.parse(environment["PHOTON_GEMM"], as: GEMMVariant.self, variable: "PHOTON_GEMM")
    let forcedAttention =
      try options.attention
      ?? Self.parse(environment["PHOTON_ATTENTION"], as: AttentionVariant.self, variable: "PHOTON_ATTENTION")
    var tuned: KernelTuner.Choice?
    if forcedGEMM == nil || forcedAttention == nil {
      // Without a cache directory there is nowhere to keep a tuning run: use the defaults.
      tuned =
        KernelTuner.automatic && options.cacheDirectory != nil
        ? try KernelTuner.choice(for: device, in: options.cacheDirectory)
        : KernelTuner.stored(for: device, in: options.cacheDirectory)
    }
    self.gemmVariant = forcedGEMM ?? tuned?.gemm ?? (device.info.isGPU ? .tiledLocal : .panelRows)
    self.attentionVariant = forcedAttention ?? tuned?.attention ?? (device.info.isGPU ? .tiled : .keysVectorized)
    // Not tuned: which one wins follows from the device type (barriers are cheap only on GPUs).
    self.normVariant =
      try options.norm
      ?? Self.parse(environment["PHOTON_NORM"], as: NormVariant.self, variable: "PHOTON_NORM")
      ?? (device.info.isGPU ? .group : .rows)
  }

  static func parse<V: RawRepresentable & CaseIterable>(
    _ text: String?, as: V.Type, variable: String
  ) throws -> V? where V.RawValue == String {
    guard let text, !text.isEmpty else { return nil }
    guard let value = V(rawValue: text) else {
      throw PhotonError(
        .invalidArgument,
        "\(variable)=\(text) is not one of \(V.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
  }

  // MARK: Programs and kernels

  static let buildOptions = "-cl-std=CL1.2"

  /// Kernel `name` from `source` (with `common.cl` in front) built with `defines`.
  func kernel(_ name: String, in source: String, file: String, defines: String = "") throws -> Kernel {
    let options = defines.isEmpty ? Self.buildOptions : "\(Self.buildOptions) \(defines)"
    let key = "\(file)|\(options)|\(name)"
    if let kernel = kernelLock.withLock({ kernels[key] }) { return kernel }
    let program = try compiler.program(
      name: file, source: KernelSource.common + "\n" + source, options: options)
    let kernel = try program.kernel(name)
    kernelLock.withLock { kernels[key] = kernel }
    return kernel
  }

  // MARK: Data movement

  /// Work enqueued on this backend's device, with buffer allocations from this backend's pool.
  public var counters: ExecutionCounters {
    var counters = device.counters
    counters.bufferAllocations = pool.allocations - allocationsAtReset
    return counters
  }

  /// Zeroes ``counters`` (e.g. after warm-up).
  public func resetCounters() {
    device.resetCounters()
    allocationsAtReset = pool.allocations
  }

  func allocate(_ shape: [Int], _ dtype: DType = .float32, for purpose: @autoclosure () -> String)
    throws -> Tensor
  {
    let buffer = try pool.buffer(byteCount: shape.elementCount * dtype.byteSize, for: purpose())
    return Tensor(shape: shape, dtype: dtype, storage: buffer)
  }

  public func tensor(_ values: [Float], shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: values.count, shape: shape)
    let tensor = try allocate(shape, for: "a float tensor \(shape)")
    try write(values, to: try tensor.deviceBuffer(of: self), offset: 0)
    return tensor
  }

  public func tensor(ints values: [Int32], shape: [Int]) throws -> Tensor {
    try ShapeCheck.values(count: values.count, shape: shape)
    let tensor = try allocate(shape, .int32, for: "an int32 tensor \(shape)")
    try write(values, to: try tensor.deviceBuffer(of: self), offset: 0)
    return tensor
  }

  /// Several int32 tensors in one transfer: one pooled buffer, one write, a sub-buffer each (at
  /// offsets aligned as the device requires).
  public func tensors(ints groups: [(values: [Int32], shape: [Int])]) throws -> [Tensor] {
    for group in groups { try ShapeCheck.values(count: group.values.count, shape: group.shape) }
    let alignment = max(device.info.baseAddressAlignmentBytes, 4)
    var offsets: [Int] = []
    var packed: [Int32] = []
    for group in groups {
      offsets.append(packed.count * 4)
      packed += group.values
      let aligned = (packed.count * 4 + alignment - 1) / alignment * alignment
      packed += [Int32](repeating: 0, count: aligned / 4 - packed.count)
    }
    let parent = try pool.buffer(byteCount: packed.count * 4, for: "\(groups.count) packed int32 inputs")
    try write(packed, to: parent, offset: 0)
    return try zip(groups, offsets).map { group, offset in
      Tensor(
        shape: group.shape, dtype: .int32,
        storage: try DeviceBuffer(subBufferOf: parent, offset: offset, byteCount: group.values.count * 4))
    }
  }

  /// Enqueues a non-blocking write from a private copy of `values`, freed at the next point where
  /// the host waits for the queue (every later command sees the data: the queue is in order).
  private func write<T>(_ values: [T], to buffer: DeviceBuffer, offset: Int) throws {
    guard !values.isEmpty else { return }
    let byteCount = values.count * MemoryLayout<T>.stride
    let staging = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    values.withUnsafeBytes { staging.copyMemory(from: $0.baseAddress!, byteCount: byteCount) }
    try device.lock.withLock {
      device.countersStorage.uploads += 1
      device.countersStorage.bytesHostToDevice += byteCount
      let status = clEnqueueWriteBuffer(
        device.queue, buffer.mem, cl_bool(CL_FALSE), offset, byteCount, staging, 0, nil, nil)
      guard status == CL_SUCCESS else {
        staging.deallocate()
        try check(status, "clEnqueueWriteBuffer", "\(byteCount) bytes")
        return
      }
      device.pendingUploads.append(staging)
    }
  }

  private func read<T>(_ tensor: Tensor, as: T.Type, zero: T) throws -> [T] {
    let buffer = try tensor.deviceBuffer(of: self)
    var values = [T](repeating: zero, count: tensor.count)
    guard !values.isEmpty else { return values }
    try device.lock.withLock {
      device.countersStorage.readBacks += 1
      device.countersStorage.bytesDeviceToHost += values.count * MemoryLayout<T>.stride
      device.countersStorage.blockingWaits += 1
      try values.withUnsafeMutableBytes { raw in
        try check(
          clEnqueueReadBuffer(
            device.queue, buffer.mem, cl_bool(CL_TRUE), 0, raw.count, raw.baseAddress, 0, nil, nil),
          "clEnqueueReadBuffer", "\(tensor)")
      }
      device.releaseCompletedUploads()
    }
    return values
  }

  public func floats(_ tensor: Tensor) throws -> [Float] {
    try ShapeCheck.float(tensor, "tensor", op: "floats")
    return try read(tensor, as: Float.self, zero: 0)
  }

  public func ints(_ tensor: Tensor) throws -> [Int32] {
    try ShapeCheck.int(tensor, "tensor", op: "ints")
    return try read(tensor, as: Int32.self, zero: 0)
  }
}

extension Tensor {
  /// The device buffer of a tensor made by `backend`.
  func deviceBuffer(of backend: OpenCLBackend) throws -> DeviceBuffer {
    guard let buffer = storage as? DeviceBuffer, buffer.pool === backend.pool else {
      throw PhotonError(
        .wrongBackend, "\(self) does not live on \(backend.deviceName); create it with this backend")
    }
    return buffer
  }
}

extension OpenCLBackend: ProfilingBackend {
  /// OpenCL profiling events per kernel; empty unless ``device`` was opened with `profiling: true`.
  public func kernelProfile() throws -> [KernelProfile] {
    try device.kernelTimes().map { KernelProfile(name: $0.name, seconds: $0.seconds, launches: $0.launches) }
  }

  public var memoryInUse: Int { pool.inUseBytes }
  public var peakMemoryInUse: Int { pool.peakInUseBytes }
  public func resetPeakMemory() { pool.resetPeak() }
}
