#!/usr/bin/env python3
"""The peer for `photon bench-gemm`: numpy (OpenBLAS) sgemm at the same shapes.

y = x · Wᵀ, row-major, float32, x [M, K], W [N, K] (Hugging Face's [out, in]); GFLOP/s = 2·M·N·K / t,
median of --iterations runs after --warmup. Two threads by default (the machine has two cores).

This machine may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which can pick a slower OpenBLAS kernel.
To compare against OpenBLAS at its best, unset them for this command only:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 Benchmarks/gemm_peer.py

The script prints which OpenBLAS kernel (core type) and thread count it ran with.
"""

import argparse
import json
import os
import sys
import time

DEFAULT_SHAPES = "4096x1536x384,4096x384x1536,128x1536x384,128x384x1536,16x1536x384,16x384x1536"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=DEFAULT_SHAPES, help="MxNxK[,MxNxK...] (default: MiniLM's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # Thread counts must be fixed before numpy loads OpenBLAS.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    import numpy as np

    blas = describe_blas(np, args.threads)
    rng = np.random.default_rng(0)
    results = []
    for text in args.shapes.split(","):
        m, n, k = (int(v) for v in text.lower().split("x"))
        x = rng.uniform(-1, 1, size=(m, k)).astype(np.float32)
        w = rng.uniform(-0.2, 0.2, size=(n, k)).astype(np.float32)
        y = np.empty((m, n), dtype=np.float32)
        for _ in range(args.warmup):
            np.matmul(x, w.T, out=y)
        times = []
        for _ in range(args.iterations):
            start = time.perf_counter()
            np.matmul(x, w.T, out=y)
            times.append(time.perf_counter() - start)
        times.sort()
        median = times[len(times) // 2]
        p90 = times[min(len(times) - 1, -(-len(times) * 9 // 10) - 1)]
        flop = 2.0 * m * n * k
        results.append(
            dict(peer="numpy", m=m, n=n, k=k, iterations=args.iterations, medianMs=median * 1e3,
                 p90Ms=p90 * 1e3, medianGFLOPS=flop / median / 1e9, p90GFLOPS=flop / p90 / 1e9))
    if args.json:
        print(json.dumps(dict(blas=blas, results=results), indent=2))
    else:
        for r in results:
            print(f"numpy          M={r['m']:<5} N={r['n']:<5} K={r['k']:<5}  median {r['medianMs']:9.3f} ms"
                  f"  p90 {r['p90Ms']:9.3f} ms  {r['medianGFLOPS']:7.1f} GFLOP/s (p90 {r['p90GFLOPS']:6.1f})")
        print(f"numpy {np.__version__}; {blas}; {args.iterations} runs after {args.warmup} warm-up")
    return 0


def describe_blas(np, threads: int) -> str:
    """Which BLAS numpy runs, its kernel (core type) and threads; pins the thread count."""
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(threads)
        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            i = infos[0]
            return (f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')}, "
                    f"{i.get('num_threads')} threads; env {env or 'clean'}")
    except ImportError:
        pass
    # Without threadpoolctl: numpy's build config names the BLAS; OpenBLAS's own config string
    # (with the core type it picked at load) is read through its C API when reachable.
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        name = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy: no mode="dicts"
        name = "unknown BLAS"
    core = openblas_core_name()
    return f"{name} kernel {core}, {threads} threads; env {env or 'clean'}"


def openblas_core_name() -> str:
    """OpenBLAS's own name for the kernel it picked at load (e.g. SkylakeX, Haswell, Zen)."""
    import ctypes
    import glob

    import numpy

    here = os.path.dirname(numpy.__file__)
    paths = glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*")) + glob.glob(
        os.path.join(here, ".libs", "*openblas*")) + ["libopenblas.so.0"]
    # Wheels build scipy-openblas with prefixed (and for ILP64, suffixed) symbol names.
    names = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename")
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
