#!/usr/bin/env python3
"""ONNX Runtime with dynamic int8 quantization, the peer row for Photon's --precision int8.

Takes the fp32 model.onnx that ../shared/anchors/py_anchor_bench.py exported (--onnx-dir), quantizes
its weights with onnxruntime.quantization.quantize_dynamic (QInt8 weights, per-tensor scales;
activations quantized at run time, so MatMuls run as integer products), and times it at the given
shapes the way the anchor script times its rows (2 warm-ups, then at least --min-runs runs and
--min-seconds; median). It also reports what the quantization costs in accuracy against the fp32
graph: min cosine of the mean-pooled, L2-normalised embeddings over the batch rows, and max abs diff
of the hidden states.

  $PEERS/bin/python Benchmarks/ort_int8_peer.py --onnx-dir .build/onnx --shapes 1x16,32x128 --json out.json
"""
import argparse, json, os, statistics, sys, time

import numpy as np


def timed_median(fn, min_runs, min_seconds):
    fn()
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
        if len(times) >= 200:
            break
    return statistics.median(times), len(times)


def pooled(hidden):
    v = hidden.mean(axis=1)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx-dir", required=True, help="folder holding the anchor script's model.onnx")
    ap.add_argument("--shapes", default="1x16,1x128,8x128,32x128,1x512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-runs", type=int, default=10)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--vocab", type=int, default=30522, help="token ids are drawn below this")
    ap.add_argument("--json")
    args = ap.parse_args()

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32_path = os.path.join(args.onnx_dir, "model.onnx")
    int8_path = os.path.join(args.onnx_dir, "model.int8.onnx")
    if not os.path.exists(fp32_path):
        sys.exit(f"{fp32_path} not found: run py_anchor_bench.py with --onnx-dir {args.onnx_dir} first")
    quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)

    def session(path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    fp32, int8 = session(fp32_path), session(int8_path)
    rng = np.random.default_rng(0)
    rows, load_start = [], os.getloadavg()
    for shape in args.shapes.split(","):
        b, s = map(int, shape.split("x"))
        feed = {"input_ids": rng.integers(1000, args.vocab, size=(b, s), dtype=np.int64),
                "attention_mask": np.ones((b, s), np.int64)}
        want, got = fp32.run(None, feed)[0], int8.run(None, feed)[0]
        cosine = float((pooled(want) * pooled(got)).sum(axis=1).min())
        diff = float(np.abs(want - got).max())
        ms, runs = timed_median(lambda: int8.run(None, feed), args.min_runs, args.min_seconds)
        rows.append(dict(engine="onnxruntime-int8", batch=b, seq=s, median_ms=ms, runs=runs,
                         min_cosine_vs_fp32=cosine, max_abs_diff_vs_fp32=diff))
        print(f"onnxruntime-int8 {b}x{s}: median {ms:.2f} ms ({runs} runs); vs fp32 graph: "
              f"min cosine {cosine:.6f}, max abs diff {diff:.3e}", file=sys.stderr)
    sizes = {"fp32_bytes": os.path.getsize(fp32_path), "int8_bytes": os.path.getsize(int8_path)}
    print(f"model.onnx {sizes['fp32_bytes']} B, model.int8.onnx {sizes['int8_bytes']} B "
          f"({sizes['int8_bytes'] / sizes['fp32_bytes']:.3f}x)", file=sys.stderr)
    if args.json:
        json.dump(dict(rows=rows, onnx_sizes=sizes, onnxruntime=ort.__version__,
                       load_start=load_start, load_end=os.getloadavg()), open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
