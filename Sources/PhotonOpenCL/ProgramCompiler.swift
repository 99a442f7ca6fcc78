import COpenCL
import Foundation
import PhotonCore

/// Builds OpenCL programs for one device and caches their binaries on disk, so a second process
/// start loads in milliseconds instead of compiling for seconds.
///
/// Cache entries live in `$PHOTON_CACHE_DIR`, else `$XDG_CACHE_HOME/photon`, else
/// `~/.cache/photon`, under `programs/`. An entry's key is its device name, vendor, driver and
/// platform versions, build options and a hash of the full source; the key text is stored inside
/// the entry and compared on load, so a stale or corrupt entry is rebuilt from source, never
/// trusted. Writes are atomic (temporary file, then rename).
public final class ProgramCompiler: @unchecked Sendable {
  let device: OpenCLDevice
  public let cacheDirectory: URL?
  private let lock = NSLock()
  private var built: [String: Program] = [:]
  /// How many programs came from the disk cache and how many were compiled from source.
  public private(set) var cacheHits = 0
  public private(set) var sourceBuilds = 0

  init(device: OpenCLDevice, cacheDirectory: URL?) {
    self.device = device
    self.cacheDirectory = cacheDirectory
  }

  /// The default cache root: `$PHOTON_CACHE_DIR`, `$XDG_CACHE_HOME/photon` or `~/.cache/photon`.
  public static var defaultCacheDirectory: URL {
    let environment = ProcessInfo.processInfo.environment
    if let path = environment["PHOTON_CACHE_DIR"], !path.isEmpty {
      return URL(fileURLWithPath: path)
    }
    if let path = environment["XDG_CACHE_HOME"], !path.isEmpty {
      return URL(fileURLWithPath: path).appendingPathComponent("photon")
    }
    return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/photon")
  }

  /// The program for `source` built with `options`; `name` is for messages.
  public func program(name: String, source: String, options: String) throws -> Program {
    let key = cacheKey(source: source, options: options)
    if let program = lock.withLock({ built[key] }) { return program }
    let program: Program
    if let cached = loadCached(name: name, key: key, options: options) {
      program = cached
      lock.withLock { cacheHits += 1 }
    } else {
      program = try buildFromSource(name: name, source: source, options: options)
      lock.withLock { sourceBuilds += 1 }
      store(program, key: key)
    }
    lock.withLock { built[key] = program }
    return program
  }

  func cacheKey(source: String, options: String) -> String {
    let info = device.info
    return [
      "photon-program v1", "device: \(info.name)", "vendor: \(info.vendor)",
      "driver: \(info.driverVersion)", "platform: \(info.platformName) \(info.platformVersion)",
      "options: \(options)", "source: \(fnv1a64(source)) \(source.utf8.count)",
    ].joined(separator: "\n")
  }

  /// Where the entry for `key` lives.
  func entryURL(key: String) -> URL? {
    cacheDirectory?.appendingPathComponent("programs")
      .appendingPathComponent(String(format: "%016llx.bin", fnv1a64(key)))
  }

  private func buildFromSource(name: String, source: String, options: String) throws -> Program {
    var status: cl_int = 0
    let handle: cl_program? = source.withCString { pointer in
      var strings: UnsafePointer<CChar>? = pointer
      return clCreateProgramWithSource(device.context, 1, &strings, nil, &status)
    }
    guard let handle, status == CL_SUCCESS else {
      try check(status, "clCreateProgramWithSource", name)
      throw PhotonError(.openCL, "clCreateProgramWithSource returned nothing for \(name)")
    }
    let log = try build(handle, name: name, options: options)
    return Program(handle: handle, name: name, buildLog: log)
  }

  /// One build at a time in the process: PoCL and Oclgrind crash when programs are built from
  /// several threads at once (seen with a failing build racing a good one). CLBlast compiles its
  /// kernels inside its first call, so its calls take this lock too.
  static let buildLock = NSLock()

  /// Builds `handle`; returns the compiler's messages (the build log), which stay here and in the
  /// cache directory (``Program/buildLog``, `programs/*.log`) rather than on the terminal.
  @discardableResult
  private func build(_ handle: cl_program, name: String, options: String) throws -> String {
    var id: cl_device_id? = device.id
    let status = Self.buildLock.withLock { clBuildProgram(handle, 1, &id, options, nil, nil) }
    let log =
      ((try? infoString { size, value, sizeOut in
        clGetProgramBuildInfo(handle, self.device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, value, sizeOut)
      }) ?? "").trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\0")))
    guard status == CL_SUCCESS else {
      clReleaseProgram(handle)
      let failure = OpenCLFailure(call: "clBuildProgram", status: status, buildLog: log)
      let firstLines = log.split(separator: "\n").prefix(8).joined(separator: "\n")
      throw PhotonError(
        .kernelBuildFailed,
        "building \(name) for \(device.info.name) with options \"\(options)\" failed: \(failure.name)\n\(firstLines)",
        cause: failure)
    }
    return log
  }

