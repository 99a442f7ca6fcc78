import Foundation
import PhotonCore

/// `generation_config.json`: the decoding defaults a checkpoint ships (mirrors
/// `transformers.GenerationConfig`, with HF's defaults for absent keys).
public struct GenerationConfig: Decodable, Sendable, Equatable {
  /// Sample (temperature, top-k, top-p) rather than decode greedily. HF default false.
  public var doSample: Bool
  public var temperature: Float
  /// 0 disables top-k. HF default 50.
  public var topK: Int
  public var topP: Float
  /// New tokens to generate; when nil, `maxLength` (prompt included) bounds the output.
  public var maxNewTokens: Int?
  /// Prompt plus new tokens. HF default 20.
  public var maxLength: Int
  /// Tokens that end generation (HF accepts one id or a list).
  public var eosTokenIDs: [Int]
  public var bosTokenID: Int?
  public var padTokenID: Int?
  public var decoderStartTokenID: Int?

  enum CodingKeys: String, CodingKey {
    case doSample = "do_sample"
    case temperature
    case topK = "top_k"
    case topP = "top_p"
    case maxNewTokens = "max_new_tokens"
    case maxLength = "max_length"
    case eosTokenID = "eos_token_id"
    case bosTokenID = "bos_token_id"
    case padTokenID = "pad_token_id"
    case decoderStartTokenID = "decoder_start_token_id"
  }

  /// HF's defaults (no file).
  public init() {
    doSample = false
    temperature = 1
    topK = 50
    topP = 1
    maxNewTokens = nil
    maxLength = 20
    eosTokenIDs = []
  }

  public init(from decoder: any Decoder) throws {
    self.init()
    let c = try decoder.container(keyedBy: CodingKeys.self)
    doSample = try c.value(.doSample, default: false)
    temperature = Float(try c.value(.temperature, default: 1.0 as Double))
    topK = try c.value(.topK, default: 50)
    topP = Float(try c.value(.topP, default: 1.0 as Double))
    maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens)
    maxLength = try c.value(.maxLength, default: 20)
    if let list = try? c.decodeIfPresent([Int].self, forKey: .eosTokenID) {
      eosTokenIDs = list
    } else if let one = try c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
      eosTokenIDs = [one]
    }
    bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
    padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID)
    decoderStartTokenID = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenID)
  }

  /// `folder/generation_config.json`, or nil when the folder has none.
  public static func load(folder: URL) throws -> GenerationConfig? {
    let url = folder.appendingPathComponent("generation_config.json")
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    return try ConfigFile.decode(GenerationConfig.self, from: ConfigFile.read(url), file: url.path)
  }
}
