import PhotonCore
import PhotonLoading

/// Checkpoint tensors, looked up by Hugging Face's names, uploaded to one backend.
public struct Parameters: Sendable {
  public let scope: WeightScope
  public let backend: any Backend
  /// How ``Linear`` weights are stored (fp16 / int8: see ``Precision``). Other tensors (biases,
  /// norms, embedding tables) stay fp32.
  public let precision: Precision

  public init(scope: WeightScope, backend: any Backend, precision: Precision = .fp32) {
    self.scope = scope
    self.backend = backend
    self.precision = precision
  }

  /// The same backend and precision, one name level deeper (`parameters.scope("encoder.layer.0")`).
  public func scope(_ path: String) -> Parameters {
    Parameters(scope: scope.scope(path), backend: backend, precision: precision)
  }

  /// Tensor `name` with the expected `shape` (a wrong shape names both shapes and the tensor).
  public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
    try backend.tensor(scope.tensor(name, shape: shape).values, shape: shape)
  }

  /// Host values of tensor `name`, for layers that rearrange weights once at load.
  public func values(_ name: String, shape: [Int]) throws -> [Float] {
    try scope.tensor(name, shape: shape).values
  }
}

/// `nn.Linear`: `y = x·Wᵀ + b`, with the activation that follows it fused into the GEMM.
public struct Linear: Sendable {
  public let weight: LinearWeight
  public let bias: Tensor?

  /// Loads `name.weight` (HF `[out, in]`, stored at `parameters.precision`; see
  /// ``Parameters/linearWeight(_:outFeatures:inFeatures:allowFloat:)``) and `name.bias`.
  public init(_ parameters: Parameters, _ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true)
    throws
  {
    let p = parameters.scope(name)
    self.weight = try p.linearWeight(["weight"], outFeatures: outFeatures, inFeatures: inFeatures)
    self.bias = bias ? try p.tensor("bias", shape: [outFeatures]) : nil
  }

  /// Several projections of the same input stacked into one (Q, K and V become one GEMM with
  /// 3C outputs, so attention reads a packed [B, T, 3C] tensor).
  public init(stacking names: [String], _ parameters: Parameters, in inFeatures: Int, out outFeatures: Int) throws {
    self.weight = try parameters.linearWeight(
      names.map { "\($0).weight" }, outFeatures: outFeatures, inFeatures: inFeatures)
    var biases: [Float] = []
    for name in names { biases += try parameters.scope(name).values("bias", shape: [outFeatures]) }
    self.bias = try parameters.backend.tensor(biases, shape: [outFeatures * names.count])
  }

  public init(weight: LinearWeight, bias: Tensor?) {
    self.weight = weight
    self.bias = bias
  }

  public func callAsFunction(_ x: Tensor, activation: Activation = .identity, on backend: any Backend) throws
    -> Tensor
  {
    try backend.linear(x, weight, bias: bias, activation: activation)
  }
}

/// `nn.LayerNorm` over the last axis, optionally of `x + residual` (fused: one pass).
public struct LayerNorm: Sendable {
  public let weight: Tensor
  public let bias: Tensor
  public let eps: Float

  public init(_ parameters: Parameters, _ name: String, channels: Int, eps: Float) throws {
    let p = parameters.scope(name)
    self.weight = try p.tensor("weight", shape: [channels])
    self.bias = try p.tensor("bias", shape: [channels])
    self.eps = eps
  }

  public func callAsFunction(_ x: Tensor, residual: Tensor? = nil, on backend: any Backend) throws -> Tensor {
    try backend.normalize(x, residual: residual, .layer(weight: weight, bias: bias, eps: eps))
  }
}
