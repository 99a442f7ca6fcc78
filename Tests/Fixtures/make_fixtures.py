#!/usr/bin/env python3
"""Reference fixtures computed with Hugging Face transformers / sentence-transformers / tokenizers.

Writes:
  OUT/minilm/reference.json          sentences -> ids, mask, embeddings (+ hidden states for a few, a padded batch)
  OUT/tiny-models/<name>/            tiny random-weight HF checkpoints + reference.json each
  OUT/tiny-models/tokenizer-cases.json  text -> ids for each tiny tokenizer
Usage: make_fixtures.py [--minilm MODEL_DIR] [--sentences FILE.json] [--out DIR] [--tiny] [--pairs 0-1,2-3]
MODEL_DIR defaults to the repository's Models/all-MiniLM-L6-v2 (scripts/fetch-model.sh puts it
there) and OUT to this folder (Tests/Fixtures), so `python3 Tests/Fixtures/make_fixtures.py --tiny`
from the repository root rewrites tiny-models/. See README.md here for the environment.
"""
import argparse, json, os, shutil

import numpy as np
import torch


def r6(x):
    """Round floats to 6 significant digits, recursively, for compact JSON."""
    a = np.asarray(x, dtype=np.float64)
    return [float(f"{v:.6g}") for v in a.reshape(-1)] if a.ndim == 1 else [r6(v) for v in a]


def minilm(model_dir, sentences, out, pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer
    st = SentenceTransformer(model_dir, device="cpu")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    max_len = st.max_seq_length
    emb = st.encode(sentences, normalize_embeddings=True, batch_size=16, convert_to_numpy=True)
    cases = []
    for i, text in enumerate(sentences):
        enc = tok(text, truncation=True, max_length=max_len)
        case = dict(text=text, input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"],
                    attention_mask=enc["attention_mask"], tokens=tok.convert_ids_to_tokens(enc["input_ids"]),
                    embedding=r6(emb[i]))
        # the ids sentence-transformers itself feeds the model must be these ids
        assert st.tokenize([text])["input_ids"][0].tolist() == enc["input_ids"], text
        # the embedding must be the L2-normalised mean of AutoModel's hidden states over these ids
        with torch.inference_mode():
            hs1 = model(**{k: torch.tensor([v]) for k, v in enc.items()}).last_hidden_state[0]
        pooled = hs1.mean(0) / hs1.mean(0).norm()
        assert float((pooled - torch.from_numpy(emb[i])).abs().max()) < 1e-5, text
        if i < 3:
            with torch.inference_mode():
                hs = model(**tok(text, truncation=True, max_length=max_len, return_tensors="pt")).last_hidden_state[0]
            case["last_hidden_state"] = r6(hs.numpy())
        cases.append(case)
    batch_texts = [sentences[1], sentences[4], sentences[7]]
    enc = tok(batch_texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    with torch.inference_mode():
        hs = model(**enc).last_hidden_state
    batch = dict(texts=batch_texts, input_ids=enc["input_ids"].tolist(), attention_mask=enc["attention_mask"].tolist(),
                 token_type_ids=enc["token_type_ids"].tolist(), last_hidden_state=r6(hs.numpy()))
    pair_out = []
    for a, b in pairs:
        if b < len(sentences):
            pair_out.append(dict(a=a, b=b, cosine=float(f"{float(np.dot(emb[a], emb[b])):.6g}")))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "reference.json"), "w") as fh:
        json.dump(dict(model="sentence-transformers/all-MiniLM-L6-v2", max_seq_length=max_len,
                       pooling="mean", normalize=True, cases=cases, padded_batch=batch, pairs=pair_out), fh)


# ---------------------------------------------------------------- tiny models

CORPUS = """The quick brown fox jumps over the lazy dog. A transformer maps a sequence of tokens to vectors.
Attention lets every position look at every other position. Feed-forward layers act on each position alone.
Tokenizers split text into pieces; byte-level BPE never needs an unknown token. Numbers like 3.14 and 2026 appear.
Hello, world! Bonjour le monde. Hola mundo. Café, naïve, résumé. 東京 and 北京 are cities. Emoji: 🙂🚀.
Models are loaded from safetensors files with a JSON header and raw little-endian tensors."""

