/// The one error type Photon throws.
///
/// `code` says what kind of failure it is (extensible: new codes are new static members, so adding
/// one does not break a client's `switch`); `message` names what was wrong and where (file, tensor,
/// offset, key, shape); `cause` carries the underlying error, e.g. an ``OpenCLFailure`` with its
/// status name and build log.
public struct PhotonError: Error, CustomStringConvertible, @unchecked Sendable {
  /// What kind of failure this is.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { name }

    /// No OpenCL platform, or no device matching the request or `PHOTON_DEVICE`.
    public static let deviceNotFound = Code("deviceNotFound")
    /// An OpenCL call returned an error status (see `cause`).
    public static let openCL = Code("openCL")
    /// A kernel failed to compile; `cause` is an ``OpenCLFailure`` carrying the build log.
    public static let kernelBuildFailed = Code("kernelBuildFailed")
    /// The device cannot hold the requested allocation.
    public static let outOfMemory = Code("outOfMemory")
    /// Operands whose shapes do not fit together.
    public static let shapeMismatch = Code("shapeMismatch")
    /// An argument outside its valid range (empty batch where one is required, negative size, …).
    public static let invalidArgument = Code("invalidArgument")
    /// A tensor that belongs to another backend or device.
    public static let wrongBackend = Code("wrongBackend")
    /// A file that cannot be read or parsed (safetensors, JSON, tokenizer).
    public static let invalidFile = Code("invalidFile")
    /// A tensor a model needs is absent from its checkpoint.
    public static let missingTensor = Code("missingTensor")
    /// An architecture, activation, dtype or option Photon does not support.
    public static let unsupported = Code("unsupported")
    /// Input text or ids that cannot be processed.
    public static let invalidInput = Code("invalidInput")
  }

  public var code: Code
  public var message: String
  public var cause: (any Error)?
  /// Where in Photon the error was raised.
  public var sourceLocation: String

  public init(
    _ code: Code, _ message: String, cause: (any Error)? = nil,
    fileID: String = #fileID, line: Int = #line
  ) {
    self.code = code
    self.message = message
    self.cause = cause
    self.sourceLocation = "\(fileID):\(line)"
  }

  public var description: String {
    var text = "\(code): \(message)"
    if let cause { text += "\n  caused by: \(cause)" }
    return text
  }
}

extension PhotonError: Equatable {
  /// Two errors are equal when code and message are; cause and location are diagnostics.
  public static func == (a: PhotonError, b: PhotonError) -> Bool {
    a.code == b.code && a.message == b.message
  }
}
