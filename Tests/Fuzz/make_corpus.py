#!/usr/bin/env python3
"""Writes the fuzz seed corpora (Tests/Fuzz/Corpus/<target>/) from the tiny-model fixtures.

Seeds are kept small (a few KB): libFuzzer's default -max_len follows the largest seed, and
small inputs mutate faster. Rerun after changing a fixture format: python3 Tests/Fuzz/make_corpus.py
"""
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(ROOT, "..", "Fixtures", "tiny-models")
OUT = os.path.join(ROOT, "Corpus")


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] -> file bytes."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def small_tokenizer(model, keep):
    """The fixture's tokenizer.json with its vocabulary cut to `keep` entries (merges to match)."""
    t = json.load(open(os.path.join(FIX, model, "tokenizer.json")))
    m = t["model"]
    if m["type"] == "Unigram":
        m["vocab"] = m["vocab"][:keep]
        m["unk_id"] = min(m.get("unk_id") or 0, keep - 1)
    else:
        kept = dict(list(sorted(m["vocab"].items(), key=lambda kv: kv[1]))[:keep])
        for token in t["added_tokens"]:
            kept[token["content"]] = token["id"]
        m["vocab"] = kept
        if "merges" in m:
            merges = [mg if isinstance(mg, str) else " ".join(mg) for mg in m["merges"]]
            m["merges"] = [mg for mg in merges if mg.replace(" ", "") in kept][:40]
    return json.dumps(t, ensure_ascii=False, separators=(",", ":"))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    f32 = lambda *v: struct.pack("<%df" % len(v), *v)

    # safetensors: well-formed files of each dtype family, metadata, empty tensor, and the first
    # KB of a real fixture (header cut short).
    write("safetensors", "f32", safetensors([("a.weight", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F32", [1], f32(5))], {"format": "pt"}))
    write("safetensors", "ints", safetensors([("ids", "I64", [3], struct.pack("<3q", 0, 1, -2)), ("m", "I32", [2], struct.pack("<2i", 7, 8)), ("q", "I8", [4], bytes([1, 255, 3, 4]))]))
    write("safetensors", "halves", safetensors([("h", "F16", [2], struct.pack("<2e", 1.5, -2)), ("b", "BF16", [2], b"\x80\x3f\x00\xc0"), ("u", "U8", [2], b"\x01\x02")]))
    write("safetensors", "empty", safetensors([("e", "F32", [0, 3], b""), ("s", "F32", [], f32(1))]))
    with open(os.path.join(FIX, "tiny-bert", "model.safetensors"), "rb") as f:
        write("safetensors", "bert-head", f.read(1024))

    # shard-index: the target's folder holds a.safetensors (x, y) and b.safetensors (z).
    write("shard-index", "good", json.dumps({"metadata": {"total_size": 24}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}))
    write("shard-index", "wrong-shard", json.dumps({"weight_map": {"x": "b.safetensors"}}))
    write("shard-index", "traversal", json.dumps({"weight_map": {"x": "../a.safetensors", "y": "."}}))

    # config: every fixture's config.json.
    for model in sorted(os.listdir(FIX)):
        path = os.path.join(FIX, model, "config.json")
        if os.path.exists(path):
            write("config", model, open(path, "rb").read())

    # tokenizer-json: each kind, vocabulary cut down.
    for model, keep in (("tiny-bert", 120), ("tiny-gpt2", 300), ("tiny-t5", 120)):
        write("tokenizer-json", model, small_tokenizer(model, keep))

    # encode-*: texts with punctuation, accents, CJK, emoji, control characters, added tokens.
    texts = {
        "plain": "Hello, world! This is a test.",
        "accents": "Héllo wörld — naïve café, İstanbul ß",
        "cjk": "日本語のテキストと中文 한국어",
        "emoji": "👍🏽 family: 👨‍👩‍👧 flags 🇫🇷",
        "control": "tab\there\r\nzero\u200bwidth\u0000nul\ufeffbom",
        "special": "[CLS] [MASK] <|endoftext|> </s> <pad> [SEP]",
        "long-word": "a" * 200,
        "invalid-utf8": b"ok \xff\xfe \xc3\x28 \xe2\x82 end",
    }
    for target in ("encode-wordpiece", "encode-bpe", "encode-unigram"):
        for name, text in texts.items():
            write(target, name, text)

    # json-scan and jsonl-line.
    write("json-scan", "config", open(os.path.join(FIX, "tiny-bert", "config.json"), "rb").read())
    write("json-scan", "numbers", '{"a": 1, "b": -2.5e3, "c": 18446744073709551616, "d": [1, 2.0, {"e": 1e400}]}')
    write("json-scan", "strings", '{"k": "esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00 \\ud800", "k2": [true, false, null]}')
    write("json-scan", "duplicate", '{"a": {"x": 1, "x": 2}}')
    write("json-scan", "deep", "[" * 300 + "]" * 300)
    write("jsonl-line", "lines", '"hello"\n"tab\\t and \\u00e9"\n  "spaces"  \r\n"\\ud800 lone"\n"\\ud83d\\ude00"\n')
    write("jsonl-line", "bad", '"unterminated\n42\n{"a": 1}\n""\n')


if __name__ == "__main__":
    main()