TEXTS = ["the quick brown fox", "Attention lets every position look at every other position.",
         "Hello, world! Café 🙂 3.14"]


def wordpiece_tokenizer(minilm_dir, out_dir):
    """A ~2,200-entry WordPiece vocab cut from the real uncased BERT vocab: specials, every single
    character, the ~1,000 most frequent words, and every '##' single-character continuation."""
    from transformers import PreTrainedTokenizerFast
    vocab = [l.rstrip("\n") for l in open(os.path.join(minilm_dir, "vocab.txt"), encoding="utf-8")]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [t for t in vocab[999:1996]]
    words = [t for t in vocab[1996:2996]]
    cont = [t for t in vocab if t.startswith("##") and len(t) == 3]
    keep, seen = [], set()
    for t in specials + chars + words + cont:
        if t not in seen:
            keep.append(t); seen.add(t)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(keep) + "\n")
    from tokenizers import BertWordPieceTokenizer
    wp = BertWordPieceTokenizer(os.path.join(out_dir, "vocab.txt"), lowercase=True)
    wp.save(os.path.join(out_dir, "tokenizer.json"))
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(out_dir, "tokenizer.json"), unk_token="[UNK]",
                                  sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    assert tok.unk_token_id not in tok("the quick brown fox")["input_ids"]
    return tok


def bpe_tokenizer(out_dir, kind):
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import PreTrainedTokenizerFast
    os.makedirs(out_dir, exist_ok=True)
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    specials = ["<|endoftext|>"] if kind == "gpt2" else ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator([CORPUS] * 4, vocab_size=600, min_frequency=1, special_tokens=specials)
    if kind == "roberta":
        bpe._tokenizer.post_processor = processors.RobertaProcessing(
            ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")), add_prefix_space=False)
        names = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                     mask_token="<mask>", sep_token="</s>", cls_token="<s>")
    else:
        names = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    path = os.path.join(out_dir, "tokenizer.json")
    bpe.save(path)
    bpe.save_model(out_dir)  # vocab.json + merges.txt
    tok = PreTrainedTokenizerFast(tokenizer_file=path, **names)
    assert len(tok("the quick brown fox")["input_ids"]) > 2, "BPE tokenizer produced no tokens"
    return tok


