"""Generation controls and a float64 reference for tiny-t5, from transformers.

Writes tiny-models/tiny-t5/generation.json:
- `repetition_penalty`: for each reference text and penalty, the new ids (start token left out) of
  `generate(max_new_tokens=12, do_sample=False, repetition_penalty=p)` (HF applies the penalty over
  the decoder ids, the start token included).
- `stop_strings`: the new ids of `generate(max_new_tokens=12, do_sample=False,
  stop_strings=[s], tokenizer=tok)`.
- `batch`: texts of different lengths run as one padded batch through `generate(max_new_tokens=10,
  do_sample=False, repetition_penalty=1.3)`; rows that end early are padded by HF with 0.
- `precision`: teacher-forced `logits` of the reference cases with every linear weight (q/k/v/o,
  wi/wo, and lm_head, untied from `shared`, whose embedding lookup stays fp32) rounded as Photon
  stores it: `fp16` (round to half and back) and `int8` (q8_0: per row, per block of 32 input
  features, scale = max|w| / 127, q = round half away from zero of w / scale, clamped to ±127;
  weight = q · scale), the model otherwise fp32. d_model is 64, so the decoder's d_model^-0.5
  output scale (1/8) commutes exactly with both roundings.
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



def half(w):
    return w.half().float()


def q8_0(w):
    rows, cols = w.shape
    out = torch.empty_like(w)
    for start in range(0, cols, 32):
        block = w[:, start : start + 32]
        scale = block.abs().amax(dim=1, keepdim=True) / 127
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        x = block / safe
        q = (torch.sign(x) * torch.floor(x.abs() + 0.5)).clamp(-127, 127)
        out[:, start : start + 32] = torch.where(scale > 0, q * scale, torch.zeros_like(block))
    return out


out["precision"] = {}
for name, rounding in (("fp16", half), ("int8", q8_0)):
    rounded = T5ForConditionalGeneration.from_pretrained(FOLDER, attn_implementation="eager").eval()
    with torch.no_grad():
        head = rounding(rounded.shared.weight.detach().clone())
        for module_name, module in rounded.named_modules():
            if isinstance(module, torch.nn.Linear) and module_name != "lm_head":
                module.weight.copy_(rounding(module.weight))
        rounded.lm_head.weight = torch.nn.Parameter(head)
        assert torch.equal(rounded.shared.weight, model.shared.weight)
        logits = []
        for case in reference["cases"]:
            ids = torch.tensor([case["input_ids"]])
            dec = torch.tensor([case["decoder_input_ids"]])
            logits.append([float(f"{v:.7g}") for v in rounded(input_ids=ids, decoder_input_ids=dec).logits.reshape(-1).tolist()])
    out["precision"][name] = {"logits": logits}
    print(name, "max abs vs fp32", max(
        max(abs(a - b) for a, b in zip(l, [v for row in c["logits"] for v in row]))
        for l, c in zip(logits, reference["cases"])))

with open(f"{FOLDER}/generation.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps({k: v for k, v in out.items() if k != "float64"}, indent=None)[:3000])
for c in out["float64"]["cases"]:
    print(c["hf_fp32_max_abs"])
