#!/usr/bin/env python3
"""Photon against its peers, in one run, on one machine.

Runs `photon bench --json` over a shape matrix on both backends (.gpu = the OpenCL device, PoCL on a
machine without a GPU; .cpu = the reference backend) and, when a Python with torch, transformers and
onnxruntime is given, the shared peer script (PyTorch eager and SDPA, ONNX Runtime, numpy sgemm) at
the same shapes; prints one markdown table with medians and ratios (Photon time / peer time; below
1.0 means Photon is faster), with the machine, date and load average.

  python3 Benchmarks/compare.py [--model Models/all-MiniLM-L6-v2] [--shapes 1x16,1x128,8x128,32x128,1x512]
      [--peers-python $PEERS/bin/python] [--iterations 10] [--photon .build/release/photon]

Peer set-up (a venv outside the repository): see ../shared/anchors/README.md.
"""
import argparse, json, os, platform, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def photon_bench(photon, model, backend, b, s, iterations, warmup):
    out = subprocess.run([photon, "bench", "--model", model, "--backend", backend, "--batch", str(b), "--seq", str(s),
                          "--iterations", str(iterations), "--warmup", str(warmup), "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "Models/all-MiniLM-L6-v2"))
    ap.add_argument("--shapes", default="1x16,1x128,8x128,32x128,1x512")
    ap.add_argument("--photon", default=os.path.join(ROOT, ".build/release/photon"))
    ap.add_argument("--peers-python", default=os.environ.get("PHOTON_PEERS_PYTHON"),
                    help="a python with torch, transformers, onnxruntime (default $PHOTON_PEERS_PYTHON)")
    ap.add_argument("--anchors", default=os.path.join(ROOT, "..", "shared", "anchors", "py_anchor_bench.py"))
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--backends", default="gpu,cpu")
    ap.add_argument("--json", help="also write every row here")
    args = ap.parse_args()

    if not os.path.exists(args.photon):
        subprocess.run(["swift", "build", "-c", "release", "--product", "photon"], cwd=ROOT, check=True)
    shapes = [tuple(map(int, s.split("x"))) for s in args.shapes.split(",")]
    load_start = os.getloadavg()

    rows = {}
    for backend in args.backends.split(","):
        for b, s in shapes:
            r = photon_bench(args.photon, args.model, backend, b, s, args.iterations, args.warmup)
            rows[(f"photon-{backend}", b, s)] = r["median_ms"]
            print(f"photon-{backend:4s} {b:3d}x{s:<4d} median {r['median_ms']:9.3f} ms  {r['gflops']:.1f} GFLOP/s", file=sys.stderr)

    peers, sgemm, blas = {}, {}, ""
    if args.peers_python:
        out_json = os.path.join(ROOT, ".build", "peers.json")
        os.makedirs(os.path.dirname(out_json), exist_ok=True)
        subprocess.run([args.peers_python, args.anchors, "--model", args.model, "--threads", "2", "--shapes", args.shapes,
                        "--json", out_json, "--min-runs", str(args.iterations)], check=True, stdout=sys.stderr)
        data = json.load(open(out_json))
        for r in data["rows"]:
            peers[(r["engine"], r["batch"], r["seq"])] = r["median_ms"]
        sgemm, blas = data.get("sgemm_gflops", {}), data.get("blas", "")
    load_end = os.getloadavg()

    engines = [f"photon-{b}" for b in args.backends.split(",")] + sorted({k[0] for k in peers})
    table = {**rows, **peers}
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end")
    if blas:
        print(f"numpy BLAS: {blas}; sgemm GFLOP/s {sgemm}")
    header = ["batch x seq"] + [f"{e} ms" for e in engines]
    ratios = [(p, q) for p in engines if p.startswith("photon") for q in ("onnxruntime", "torch-sdpa") if q in engines]
    header += [f"{p}/{q}" for p, q in ratios]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for b, s in shapes:
        cells = [f"{b}x{s}"] + [f"{table[(e, b, s)]:.2f}" if (e, b, s) in table else "" for e in engines]
        cells += [f"{table[(p, b, s)] / table[(q, b, s)]:.2f}" if (p, b, s) in table and (q, b, s) in table else ""
                  for p, q in ratios]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        json.dump(dict(rows=[dict(engine=e, batch=b, seq=s, median_ms=v) for (e, b, s), v in table.items()],
                       load_start=load_start, load_end=load_end, sgemm_gflops=sgemm, blas=blas), open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
