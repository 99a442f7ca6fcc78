import Dispatch
import Foundation
import PhotonCPU
import PhotonCore
import PhotonOpenCL

/// One backend — an OpenCL device with its context, queue, buffer pool and program cache, or the
/// CPU reference — and the serial executor on which all of its work runs.
///
/// Pipelines made with the same engine share its device memory and compiled programs, and their
/// device work is serialised on the engine's own dispatch queue, never on Swift's cooperative
/// thread pool. Many tasks may call one engine at once: each call runs whole, in turn, and gets
/// its own result.
///
/// ```swift
/// let engine = try Engine(backend: .gpu)
/// let embedder = try SentenceEmbedder(model: miniLM, engine: engine)
/// let generator = try TextGenerator(model: gpt2, engine: engine)
/// async let vectors = embedder.embed(["A man is eating food."])
/// async let text = generator.generate(prompt: "Hello", options: .init(maxNewTokens: 20))
/// print(try await vectors, try await text)
/// ```
public final class Engine: Sendable {
  /// `.gpu` (OpenCL) or `.cpu` (the reference).
  public let kind: BackendKind
  /// The backend every pipeline of this engine computes with; used only on `queue`.
  let backend: any Backend
  /// The executor: a serial queue of its own (Dispatch threads, not the cooperative pool).
  private let queue: DispatchQueue
  /// Set on `queue` only, so a nested call made from the executor runs inline instead of waiting
  /// for itself.
  private let onQueue = DispatchSpecificKey<Bool>()

  /// Opens a backend of kind `backend` (for `.gpu`, the OpenCL device `PHOTON_DEVICE` names, else
  /// the first one) and starts its executor.
  ///
  /// - Parameter backend: `.gpu` or `.cpu`; by default `.gpu` when an OpenCL device exists.
  /// - Throws: `PhotonError` when no OpenCL device can be opened for `.gpu`.
  public init(backend: BackendKind = .preferred) throws {
    kind = backend
    self.backend = try backend.makeBackend()
    queue = DispatchQueue(label: "photon.engine.\(backend.rawValue)", qos: .userInitiated)
    queue.setSpecific(key: onQueue, value: true)
  }

  /// The name of the device (or of the CPU reference) the engine runs on.
  public var deviceName: String { backend.deviceName }

  /// Whether the caller runs on this engine's executor.
  var isOnExecutor: Bool { DispatchQueue.getSpecific(key: onQueue) == true }

  /// Runs `body` on the executor and waits for it: the synchronous pipelines' path. Called from
  /// the executor itself (a nested call), it runs `body` inline.
  func run<T>(_ body: () throws -> T) throws -> T {
    if isOnExecutor { return try body() }
    return try queue.sync(execute: body)
  }

  /// Runs `body` on the executor; the calling task suspends (it holds no thread) until it is done.
  func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result(catching: body)) }
    }
  }

  /// Queues `body` on the executor and returns at once.
  func submit(_ body: @escaping @Sendable () -> Void) {
    queue.async(execute: body)
  }
}

extension BackendKind {
  /// `.gpu` when an OpenCL device can be opened, else `.cpu`.
  public static var preferred: BackendKind {
    ((try? OpenCLDevice.all())?.isEmpty == false) ? .gpu : .cpu
  }

  /// A backend of this kind (for `.gpu`, on the device `PHOTON_DEVICE` names). Pipelines get
  /// theirs from an ``Engine``; the tools build their own.
  package func makeBackend() throws -> any Backend {
    switch self {
    case .cpu: CPUBackend()
    case .gpu: try OpenCLBackend()
    }
  }
}