def unigram_tokenizer(out_dir):
    """A T5-style SentencePiece Unigram tokenizer (NMT + NFKC normalisation, Metaspace '▁', '</s>' appended;
    <pad>=0, </s>=1, <unk>=2 as in T5). The `tokenizers` Unigram trainer is not reproducible from run to run,
    so the vocabulary is computed here: every character of CORPUS, and the 250 substrings (2-8 characters,
    '▁' marking a word start) with the largest count x length seen at least twice; score = log relative
    count, rounded to 4 decimals. Characters never seen in CORPUS become <unk>."""
    import collections, math
    from tokenizers import SentencePieceUnigramTokenizer, processors, models
    from transformers import PreTrainedTokenizerFast
    os.makedirs(out_dir, exist_ok=True)
    counts = collections.Counter()
    for word in CORPUS.split():
        w = "\u2581" + word
        for i in range(len(w)):
            for j in range(i + 1, min(len(w), i + 8) + 1):
                counts[w[i:j]] += 1
    chars = [p for p in counts if len(p) == 1]
    multi = sorted((p for p in counts if len(p) > 1 and counts[p] >= 2), key=lambda p: (-counts[p] * len(p), p))[:250]
    total = sum(counts[p] for p in chars + multi)
    pieces = sorted(((p, round(math.log(counts[p] / total), 4)) for p in chars + multi), key=lambda x: (-x[1], x[0]))
    sp = SentencePieceUnigramTokenizer()
    sp._tokenizer.model = models.Unigram([("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + pieces, unk_id=2,
                                         byte_fallback=False)
    sp.add_special_tokens(["<pad>", "</s>", "<unk>"])
    sp._tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    path = os.path.join(out_dir, "tokenizer.json")
    sp.save(path)
    tok = PreTrainedTokenizerFast(tokenizer_file=path, eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    assert tok("the quick brown fox")["input_ids"][-1] == 1
    return tok


def tiny_t5(out, save, tok_dir):
    """tiny-t5: T5ForConditionalGeneration as the original T5 (relu FFN, tied embeddings, decoder output
    scaled by d_model**-0.5 before lm_head), 2+2 layers, d_model 64, 4 heads of 16, relative position
    buckets 32 / max distance 128."""
    import transformers as T
    tok = unigram_tokenizer(tok_dir)
    torch.manual_seed(11)  # T5 gets its own seed: the models above do not move when this one changes
    cfg = T.T5Config(vocab_size=len(tok), d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2,
                     num_heads=4, relative_attention_num_buckets=32, relative_attention_max_distance=128,
                     feed_forward_proj="relu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = T.T5ForConditionalGeneration(cfg)
    # With HF's init, greedy decoding just echoes the start token (tied embeddings dominate the residual
    # stream). Scaling the attention/FFN projections by 3 (and the seed, picked among 0-15 for the most
    # varied output) makes the 10 greedy tokens depend on the input.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 2 and not n.startswith(("shared", "lm_head")) and "relative_attention_bias" not in n \
                    and not n.endswith("embed_tokens.weight"):
                p.mul_(3.0)

    def t5_out(m, e):
        one = e["input_ids"].shape[0] == 1
        pick = (lambda t: t[0]) if one else (lambda t: t)
        enc = m.get_encoder()(input_ids=e["input_ids"], attention_mask=e["attention_mask"]).last_hidden_state
        res = dict(encoder_last_hidden_state=r6(pick(enc).numpy()))
        gen = m.generate(input_ids=e["input_ids"], attention_mask=e["attention_mask"], max_new_tokens=10,
                         do_sample=False, num_beams=1, return_dict_in_generate=True, output_logits=True)
        res["greedy_10"] = pick(gen.sequences).tolist()
        if one:
            # teacher-forced decoder: decoder_input_ids = input ids shifted right behind <pad> (the start token)
            dec = m._shift_right(e["input_ids"])
            res["decoder_input_ids"] = dec[0].tolist()
            res["logits"] = r6(m(input_ids=e["input_ids"], attention_mask=e["attention_mask"],
                                 decoder_input_ids=dec).logits[0].numpy())
            res["greedy_10_step_logits"] = r6(torch.cat(gen.logits).numpy())
        return res
    save("tiny-t5", model, tok, t5_out)
    return tok


def tiny(minilm_dir, out):
    import transformers as T
    torch.manual_seed(0)
    os.makedirs(out, exist_ok=True)
    common = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                  max_position_embeddings=128, hidden_act="gelu")

    def save(name, model, tok, extra_fn):
        d = os.path.join(out, name)
        model.eval().save_pretrained(d, safe_serialization=True)
        tok.save_pretrained(d)
        cases = []
        for text in TEXTS:
            enc = tok(text, return_tensors="pt")
            with torch.inference_mode():
                case = dict(text=text, input_ids=enc["input_ids"][0].tolist(),
                            attention_mask=enc["attention_mask"][0].tolist(),
                            tokens=tok.convert_ids_to_tokens(enc["input_ids"][0]))
                if "token_type_ids" in enc:
                    case["token_type_ids"] = enc["token_type_ids"][0].tolist()
                case.update(extra_fn(model, enc))
            cases.append(case)
        # a padded batch of all three texts
        pad_ok = tok.pad_token is not None
        batch = None
        if pad_ok:
            enc = tok(TEXTS, return_tensors="pt", padding=True)
            with torch.inference_mode():
                batch = dict(texts=TEXTS, input_ids=enc["input_ids"].tolist(),
                             attention_mask=enc["attention_mask"].tolist(), **extra_fn(model, enc))
        with open(os.path.join(d, "reference.json"), "w") as fh:
            json.dump(dict(architecture=type(model).__name__, cases=cases, padded_batch=batch), fh)

    hidden = lambda m, e: dict(last_hidden_state=r6(m(**e).last_hidden_state[0].numpy()) if e["input_ids"].shape[0] == 1
                               else r6(m(**e).last_hidden_state.numpy()))
    def logits(m, e):
        lg = m(**e).logits
        return dict(logits=r6(lg[0].numpy()) if e["input_ids"].shape[0] == 1 else r6(lg.numpy()))

    wp_dir = os.path.join(out, "_wordpiece")
    wp = wordpiece_tokenizer(minilm_dir, wp_dir)
    vocab = len(wp)
    bert_cfg = T.BertConfig(vocab_size=vocab, type_vocab_size=2, **common)

    def bert_out(m, e):
        o = m(**e)
        one = e["input_ids"].shape[0] == 1
        return dict(last_hidden_state=r6(o.last_hidden_state[0].numpy() if one else o.last_hidden_state.numpy()),
                    pooler_output=r6(o.pooler_output[0].numpy() if one else o.pooler_output.numpy()))
    save("tiny-bert", T.BertModel(bert_cfg), wp, bert_out)

    cls_cfg = T.BertConfig(vocab_size=vocab, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
                           label2id={"negative": 0, "neutral": 1, "positive": 2}, **common)
    save("tiny-bert-classifier", T.BertForSequenceClassification(cls_cfg), wp, logits)

    tok_cfg = T.BertConfig(vocab_size=vocab, num_labels=5,
                           id2label={0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"},
                           label2id={"O": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3, "I-LOC": 4}, **common)
    save("tiny-bert-token-classifier", T.BertForTokenClassification(tok_cfg), wp, logits)
    save("tiny-bert-mlm", T.BertForMaskedLM(T.BertConfig(vocab_size=vocab, **common)), wp, logits)

    dcfg = T.DistilBertConfig(vocab_size=vocab, dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                              max_position_embeddings=128, activation="gelu")
    save("tiny-distilbert", T.DistilBertModel(dcfg), wp, hidden)

    rob_tok = bpe_tokenizer(os.path.join(out, "_bpe_roberta"), "roberta")
    rcfg = T.RobertaConfig(vocab_size=len(rob_tok), pad_token_id=rob_tok.pad_token_id, bos_token_id=rob_tok.bos_token_id,
                           eos_token_id=rob_tok.eos_token_id, type_vocab_size=1, **{**common, "max_position_embeddings": 130})
    save("tiny-roberta", T.RobertaModel(rcfg, add_pooling_layer=False), rob_tok, hidden)

    gpt_tok = bpe_tokenizer(os.path.join(out, "_bpe_gpt2"), "gpt2")
    gcfg = T.GPT2Config(vocab_size=len(gpt_tok), n_embd=64, n_layer=2, n_head=4, n_positions=128,
                        bos_token_id=gpt_tok.bos_token_id, eos_token_id=gpt_tok.eos_token_id)
    gpt = T.GPT2LMHeadModel(gcfg)

    def gpt_out(m, e):
        res = logits(m, e)
        if e["input_ids"].shape[0] == 1:
            gen = m.generate(**e, max_new_tokens=10, do_sample=False, pad_token_id=gpt_tok.eos_token_id,
                             return_dict_in_generate=True, output_logits=True)
            res["greedy_10"] = gen.sequences[0].tolist()
            res["greedy_10_step_logits"] = r6(torch.cat(gen.logits).numpy())
        return res
    save("tiny-gpt2", gpt, gpt_tok, gpt_out)

    for name in ("tiny-bert", "tiny-bert-classifier", "tiny-bert-token-classifier", "tiny-bert-mlm", "tiny-distilbert"):
        shutil.copy(os.path.join(wp_dir, "vocab.txt"), os.path.join(out, name, "vocab.txt"))
    for name, src in (("tiny-roberta", "_bpe_roberta"), ("tiny-gpt2", "_bpe_gpt2")):
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(out, src, f), os.path.join(out, name, f))

    t5_tok = tiny_t5(out, save, os.path.join(out, "_unigram_t5"))

    for d in ("_wordpiece", "_bpe_roberta", "_bpe_gpt2", "_unigram_t5"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)

    # tokenizer reference cases, beyond the three texts above
    extra = ["", "   ", "UPPER lower MiXeD", "don't stop-believing!!", "naïve café résumé", "東京タワー 北京",
             "emoji 🙂🚀 end", "tabs\tand\nnewlines", "https://example.com/a?b=c", "x" * 120,
             "unbelievably unaffordable antidisestablishmentarianism"]
    tok_ref = {}
    for name, tok in (("wordpiece", wp), ("roberta-bpe", rob_tok), ("gpt2-bpe", gpt_tok), ("t5-unigram", t5_tok)):
        tok_ref[name] = [dict(text=t, input_ids=tok(t)["input_ids"]) for t in TEXTS + extra]
    with open(os.path.join(out, "tokenizer-cases.json"), "w") as fh:
        json.dump(tok_ref, fh)
    verify(out)


def verify(out):
    """Reload every tiny checkpoint from its folder, the way a user would (AutoTokenizer + the class named in
    config.json), and check that it reproduces its reference.json: ids identical, floats within 1e-5."""
    import transformers as T
    from transformers import AutoTokenizer

    def close(ref, got, what):
        d = float(np.max(np.abs(np.asarray(ref, np.float64) - got.double().numpy())))
        assert d < 1e-5, f"{what}: max abs diff {d}"

    for name in sorted(os.listdir(out)):
        d = os.path.join(out, name)
        if not os.path.isdir(d):
            continue
        ref = json.load(open(os.path.join(d, "reference.json")))
        tok = AutoTokenizer.from_pretrained(d)
        kw = dict(add_pooling_layer=False) if ref["architecture"] == "RobertaModel" else {}
        model = getattr(T, ref["architecture"]).from_pretrained(d, **kw).eval()
        for c in ref["cases"]:
            e = tok(c["text"], return_tensors="pt")
            assert e["input_ids"][0].tolist() == c["input_ids"], (name, c["text"])
            with torch.inference_mode():
                if "encoder_last_hidden_state" in c:
                    close(c["encoder_last_hidden_state"], model.get_encoder()(**e).last_hidden_state[0], name)
                    o = model(**e, decoder_input_ids=torch.tensor([c["decoder_input_ids"]]))
                else:
                    o = model(**e)
                for key in ("last_hidden_state", "pooler_output", "logits"):
                    if key in c:
                        close(c[key], getattr(o, key)[0], f"{name} {key}")
                if "greedy_10" in c:
                    g = model.generate(**e, max_new_tokens=10, do_sample=False, num_beams=1,
                                       pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
                    assert g[0].tolist() == c["greedy_10"], (name, c["text"])
        print(f"verified {name}: {len(ref['cases'])} cases reproduce from the saved folder")


HERE = os.path.dirname(os.path.abspath(__file__))  # Tests/Fixtures
ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default=os.path.join(ROOT, "Models", "all-MiniLM-L6-v2"),
                    help="the all-MiniLM-L6-v2 checkpoint (default: Models/all-MiniLM-L6-v2 of the repository)")
    ap.add_argument("--sentences", help="regenerate minilm/reference.json from these texts (minilm/sentences.json)")
    ap.add_argument("--out", default=HERE, help="where minilm/ and tiny-models/ are written (default: Tests/Fixtures)")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--pairs", default="0-1,2-3,4-5,6-7,8-9", help="sentence index pairs whose cosine is recorded")
    a = ap.parse_args()
    if a.sentences:
        pairs = [tuple(map(int, p.split("-"))) for p in a.pairs.split(",") if p]
        minilm(a.minilm, json.load(open(a.sentences, encoding="utf-8")), os.path.join(a.out, "minilm"), pairs)
    if a.tiny:
        tiny(a.minilm, os.path.join(a.out, "tiny-models"))


if __name__ == "__main__":
    main()
