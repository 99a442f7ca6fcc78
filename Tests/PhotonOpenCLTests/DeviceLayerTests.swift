import COpenCL
import Foundation
import PhotonCPU
import PhotonCore
import PhotonTestSupport
import PhotonKernels
import Testing

@testable import PhotonOpenCL

@Suite("OpenCL device layer: selection, program cache, buffers and typed errors")
struct DeviceLayerTests {
  @Test func enumeratesDevicesWithProperties() throws {
    let devices = try OpenCLDevice.all()
    #expect(!devices.isEmpty)
    for device in devices {
      #expect(!device.name.isEmpty)
      #expect(device.computeUnits > 0)
      #expect(device.globalMemoryBytes > 0)
      #expect(device.maxWorkGroupSize > 0)
      #expect(device.openCLCVersion.hasPrefix("OpenCL C"))
    }
  }

  @Test func selectsByIndexAndByName() throws {
    let first = try #require(try OpenCLDevice.all().first)
    #expect(try OpenCLDevice.select("0").info == first)
    let fragment = String(first.name.prefix(6)).uppercased()
    #expect(try OpenCLDevice.select(fragment).info.name.uppercased().contains(fragment))
  }

  @Test func unknownDeviceIsATypedErrorListingTheDevices() throws {
    let error = try #require(throws: PhotonError.self) { try OpenCLDevice.select("no-such-device-42") }
    #expect(error.code == .deviceNotFound)
    #expect(error.message.contains("no-such-device-42"))
    #expect(error.message.contains(try OpenCLDevice.all()[0].name))
  }

