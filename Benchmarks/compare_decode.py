#!/usr/bin/env python3
"""Photon's GPT-2 decode speed against PyTorch's, in one run, on one machine.

Runs `photon bench --generate --random-config gpt2-small --json` (GPT-2 small with seeded random
weights: no checkpoint) on both backends (.gpu = the OpenCL device, PoCL on a machine without a GPU;
.cpu = the reference backend), at each weight precision (fp32, fp16, int8: the Conv1D weights and
the LM head) and prompt length, and, when a Python with torch and transformers is given, the shared
peer script ../shared/anchors/py_decode_bench.py (PyTorch GPT2LMHeadModel(GPT2Config()), fp32,
random init) at the same shapes; prints one markdown table of prefill ms, decode ms/token, device
weight bytes and the ratios Photon / PyTorch and Photon / Photon fp32 on the same backend (below
1.0: faster), with the machine, date and load average at start and end.

With --rounds R every Photon configuration runs R times, interleaved (fp32, fp16, int8, fp32, …),
and the table shows the median of the R runs' medians: other work on the machine then weighs on
every precision alike.

  python3 Benchmarks/compare_decode.py [--prompts 128,16] [--new-tokens 128] [--batch 1]
      [--precisions fp32,fp16,int8] [--backends gpu,cpu] [--rounds 1]
      [--peers-python $PHOTON_PEERS_PYTHON] [--iterations 3] [--photon .build/release/photon]

Peer set-up (a venv outside the repository): see ../shared/anchors/README.md. Other work on the
machine moves these figures a lot on 2 cores: read the load average before the ratios.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def photon_decode(photon, config, backend, precision, batch, prompt, new_tokens, iterations):
    out = subprocess.run([photon, "bench", "--generate", "--random-config", config, "--backend", backend,
                          "--precision", precision, "--batch", str(batch), "--prompt-len", str(prompt),
                          "--new-tokens", str(new_tokens), "--iterations", str(iterations), "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", default="128,16")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--config", default="gpt2-small", help="photon bench --random-config name (GPT-2 small matches the peer's default)")
    ap.add_argument("--photon", default=os.path.join(ROOT, ".build/release/photon"))
    ap.add_argument("--peers-python", default=os.environ.get("PHOTON_PEERS_PYTHON"),
                    help="a python with torch and transformers (default $PHOTON_PEERS_PYTHON)")
    ap.add_argument("--anchors", default=os.path.join(ROOT, "..", "shared", "anchors", "py_decode_bench.py"))
    ap.add_argument("--iterations", type=int, default=3, help="timed generations per row (Photon and PyTorch)")
    ap.add_argument("--backends", default="gpu,cpu")
    ap.add_argument("--precisions", default="fp32,fp16,int8", help="Photon weight precisions (fp32 first: the ratios' base)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved repetitions of every Photon configuration")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="PyTorch threads")
    ap.add_argument("--json", help="also write every row here")
    args = ap.parse_args()

    if not os.path.exists(args.photon):
        subprocess.run(["swift", "build", "-c", "release", "--product", "photon"], cwd=ROOT, check=True)
    prompts = [int(p) for p in args.prompts.split(",")]
    load_start = os.getloadavg()

    precisions = args.precisions.split(",")
    runs = {}
    for round_ in range(args.rounds):
        for backend in args.backends.split(","):
            for p in prompts:
                for precision in precisions:
                    r = photon_decode(args.photon, args.config, backend, precision, args.batch, p, args.new_tokens,
                                      args.iterations)
                    runs.setdefault((f"photon-{backend}", precision, p), []).append(r)
                    c = r["counters"]
                    print(f"round {round_ + 1} photon-{backend:4s} {precision} prompt {p:4d}: prefill {r['prefill_ms']:9.2f} ms"
                          f"  decode {r['decode_ms_per_token']:8.3f} ms/token (p90 {r['decode_p90_ms']:.3f})"
                          f"  per step: {c['uploads']} upload, {c['read_backs']} read-back ({c['bytes_device_to_host']} B),"
                          f" {c['buffer_allocations']} allocations; load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    rows = {}
    for key, results in runs.items():
        row = dict(results[0])
        for field in ("prefill_ms", "decode_ms_per_token", "decode_p90_ms"):
            row[field] = statistics.median(r[field] for r in results)
        row["decode_tokens_per_s"] = args.batch * 1000 / row["decode_ms_per_token"]
        row["decode_ms_per_token_runs"] = [r["decode_ms_per_token"] for r in results]
        rows[key] = row

    peer = {}
    if args.peers_python:
        out_json = os.path.join(ROOT, ".build", "peers-decode.json")
        os.makedirs(os.path.dirname(out_json), exist_ok=True)
        subprocess.run([args.peers_python, args.anchors, "--threads", str(args.threads), "--prompts", args.prompts,
                        "--new-tokens", str(args.new_tokens), "--batch", str(args.batch), "--runs", str(args.iterations),
                        "--json", out_json], check=True, stdout=sys.stderr)
        for r in json.load(open(out_json))["rows"]:
            peer[r["prompt"]] = r
    load_end = os.getloadavg()

    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end")
    print(f"GPT-2 small ({args.config}, random weights), batch {args.batch}, {args.new_tokens} new tokens, greedy; "
          f"median of {args.iterations} generations" + (f", median of {args.rounds} interleaved rounds" if args.rounds > 1 else ""))
    print()
    print("| engine | precision | prompt | weight MB | prefill ms | decode ms/token | decode p90 ms | tokens/s "
          "| / PyTorch | / own fp32 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (engine, precision, p), r in rows.items():
        t = peer.get(p)
        base = rows.get((engine, "fp32", p))
        vs_torch = f"{r['decode_ms_per_token'] / t['decode_ms_per_token']:.2f}" if t else "–"
        vs_fp32 = f"{r['decode_ms_per_token'] / base['decode_ms_per_token']:.2f}" if base else "–"
        weight_mb = f"{r['weight_bytes'] / 1e6:.0f}" if r.get("weight_bytes") else "–"
        print(f"| {engine} | {precision} | {p} | {weight_mb} | {r['prefill_ms']:.1f} | {r['decode_ms_per_token']:.2f} | "
              f"{r['decode_p90_ms']:.2f} | {r['decode_tokens_per_s']:.1f} | {vs_torch} | {vs_fp32} |")
    for p, t in sorted(peer.items(), reverse=True):
        print(f"| torch | fp32 | {p} | – | {t['prefill_ms']:.1f} | {t['decode_ms_per_token']:.2f} | – | "
              f"{t['decode_tokens_per_s']:.1f} | 1.00 | – |")
    if args.json:
        json.dump(dict(photon=[dict(engine=e, prompt=p, **r) for (e, _, p), r in rows.items()], torch=list(peer.values()),
                       load=[load_start[0], load_end[0]]), open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
