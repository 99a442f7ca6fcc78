import PhotonCore
import PhotonLoading

// What the pipelines need of each head, whatever the architecture: an architecture's head types
// conform in its `+Registry.swift` file. ``EncoderModel`` (the base encoder) is in
// ModelRegistry.swift.

/// A `…ForSequenceClassification` head: one row of logits per sequence.
public protocol SequenceClassifierModel: AnyObject, Sendable {
  var backend: any Backend { get }
  /// Label names by output column (`id2label`); empty when the config has none.
  var labels: [String] { get }
  /// `problem_type` of the config: how logits become scores (nil: single-label).
  var problemType: ProblemType? { get }
  /// Logits `[B, labels]`.
  func logits(_ batch: EncoderBatch) throws -> Tensor
}

/// A `…ForTokenClassification` head: logits for every token.
public protocol TokenClassifierModel: AnyObject, Sendable {
  var backend: any Backend { get }
  /// Label names by output column.
  var labels: [String] { get }
  /// Logits `[B, T, labels]`.
  func logits(_ batch: EncoderBatch) throws -> Tensor
}

/// A `…ForMaskedLM` head: logits over the vocabulary for every token.
public protocol MaskedLanguageModel: AnyObject, Sendable {
  var backend: any Backend { get }
  /// V.
  var vocabularySize: Int { get }
  /// Logits `[B, T, V]`.
  func logits(_ batch: EncoderBatch) throws -> Tensor
}

/// A decoder-only language model that generates through a ``KeyValueCache``.
public protocol CausalLanguageModel: AnyObject, Sendable {
  var backend: any Backend { get }
  /// Positions the model covers: prompt and generated tokens together.
  var contextLength: Int { get }
  /// V.
  var vocabularySize: Int { get }
  /// C: the width of the hidden states the LM head reads.
  var hiddenSize: Int { get }
  /// Token ids from `config.json` (a generation config may override them).
  var bosTokenID: Int? { get }
  var eosTokenID: Int? { get }
  var padTokenID: Int? { get }
  /// How the linear weights are stored.
  var precision: Precision { get }
  /// A cache for `batch` rows of at most `capacity` tokens; `leftPadding[r]` pad columns start
  /// row `r` (nil: none).
  func makeCache(batch: Int, capacity: Int, leftPadding: [Int]?) throws -> KeyValueCache
  /// Feeds `ids` (`[B, T]`) through `cache`; logits of the last of them, `[B, 1, V]`.
  func nextTokenLogits(ids: [Int32], cache: KeyValueCache) throws -> Tensor
  /// The LM head alone: logits `[B, T, V]` of final hidden states `[B, T, C]` (for profiling the
  /// head's share of a decode step).
  func lmHeadLogits(hidden: Tensor) throws -> Tensor
}

/// An encoder–decoder that generates text from text: encode once, then decode through a cache
/// that holds the encoder output's cross-attention keys and values.
public protocol Text2TextModel: AnyObject, Sendable {
  var backend: any Backend { get }
  /// V.
  var vocabularySize: Int { get }
  /// The first decoder token (`decoder_start_token_id`).
  var decoderStartTokenID: Int { get }
  var eosTokenID: Int? { get }
  var padTokenID: Int? { get }
  /// How the linear weights are stored.
  var precision: Precision { get }
  /// Runs the encoder on `batch`.
  func encode(_ batch: EncoderBatch) throws -> EncoderOutput
  /// A decoder cache of `capacity` positions for `encoded`'s rows.
  func makeCache(encoded: EncoderOutput, capacity: Int) throws -> EncoderDecoderCache
  /// Feeds decoder `ids` (`[B, T]`) through `cache`; logits of the last of them, `[B, 1, V]`.
  func nextTokenLogits(ids: [Int32], cache: EncoderDecoderCache) throws -> Tensor
}
