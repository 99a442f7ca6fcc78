"""Where tiny-t5's fp32 error comes from (prints only; the figures quoted in
Tests/PhotonModelsTests/T5Tests.swift). Run from Tests/Fixtures with torch 2.15.0 and
transformers 5.24.0: python3 t5_float64_analysis.py

1. transformers fp32 vs transformers float64, module by module (case 1, teacher-forced): the
   largest |value| of each output, the error of its input and of its output.
2. transformers fp32 on this machine (1 and 2 threads) against its own fixture.
3. The largest unscaled attention score |q·k| of encoder layer 0 and the softmax peak.
"""

import json

import torch
from transformers import T5ForConditionalGeneration

FOLDER = "tiny-models/tiny-t5"
reference = json.load(open(f"{FOLDER}/reference.json"))
m32 = T5ForConditionalGeneration.from_pretrained(FOLDER, attn_implementation="eager").eval()
m64 = T5ForConditionalGeneration.from_pretrained(FOLDER, attn_implementation="eager").double().eval()

KEEP = ("layer_norm", "SelfAttention", "EncDecAttention", "DenseReluDense", "lm_head")


def hook(model, store):
    for name, module in model.named_modules():
        last = name.split(".")[-1]
        if last in ("q", "k", "v", "o", "wi", "wo", "final_layer_norm", "lm_head"):
            def record(module, inputs, output, name=name):
                out = output[0] if isinstance(output, tuple) else output
                store[name] = (inputs[0].detach().double(), out.detach().double())
            module.register_forward_hook(record)


s32, s64 = {}, {}
hook(m32, s32)
hook(m64, s64)
case = reference["cases"][1]
ids = torch.tensor([case["input_ids"]])
dec = torch.tensor([case["decoder_input_ids"]])
with torch.no_grad():
    m32(input_ids=ids, decoder_input_ids=dec)
    m64(input_ids=ids, decoder_input_ids=dec)
print("1. module: max |output| (float64), input error, output error of fp32")
for name in s32:
    (i32, o32), (i64, o64) = s32[name], s64[name]
    print(f"  {name:45s} {o64.abs().max():8.3f}  {(i32 - i64).abs().max():.2e}  {(o32 - o64).abs().max():.2e}")

print("2. transformers fp32 here vs its fixture (max abs)")
for threads in (1, 2):
    torch.set_num_threads(threads)
    for index, c in enumerate(reference["cases"]):
        i = torch.tensor([c["input_ids"]])
        d = torch.tensor([c["decoder_input_ids"]])
        with torch.no_grad():
            states = m32.encoder(input_ids=i).last_hidden_state[0]
            logits = m32(input_ids=i, decoder_input_ids=d).logits[0]
        print(
            f"  threads {threads} case {index}: states "
            f"{(states - torch.tensor(c['encoder_last_hidden_state'])).abs().max():.2e}, logits "
            f"{(logits - torch.tensor(c['logits'])).abs().max():.2e}")

with torch.no_grad():
    attention = m64.encoder.block[0].layer[0]
    x = attention.layer_norm(m64.encoder.embed_tokens(ids))
    q = attention.SelfAttention.q(x).view(1, -1, 4, 16).transpose(1, 2)
    k = attention.SelfAttention.k(x).view(1, -1, 4, 16).transpose(1, 2)
    scores = q @ k.transpose(-1, -2)
print(f"3. encoder layer 0: max |q·k| {scores.abs().max():.2f}, softmax peak {torch.softmax(scores, -1).max():.6f}")