  @Test func kernelBuildFailureCarriesTheBuildLog() throws {
    let backend = try TestBackends.gpu()
    let error = try #require(throws: PhotonError.self) {
      try backend.compiler.program(
        name: "broken.cl", source: "__kernel void broken(__global float* x) { x[0] = undeclared_name; }",
        options: "-cl-std=CL1.2")
    }
    #expect(error.code == .kernelBuildFailed)
    let failure = try #require(error.cause as? OpenCLFailure)
    #expect(failure.name == "CL_BUILD_PROGRAM_FAILURE")
    #expect(failure.buildLog?.contains("undeclared_name") == true)
    #expect(error.message.contains("broken.cl"))
  }

  /// A successful build's warnings stay in the program's build log (and a log file beside its
  /// cache entry), not on the user's terminal.
  @Test(
    .disabled(
      if: ProcessInfo.processInfo.environment["PHOTON_DEVICE"] == "rusticl",
      "Mesa's rusticl hands back an empty build log for a program that built: no warning reaches it to look for"
    ))
  func compilerMessagesGoToTheBuildLog() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("photon-log-test-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: directory) }
    let device = try OpenCLDevice.select()
    let compiler = ProgramCompiler(device: device, cacheDirectory: directory)
    let warned = try compiler.program(
      name: "warned.cl",
      source: "#warning \"photon-test-warning\"\n__kernel void k(__global float* x) { x[0] = 1.0f; }",
      options: "-cl-std=CL1.2")
    #expect(warned.buildLog.contains("photon-test-warning"), "build log: \(warned.buildLog)")
    let logs = try FileManager.default.contentsOfDirectory(
      at: directory.appendingPathComponent("programs"), includingPropertiesForKeys: nil
    ).filter { $0.pathExtension == "log" }
    #expect(try logs.contains { try String(contentsOf: $0, encoding: .utf8).contains("photon-test-warning") })
  }

  /// Every kernel file of Photon builds without warnings, at the defines it runs with.
  @Test func kernelsBuildWithoutWarnings() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("photon-warnings-test-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: directory) }
    let compiler = ProgramCompiler(device: try OpenCLDevice.select(), cacheDirectory: directory)
    let backend = try TestBackends.gpu()
    let builds: [(String, String, String)] = [
      ("attention.cl", KernelSource.attention, backend.attentionDefines(headSize: 32, group: 16)),
      ("attention.cl", KernelSource.attention, ""),
      ("elementwise.cl", KernelSource.elementwise, "-DROW_WG=64"),
      ("embedding.cl", KernelSource.embedding, backend.normDefines),
      ("norm.cl", KernelSource.norm, backend.normDefines),
      ("gemm.cl", KernelSource.gemm, "-DGEMM_ROWS=6 -DGEMM_PANEL_VECS=2 -DGEMM_K_UNROLL=4"),
      ("gemm_quant.cl", KernelSource.gemmQuant, "-DGEMM_ROWS=6 -DGEMM_PANEL_VECS=1 -DGEMM_K_UNROLL=4"),
    ]
    for (file, source, defines) in builds {
      let program = try compiler.program(
        name: file, source: KernelSource.common + "\n" + source, options: "-cl-std=CL1.2 \(defines)")
      #expect(!program.buildLog.lowercased().contains("warning"), "\(file) \(defines): \(program.buildLog)")
    }
  }

  @Test func programBinariesAreCachedAndCorruptEntriesRebuilt() throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("photon-cache-test-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: directory) }
    let device = try OpenCLDevice.select()
    let source = "__kernel void add_one(__global float* x) { x[get_global_id(0)] += 1.0f; }"

    let first = ProgramCompiler(device: device, cacheDirectory: directory)
    _ = try first.program(name: "add_one", source: source, options: "")
    #expect(first.sourceBuilds == 1 && first.cacheHits == 0)
    let entry = try #require(first.entryURL(key: first.cacheKey(source: source, options: "")))
    #expect(FileManager.default.fileExists(atPath: entry.path))

    // A second compiler (a new process, in effect) loads the binary instead of compiling.
    let second = ProgramCompiler(device: device, cacheDirectory: directory)
    let program = try second.program(name: "add_one", source: source, options: "")
    #expect(second.cacheHits == 1 && second.sourceBuilds == 0)
    _ = try program.kernel("add_one")

    // Corrupt entries — garbage, a truncated file, a flipped byte in the binary, and an entry
    // written for another key — are rebuilt from source, never trusted and never a crash.
    let valid = try Data(contentsOf: entry)
    let stale = CacheEntry.encode(key: "another device", binary: Array(valid.suffix(100)))
    var flipped = valid
    flipped[flipped.count - 10] ^= 0xFF
    for corrupt in [Data("garbage".utf8), valid.prefix(valid.count / 2), flipped, stale] {
      try corrupt.write(to: entry)
      let third = ProgramCompiler(device: device, cacheDirectory: directory)
      _ = try third.program(name: "add_one", source: source, options: "").kernel("add_one")
      #expect(third.sourceBuilds == 1 && third.cacheHits == 0)
      #expect(try Data(contentsOf: entry) != corrupt)  // rewritten
    }
  }

  @Test func cacheKeyCoversSourceOptionsAndDevice() throws {
    let compiler = try TestBackends.gpu().compiler
    let key = compiler.cacheKey(source: "a", options: "-DX=1")
    #expect(key != compiler.cacheKey(source: "b", options: "-DX=1"))
    #expect(key != compiler.cacheKey(source: "a", options: "-DX=2"))
    let info = compiler.device.info
    #expect(key.contains(info.name) && key.contains(info.driverVersion) && key.contains(info.platformVersion))
  }

  @Test func buffersOfRepeatedShapesAreReused() throws {
    let backend = try OpenCLBackend(device: OpenCLDevice.select())
    for _ in 0..<5 {
      let x = try backend.tensor([Float](repeating: 1, count: 1000), shape: [10, 100])
      _ = try backend.softmax(x)
    }
    // One buffer for the input and one for the output, reused on every round.
    #expect(backend.pool.allocations == 2)
  }

  @Test func allocationLargerThanTheDeviceAllowsIsOutOfMemory() throws {
    let backend = try TestBackends.gpu()
    let limit = backend.device.info.maxAllocationBytes
    let error = try #require(throws: PhotonError.self) {
      try backend.allocate([limit / 4 + 1024], for: "a test tensor")
    }
    #expect(error.code == .outOfMemory)
    #expect(error.message.contains("\(limit)") && error.message.contains("a test tensor"))
    // The backend still works afterwards.
    #expect(try backend.floats(backend.unary(.tanh, backend.tensor([0], shape: [1]))) == [0])
  }

  @Test func shapeMismatchesAreTypedErrorsOnBothBackends() throws {
    for backend: any Backend in [try TestBackends.gpu(), TestBackends.cpu] {
      let x = try backend.tensor([Float](repeating: 0, count: 6), shape: [2, 3])
      let weight = try backend.linearWeight([Float](repeating: 0, count: 8), outFeatures: 2, inFeatures: 4)
      let linear = try #require(throws: PhotonError.self) {
        try backend.linear(x, weight, bias: nil, activation: .identity)
      }
      #expect(linear.code == .shapeMismatch && linear.message.contains("[2, 3]"))
      let badBias = try backend.tensor([0, 0, 0], shape: [3])
      let wide = try backend.linearWeight([Float](repeating: 0, count: 12), outFeatures: 4, inFeatures: 3)
      let bias = try #require(throws: PhotonError.self) {
        try backend.linear(x, wide, bias: badBias, activation: .gelu)
      }
      #expect(bias.message.contains("bias [3]"))
      let values = try #require(throws: PhotonError.self) { try backend.tensor([1, 2, 3], shape: [2, 2]) }
      #expect(values.code == .shapeMismatch)
      let mask = try backend.tensor(ints: [1, 1], shape: [1, 2])
      let qkv = try backend.tensor([Float](repeating: 0, count: 3 * 9), shape: [1, 3, 9])
      let attention = try #require(throws: PhotonError.self) {
        try backend.attention(AttentionCall(.packed(qkv), heads: 3, scale: 1, mask: mask))
      }
      #expect(attention.code == .shapeMismatch && attention.message.contains("mask"))
      let heads = try #require(throws: PhotonError.self) {
        try backend.attention(AttentionCall(.packed(qkv), heads: 2, scale: 1))
      }
      #expect(heads.message.contains("not divisible"))
      let norm = try #require(throws: PhotonError.self) {
        try backend.normalize(
          x, residual: nil, .layer(weight: badBias, bias: try backend.tensor([0, 0], shape: [2]), eps: 1e-5))
      }
      #expect(norm.code == .shapeMismatch)
      let pooled = try #require(throws: PhotonError.self) {
        try backend.pool(x, mask: mask, mode: .mean)
      }
      #expect(pooled.code == .shapeMismatch)
    }
  }

  @Test func tensorsFromAnotherBackendAreRejected() throws {
    let gpu = try TestBackends.gpu()
    let cpuTensor = try TestBackends.cpu.tensor([1, 2], shape: [2])
    let gpuTensor = try gpu.tensor([1, 2], shape: [2])
    #expect(throws: PhotonError.self) { try gpu.unary(.tanh, cpuTensor) }
    #expect(throws: PhotonError.self) { try TestBackends.cpu.unary(.tanh, gpuTensor) }
    let other = try OpenCLBackend(device: OpenCLDevice.select())
    let error = try #require(throws: PhotonError.self) { try other.unary(.tanh, gpuTensor) }
    #expect(error.code == .wrongBackend)
  }

  @Test func invalidVariantInTheEnvironmentIsNamed() throws {
    let error = try #require(throws: PhotonError.self) {
      try OpenCLBackend.parse("fastest", as: OpenCLBackend.GEMMVariant.self, variable: "PHOTON_GEMM")
    }
    #expect(error.message.contains("PHOTON_GEMM=fastest") && error.message.contains("packed-rows"))
  }

  @Test func statusCodesHaveNames() {
    #expect(OpenCLFailure.statusName(-11) == "CL_BUILD_PROGRAM_FAILURE")
    #expect(OpenCLFailure.statusName(-4) == "CL_MEM_OBJECT_ALLOCATION_FAILURE")
    #expect(OpenCLFailure.statusName(-54) == "CL_INVALID_WORK_GROUP_SIZE")
    #expect(OpenCLFailure(call: "clFinish", status: -36).description.contains("CL_INVALID_COMMAND_QUEUE"))
  }
}
