import Foundation
import PhotonCore

/// The architectures Photon reads, by `config.json`'s `model_type`.
public enum ModelType: String, Sendable, CaseIterable, Codable {
  case bert
  case distilbert
  case roberta
  case xlmRoberta = "xlm-roberta"
  case gpt2
  case t5

  /// `"bert, distilbert, …"`, for error messages.
  public static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }

  /// Parses a `model_type` value, or throws `.unsupported` listing the supported ones.
  public init(modelType: String, file: String = "config.json") throws {
    guard let type = ModelType(rawValue: modelType) else {
      throw PhotonError(
        .unsupported,
        "\(file): model_type '\(modelType)' is not supported; supported: \(Self.supportedList)")
    }
    self = type
  }
}

/// A Hugging Face `config.json` decoded into its architecture's struct.
public enum ModelConfig: Sendable {
  case bert(BertConfig)
  case roberta(BertConfig)
  case xlmRoberta(BertConfig)
  case distilBert(DistilBertConfig)
  case gpt2(GPT2Config)
  case t5(T5Config)

  public var modelType: ModelType {
    switch self {
    case .bert: .bert
    case .roberta: .roberta
    case .xlmRoberta: .xlmRoberta
    case .distilBert: .distilbert
    case .gpt2: .gpt2
    case .t5: .t5
    }
  }

  /// `architectures` from the config (e.g. `["BertForSequenceClassification"]`), empty if absent.
  public var architectures: [String] {
    switch self {
    case .bert(let c), .roberta(let c), .xlmRoberta(let c): c.architectures
    case .distilBert(let c): c.architectures
    case .gpt2(let c): c.architectures
    case .t5(let c): c.architectures
    }
  }

  /// Reads `config.json`, detects `model_type`, decodes and validates the matching struct.
  public static func load(from url: URL) throws -> ModelConfig {
    try decode(ConfigFile.read(url), file: url.path)
  }

  /// Decodes config JSON text; `file` names it in errors.
  public static func decode(_ data: Data, file: String = "config.json") throws -> ModelConfig {
    struct Probe: Decodable {
      var modelType: String?
      enum CodingKeys: String, CodingKey { case modelType = "model_type" }
    }
    let probe = try ConfigFile.decode(Probe.self, from: data, file: file)
    guard let raw = probe.modelType else {
      throw PhotonError(
        .invalidFile,
        "\(file): missing key 'model_type' (supported: \(ModelType.supportedList))")
    }
    switch try ModelType(modelType: raw, file: file) {
    case .bert: return .bert(try BertConfig.decode(data, file: file))
    case .roberta: return .roberta(try BertConfig.decode(data, file: file))
    case .xlmRoberta: return .xlmRoberta(try BertConfig.decode(data, file: file))
    case .distilbert: return .distilBert(try DistilBertConfig.decode(data, file: file))
    case .gpt2: return .gpt2(try GPT2Config.decode(data, file: file))
    case .t5: return .t5(try T5Config.decode(data, file: file))
    }
  }
}

/// A config struct decoded from `config.json` and validated once, at load.
public protocol ModelConfiguration: Decodable, Sendable {
  /// Checks values that decode but cannot run (e.g. `hidden_size` not divisible by
  /// `num_attention_heads`); errors name `file` and the key.
  func validate(file: String) throws
}

extension ModelConfiguration {
  /// Reads, decodes and validates a `config.json`.
  public static func load(from url: URL) throws -> Self {
    try decode(ConfigFile.read(url), file: url.path)
  }

  /// Decodes and validates config JSON text; `file` names it in errors.
  public static func decode(_ data: Data, file: String = "config.json") throws -> Self {
    let config = try ConfigFile.decode(Self.self, from: data, file: file)
    try config.validate(file: file)
    return config
  }
}

/// Reading JSON configuration files with errors that name the file, key and position.
enum ConfigFile {
  static func read(_ url: URL) throws -> Data {
    do {
      return try Data(contentsOf: url)
    } catch {
      throw PhotonError(
        .invalidFile, "\(url.path): cannot read: \(error.localizedDescription)", cause: error)
    }
  }

  /// Lets `init(from:)` name the file in the errors it throws.
  static let fileKey = CodingUserInfoKey(rawValue: "photon.configFile")!

  static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
    try JSONScan(Array(data)).check(file: file)
    let decoder = JSONDecoder()
    decoder.userInfo[fileKey] = file
    do {
      return try decoder.decode(T.self, from: data)
    } catch let error as DecodingError {
      throw PhotonError(
        .invalidFile, "\(file): \(JSONErrors.describe(error, data: data))", cause: error)
    }
  }
}

