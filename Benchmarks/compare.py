#!/usr/bin/env python3
"""Photon against its peers, in one run, on one machine.

Runs `photon bench --json` over a shape matrix on both backends (.gpu = the OpenCL device, PoCL on a
machine without a GPU; .cpu = the reference backend) at each weight precision asked for and, when a
Python with torch, transformers and onnxruntime is given, the shared peer script (PyTorch eager and
SDPA, ONNX Runtime, numpy sgemm) plus ONNX Runtime with dynamic int8 quantization
(Benchmarks/ort_int8_peer.py) at the same shapes; prints one markdown table with medians and ratios
(Photon time / peer time; below 1.0 means Photon is faster; int8 rows are compared with ONNX Runtime
int8 too), a table of device bytes held by weights per precision, and the machine, date and load.

  python3 Benchmarks/compare.py [--model Models/all-MiniLM-L6-v2] [--shapes 1x16,1x128,8x128,32x128,1x512]
      [--precisions fp32,fp16,int8] [--peers-python $PEERS/bin/python] [--iterations 10]
      [--photon .build/release/photon]

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


def photon_bench(photon, model, backend, precision, b, s, iterations, warmup):
    out = subprocess.run([photon, "bench", "--model", model, "--backend", backend, "--batch", str(b), "--seq", str(s),
                          "--precision", precision, "--iterations", str(iterations), "--warmup", str(warmup), "--json"],
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
    ap.add_argument("--precisions", default="fp32", help="comma list of fp32, fp16, int8")
    ap.add_argument("--json", help="also write every row here")
    args = ap.parse_args()

    if not os.path.exists(args.photon):
        subprocess.run(["swift", "build", "-c", "release", "--product", "photon"], cwd=ROOT, check=True)
    shapes = [tuple(map(int, s.split("x"))) for s in args.shapes.split(",")]
    load_start = os.getloadavg()

    rows, weight_bytes = {}, {}
    for backend in args.backends.split(","):
        for precision in args.precisions.split(","):
            engine = f"photon-{backend}" + ("" if precision == "fp32" else f"-{precision}")
            for b, s in shapes:
                r = photon_bench(args.photon, args.model, backend, precision, b, s, args.iterations, args.warmup)
                rows[(engine, b, s)] = r["median_ms"]
                weight_bytes[(backend, precision)] = r.get("weight_bytes")
                print(f"{engine:18s} {b:3d}x{s:<4d} median {r['median_ms']:9.3f} ms  {r['gflops']:.1f} GFLOP/s",
                      file=sys.stderr)

    peers, sgemm, blas = {}, {}, ""
    if args.peers_python:
        out_json = os.path.join(ROOT, ".build", "peers.json")
        os.makedirs(os.path.dirname(out_json), exist_ok=True)
        onnx_dir = os.path.join(ROOT, ".build", "onnx")  # the exported model, kept for the int8 peer
        subprocess.run([args.peers_python, args.anchors, "--model", args.model, "--threads", "2", "--shapes", args.shapes,
                        "--json", out_json, "--min-runs", str(args.iterations), "--onnx-dir", onnx_dir],
                       check=True, stdout=sys.stderr)
        data = json.load(open(out_json))
        for r in data["rows"]:
            peers[(r["engine"], r["batch"], r["seq"])] = r["median_ms"]
        sgemm, blas = data.get("sgemm_gflops", {}), data.get("blas", "")
        if "int8" in args.precisions.split(","):
            int8_json = os.path.join(ROOT, ".build", "peers-int8.json")
            subprocess.run([args.peers_python, os.path.join(ROOT, "Benchmarks", "ort_int8_peer.py"), "--onnx-dir", onnx_dir,
                            "--shapes", args.shapes, "--json", int8_json, "--min-runs", str(args.iterations)],
                           check=True, stdout=sys.stderr)
            for r in json.load(open(int8_json))["rows"]:
                peers[(r["engine"], r["batch"], r["seq"])] = r["median_ms"]
    load_end = os.getloadavg()

    engines = list(dict.fromkeys(k[0] for k in rows)) + sorted({k[0] for k in peers})
    table = {**rows, **peers}
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end")
    if blas:
        print(f"numpy BLAS: {blas}; sgemm GFLOP/s {sgemm}")
    header = ["batch x seq"] + [f"{e} ms" for e in engines]
    ratios = [(p, q) for p in engines if p.startswith("photon") for q in ("onnxruntime", "torch-sdpa") if q in engines]
    ratios += [(p, "onnxruntime-int8") for p in engines if p.endswith("-int8") and p.startswith("photon")
               and "onnxruntime-int8" in engines]
    header += [f"{p}/{q}" for p, q in ratios]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for b, s in shapes:
        cells = [f"{b}x{s}"] + [f"{table[(e, b, s)]:.2f}" if (e, b, s) in table else "" for e in engines]
        cells += [f"{table[(p, b, s)] / table[(q, b, s)]:.2f}" if (p, b, s) in table and (q, b, s) in table else ""
                  for p, q in ratios]
        print("| " + " | ".join(cells) + " |")
    if len(args.precisions.split(",")) > 1:
        print()
        print("| backend | " + " | ".join(f"{p} weight bytes" for p in args.precisions.split(",")) + " | "
              + " | ".join(f"{p}/fp32" for p in args.precisions.split(",") if p != "fp32") + " |")
        print("|" + "---|" * (1 + 2 * len(args.precisions.split(",")) - 1))
        for backend in args.backends.split(","):
            sizes = [weight_bytes.get((backend, p)) for p in args.precisions.split(",")]
            base = weight_bytes.get((backend, "fp32"))
            cells = [backend] + [str(v) if v else "" for v in sizes]
            cells += [f"{weight_bytes[(backend, p)] / base:.3f}" if base and weight_bytes.get((backend, p)) else ""
                      for p in args.precisions.split(",") if p != "fp32"]
            print("| " + " | ".join(cells) + " |")
    if args.json:
        json.dump(dict(rows=[dict(engine=e, batch=b, seq=s, median_ms=v) for (e, b, s), v in table.items()],
                       weight_bytes={f"{b}-{p}": v for (b, p), v in weight_bytes.items()},
                       load_start=load_start, load_end=load_end, sgemm_gflops=sgemm, blas=blas), open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