  private func loadCached(name: String, key: String, options: String) -> Program? {
    guard let url = entryURL(key: key), let data = try? Data(contentsOf: url) else { return nil }
    guard let binary = CacheEntry.binary(from: data, key: key) else {
      try? FileManager.default.removeItem(at: url)  // stale or corrupt: rebuild and overwrite
      return nil
    }
    var status: cl_int = 0
    var binaryStatus: cl_int = 0
    var id: cl_device_id? = device.id
    var length = binary.count
    let handle: cl_program? = binary.withUnsafeBytes { raw in
      var pointer: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
      return clCreateProgramWithBinary(device.context, 1, &id, &length, &pointer, &binaryStatus, &status)
    }
    guard let handle, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
      try? FileManager.default.removeItem(at: url)
      return nil
    }
    do {
      try build(handle, name: name, options: options)
    } catch {
      try? FileManager.default.removeItem(at: url)
      return nil
    }
    return Program(handle: handle, name: name)
  }

  private func store(_ program: Program, key: String) {
    guard let url = entryURL(key: key) else { return }
    if !program.buildLog.isEmpty {
      // The compiler's messages for this entry, kept next to it (a cache is optional: no errors).
      try? FileManager.default.createDirectory(
        at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try? Data(
        "\(program.name) \(key.split(separator: "\n").dropFirst().joined(separator: "; "))\n\(program.buildLog)\n".utf8
      )
      .write(to: url.deletingPathExtension().appendingPathExtension("log"), options: .atomic)
    }
    var size = 0
    guard
      clGetProgramInfo(program.handle, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil)
        == CL_SUCCESS, size > 0
    else { return }
    var binary = [UInt8](repeating: 0, count: size)
    let status = binary.withUnsafeMutableBufferPointer { buffer -> cl_int in
      var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
      return clGetProgramInfo(
        program.handle, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
        &pointer, nil)
    }
    guard status == CL_SUCCESS else { return }
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      try CacheEntry.encode(key: key, binary: binary).write(to: temporary)
      if rename(temporary.path, url.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
    } catch {
      try? FileManager.default.removeItem(at: temporary)  // a cache is optional; never fail a build
    }
  }
}

/// The on-disk entry: magic, key length, key text, binary length, binary checksum, binary.
///
/// The checksum matters: drivers trust what they are handed, and PoCL aborts the process on a
/// truncated binary instead of returning `CL_INVALID_BINARY`.
enum CacheEntry {
  static let magic = Array("PHOTONCL2\n".utf8)

  static func encode(key: String, binary: [UInt8]) -> Data {
    var data = Data(magic)
    let keyBytes = Array(key.utf8)
    for field in [UInt64(keyBytes.count)] { withUnsafeBytes(of: field.littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: keyBytes)
    for field in [UInt64(binary.count), fnv1a64(binary)] {
      withUnsafeBytes(of: field.littleEndian) { data.append(contentsOf: $0) }
    }
    data.append(contentsOf: binary)
    return data
  }

  /// The binary, if `data` is a complete, intact entry for exactly `key`.
  static func binary(from data: Data, key: String) -> [UInt8]? {
    let bytes = [UInt8](data)
    var cursor = 0
    func take(_ count: Int) -> ArraySlice<UInt8>? {
      guard count >= 0, count <= bytes.count - cursor else { return nil }
      defer { cursor += count }
      return bytes[cursor..<(cursor + count)]
    }
    func word() -> UInt64? {
      guard let slice = take(8) else { return nil }
      return slice.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    guard take(magic.count).map(Array.init) == magic,
      let keyLength = word(), keyLength <= UInt64(bytes.count),
      take(Int(keyLength)).map(Array.init) == Array(key.utf8),
      let binaryLength = word(), let checksum = word(), binaryLength == UInt64(bytes.count - cursor),
      let binary = take(Int(binaryLength)).map(Array.init), fnv1a64(binary) == checksum
    else { return nil }
    return binary
  }
}

/// A built program; kernels are created from it by name.
public final class Program: @unchecked Sendable {
  let handle: cl_program
  public let name: String
  /// The device compiler's messages (warnings) from building it from source; empty when it came
  /// from the disk cache or the compiler had nothing to say.
  public let buildLog: String

  init(handle: cl_program, name: String, buildLog: String = "") {
    self.handle = handle
    self.name = name
    self.buildLog = buildLog
  }

  deinit { clReleaseProgram(handle) }

  func kernel(_ kernelName: String) throws -> Kernel {
    var status: cl_int = 0
    guard let kernel = clCreateKernel(handle, kernelName, &status), status == CL_SUCCESS else {
      try check(status, "clCreateKernel", "\(kernelName) in \(name)")
      throw PhotonError(.openCL, "clCreateKernel returned nothing for \(kernelName)")
    }
    return Kernel(handle: kernel, name: kernelName, program: self)
  }
}