/// `hidden_act` / `activation` / `activation_function`: the activations Photon implements.
public enum HiddenAct: String, Sendable, CaseIterable, Codable {
  /// Exact erf GELU.
  case gelu
  /// Tanh-approximated GELU (GPT-2's).
  case geluNew = "gelu_new"
  /// PyTorch's tanh GELU: the same formula as `gelu_new`.
  case geluPytorchTanh = "gelu_pytorch_tanh"
  case relu

  /// The fused-epilogue activation that computes it.
  public var activation: Activation {
    switch self {
    case .gelu: .gelu
    case .geluNew, .geluPytorchTanh: .geluTanh
    case .relu: .relu
    }
  }

  /// Parses an activation name, or throws `.unsupported` naming the key and the supported names.
  public init(name: String, key: String, file: String) throws {
    guard let act = HiddenAct(rawValue: name) else {
      let supported = HiddenAct.allCases.map(\.rawValue).joined(separator: ", ")
      throw PhotonError(
        .unsupported,
        "\(file): key '\(key)': activation '\(name)' is not supported; supported: \(supported)")
    }
    self = act
  }
}

/// `problem_type` of a sequence-classification head.
public enum ProblemType: String, Sendable, CaseIterable, Codable {
  case regression
  case singleLabelClassification = "single_label_classification"
  case multiLabelClassification = "multi_label_classification"
}

// MARK: - Decoding helpers shared by the config structs

extension Decoder {
  /// The file being decoded, for error messages (see ``ConfigFile/fileKey``).
  var configFile: String { userInfo[ConfigFile.fileKey] as? String ?? "config.json" }
}

extension KeyedDecodingContainer {
  /// The value at `key`, or `fallback` when the key is absent or `null` (HF writes `null` for unset).
  func value<T: Decodable>(_ key: Key, default fallback: @autoclosure () -> T) throws -> T {
    try decodeIfPresent(T.self, forKey: key) ?? fallback()
  }
}

/// Label maps as HF writes them: `id2label` keys are strings of integers.
struct LabelMaps {
  var id2label: [Int: String] = [:]
  var label2id: [String: Int] = [:]

  init<K: CodingKey>(_ container: KeyedDecodingContainer<K>, id2label: K, label2id: K) throws {
    if let raw = try container.decodeIfPresent([String: String].self, forKey: id2label) {
      for (key, label) in raw {
        guard let id = Int(key) else {
          throw DecodingError.dataCorruptedError(
            forKey: id2label, in: container,
            debugDescription: "label id '\(key)' is not an integer")
        }
        self.id2label[id] = label
      }
    }
    self.label2id = try container.decodeIfPresent([String: Int].self, forKey: label2id) ?? [:]
  }

  /// `id2label`'s ids must be 0..<n: they index the classifier's output rows.
  static func validate(_ id2label: [Int: String], file: String) throws {
    let ids = id2label.keys.sorted()
    guard ids == Array(0..<ids.count) else {
      throw PhotonError(
        .invalidFile, "\(file): key 'id2label': ids \(ids) are not 0..<\(ids.count)")
    }
  }
}

/// Shared checks, each naming the key.
enum ConfigCheck {
  static func positive(_ value: Int, _ key: String, file: String) throws {
    guard value > 0 else {
      throw PhotonError(.invalidFile, "\(file): key '\(key)' must be positive, got \(value)")
    }
  }

  static func positive(_ value: Float, _ key: String, file: String) throws {
    guard value > 0, value.isFinite else {
      throw PhotonError(.invalidFile, "\(file): key '\(key)' must be positive, got \(value)")
    }
  }

  static func divisible(
    _ value: Int, _ key: String, by divisor: Int, _ divisorKey: String, file: String
  ) throws {
    guard divisor > 0, value % divisor == 0 else {
      throw PhotonError(
        .invalidFile,
        "\(file): key '\(key)' (\(value)) is not divisible by '\(divisorKey)' (\(divisor))")
    }
  }

  static func tokenID(_ id: Int?, _ key: String, vocabSize: Int, file: String) throws {
    guard let id else { return }
    guard id >= 0, id < vocabSize else {
      throw PhotonError(
        .invalidFile, "\(file): key '\(key)' (\(id)) is outside the vocabulary 0..<\(vocabSize)")
    }
  }
}
