"""Generation controls and a float64 reference for tiny-t5, from transformers.

Writes tiny-models/tiny-t5/generation.json:
- `repetition_penalty`: for each reference text and penalty, the new ids (start token left out) of
  `generate(max_new_tokens=12, do_sample=False, repetition_penalty=p)` (HF applies the penalty over
  the decoder ids, the start token included).
- `stop_strings`: the new ids of `generate(max_new_tokens=12, do_sample=False,
  stop_strings=[s], tokenizer=tok)`.
- `batch`: texts of different lengths run as one padded batch through `generate(max_new_tokens=10,
  do_sample=False, repetition_penalty=1.3)`; rows that end early are padded by HF with 0.
- `float64`: the reference cases recomputed with the model in float64 (`model.double()`), to tell
  whose fp32 error is larger: `encoder_last_hidden_state`, teacher-forced `logits` and the
  `greedy_10_step_logits` of the fp32 greedy ids, plus HF's own fp32 max abs difference to them.

Run from Tests/Fixtures with torch 2.15.0 and transformers 5.24.0 (CPU, eager attention):
    python3 make_t5_generation.py
Floats are rounded to 9 significant digits (float64 values are compared at 1e-6 and below).
"""

import json

import torch
from transformers import AutoTokenizer, T5ForConditionalGeneration

FOLDER = "tiny-models/tiny-t5"
torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(FOLDER)
model = T5ForConditionalGeneration.from_pretrained(FOLDER, attn_implementation="eager").eval()
reference = json.load(open(f"{FOLDER}/reference.json"))
texts = [case["text"] for case in reference["cases"]]


def new_ids(output):
    return [int(i) for i in output[0, 1:]]


def generate(text, **kwargs):
    ids = torch.tensor([tok(text)["input_ids"]])
    with torch.no_grad():
        return model.generate(ids, do_sample=False, **kwargs)


out = {"repetition_penalty": [], "stop_strings": [], "batch": {}, "float64": {"cases": []}}
for text in texts:
    for penalty in (1.5, 0.7):
        ids = new_ids(generate(text, max_new_tokens=12, repetition_penalty=penalty))
        out["repetition_penalty"].append({"text": text, "penalty": penalty, "ids": ids})

# Stop strings cut from the middle of each text's greedy output (so the match does not depend on
# the leading-space rule of the first token).
for text in texts:
    greedy = new_ids(generate(text, max_new_tokens=12))
    decoded = tok.decode(greedy, skip_special_tokens=True)
    middle = decoded[len(decoded) // 3 : len(decoded) // 3 + 3]
    if not middle.strip():
        continue
    ids = new_ids(generate(text, max_new_tokens=12, stop_strings=[middle], tokenizer=tok))
    out["stop_strings"].append({"text": text, "stop": middle, "ids": ids})

batch_texts = texts + ["Hi"]
encoded = tok(batch_texts, padding=True, return_tensors="pt")
with torch.no_grad():
    batched = model.generate(
        **encoded, max_new_tokens=10, do_sample=False, repetition_penalty=1.3)
out["batch"] = {
    "texts": batch_texts,
    "repetition_penalty": 1.3,
    "max_new_tokens": 10,
    "ids": [[int(i) for i in row[1:]] for row in batched],
}


def r(x):
    return float(f"{x:.9g}")


def flat(t):
    return [r(v) for v in t.reshape(-1).tolist()]


double = T5ForConditionalGeneration.from_pretrained(FOLDER, attn_implementation="eager").double().eval()
for case in reference["cases"]:
    ids = torch.tensor([case["input_ids"]])
    dec = torch.tensor([case["decoder_input_ids"]])
    greedy = torch.tensor([case["greedy_10"]])
    with torch.no_grad():
        states64 = double.encoder(input_ids=ids).last_hidden_state
        logits64 = double(input_ids=ids, decoder_input_ids=dec).logits
        steps64 = double(input_ids=ids, decoder_input_ids=greedy[:, :10]).logits
        states32 = model.encoder(input_ids=ids).last_hidden_state
        logits32 = model(input_ids=ids, decoder_input_ids=dec).logits
    # Teacher-forced logits over the greedy ids are the greedy step logits (causal decoder).
    hf_steps = torch.tensor(case["greedy_10_step_logits"], dtype=torch.float64)
    out["float64"]["cases"].append({
        "encoder_last_hidden_state": flat(states64[0]),
        "logits": flat(logits64[0]),
        "greedy_10_step_logits": flat(steps64[0]),
        "hf_fp32_max_abs": {
            "encoder_last_hidden_state": float((states32.double() - states64).abs().max()),
            "logits": float((logits32.double() - logits64).abs().max()),
            "fixture_encoder_last_hidden_state": float(
                (torch.tensor(case["encoder_last_hidden_state"], dtype=torch.float64) - states64[0]).abs().max()),
            "fixture_logits": float(
                (torch.tensor(case["logits"], dtype=torch.float64) - logits64[0]).abs().max()),
            "fixture_greedy_10_step_logits": float((hf_steps - steps64[0]).abs().max()),
        },
    })

with open(f"{FOLDER}/generation.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps({k: v for k, v in out.items() if k != "float64"}, indent=None)[:3000])
for c in out["float64"]["cases"]:
    print(c["hf_fp32_max_abs"])
