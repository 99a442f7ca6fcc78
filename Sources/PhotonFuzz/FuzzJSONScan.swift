import PhotonCore

/// `JSONScan` over arbitrary bytes (the pre-pass over config.json, safetensors headers and
/// tokenizer.json), and `JSONScan.string`, which reads each `--jsonl` line of the CLI.
enum FuzzJSONScan {
  static func scan(_ bytes: UnsafeRawBufferPointer) {
    let scan = JSONScan(Array(bytes))
    _ = try? scan.check(file: "fuzz.json")
    _ = scan.numberHint
  }

  static func line(_ bytes: UnsafeRawBufferPointer) {
    // As TextInput.readTexts does: split at newlines, drop a trailing \r, decode as UTF-8.
    for line in Array(bytes).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      let text = String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...], as: UTF8.self)
      _ = JSONScan.string(Array(text.utf8))
    }
  }
}
