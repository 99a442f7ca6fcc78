// gemm_quant.cl — y = act(x·Wᵀ + b) with the weight stored in fewer bytes: fp16 (IEEE half,
// widened with vload_half / vload_half16, core OpenCL 1.2: no cl_khr_fp16 needed, no half
// arithmetic) or int8 q8_0 (symmetric, one fp32 scale per block of 32 input features: w = q·s).
// Activations, accumulation and the epilogue are fp32, as in gemm.cl.
//
// x: [M, K] row-major; y: [M, N]; bias: [N] or NULL; act: ACT_* from common.cl. KB = ceil(K/32).
// The host packs HF's W [N, K] once at load (Sources/PhotonOpenCL/QuantizedLinear.swift):
// - *_panel_rows (CPU-like devices, no local memory, float16 registers): column panels as in
//   gemm_panel_rows — wp [NP/GEMM_PANEL, K, GEMM_PANEL] (half or char), and for int8 the scales
//   in the same panel layout over blocks: sp [NP/GEMM_PANEL, KB, GEMM_PANEL] float.
// - *_tiled_local (GPUs, 32×32 output tiles staged in local memory by 8×8 work-groups):
//   wt [K, NP] (half or char, transposed), int8 scales st [KB, NP] float.
// NP = N rounded up to GEMM_PANEL (panels) or 32 (tiles); pad columns hold zero weights and zero
// scales. K is not padded: when K % 32 != 0 the last block is short — exactly a block padded with
// zero weights (its scale comes from the real weights; the padding would quantize to 0).
//
// Variants are named by their weight type: gemm_f16_*, gemm_q8_*. The CPU-family kernels widen
// (and scale) one weight vector per k and reuse it for GEMM_ROWS rows of x, so dequantization
// costs one convert (+ one multiply) per weight per work-item, not per product.
//
// One row of x (M = 1: a decode step) is a GEMV bound by weight bytes. The fp16 panel kernel runs
// it with GEMM_ROWS = 1 (one widened weight vector per FMA, as fast as the weights stream); int8
// has its own, gemm_q8_panel_gemv, which sums q·x over a block before one multiply by the scales,
// so each weight costs one convert and one FMA (the panel kernel's extra multiply per weight
// made it compute-bound at M = 1).
//
// Host guarantees: NP % GEMM_PANEL == 0 (% 32 for tiles); global sizes as given above each kernel;
// rows ≥ M are computed on row M-1 (clamped) and never stored; columns ≥ N never stored.

#ifndef GEMM_ROWS
#define GEMM_ROWS 6
#endif
#ifndef GEMM_PANEL_VECS
#define GEMM_PANEL_VECS 1
#endif
#define GEMM_PANEL (16 * GEMM_PANEL_VECS)
#ifndef GEMM_K_UNROLL
#define GEMM_K_UNROLL 4
#endif
#define QBLOCK 32

// activate16, PANEL_PROLOGUE and PANEL_EPILOGUE come from common.cl (shared with gemm.cl).

// wp: [NP/GEMM_PANEL, K, GEMM_PANEL] half. global: (NP/GEMM_PANEL, ceil(M/GEMM_ROWS)).
__kernel void gemm_f16_panel_rows(__global const float* x, __global const half* wp,
                                  __global const float* bias, __global float* y, const int M,
                                  const int N, const int K, const int NP, const int act) {
  PANEL_PROLOGUE()
  __global const half* w = wp + (size_t)panel * K * GEMM_PANEL;
  FOR_K_UNROLLED(k, 0, K,
    float16 wv[GEMM_PANEL_VECS];
    _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) wv[v] = vload_half16(v, w);
    w += GEMM_PANEL;
    PANEL_FMA(k, wv)
  )
  PANEL_EPILOGUE()
}

// wp: [NP/GEMM_PANEL, K, GEMM_PANEL] char, sp: [NP/GEMM_PANEL, KB, GEMM_PANEL] float.
// global: (NP/GEMM_PANEL, ceil(M/GEMM_ROWS)).
__kernel void gemm_q8_panel_rows(__global const float* x, __global const char* wp,
                                 __global const float* sp, __global const float* bias,
                                 __global float* y, const int M, const int N, const int K,
                                 const int NP, const int act) {
  PANEL_PROLOGUE()
  __global const char* w = wp + (size_t)panel * K * GEMM_PANEL;
  __global const float* s = sp + (size_t)panel * ((K + QBLOCK - 1) / QBLOCK) * GEMM_PANEL;
  for (int k0 = 0; k0 < K; k0 += QBLOCK) {
    float16 sv[GEMM_PANEL_VECS];
#pragma unroll
    for (int v = 0; v < GEMM_PANEL_VECS; v++) sv[v] = vload16(v, s);
    s += GEMM_PANEL;
    const int kend = min(K, k0 + QBLOCK);
    FOR_K_UNROLLED(k, k0, kend,
      float16 wv[GEMM_PANEL_VECS];
      _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) wv[v] = convert_float16(vload16(v, w)) * sv[v];
      w += GEMM_PANEL;
      PANEL_FMA(k, wv)
    )
  }
  PANEL_EPILOGUE()
}

// y[m, :] = act(x[m, :]·Wᵀ + b) for one row m of x per work-item (GEMV; used for M = 1).
// wp: [NP/GEMM_PANEL, K, GEMM_PANEL] char, sp: [NP/GEMM_PANEL, KB, GEMM_PANEL] float (as above).
// Per block of 32 k: blk = Σ x[k]·q[k, :] (exact small integers times x), then acc += blk·scale.
// global: (NP/GEMM_PANEL, M).
__kernel void gemm_q8_panel_gemv(__global const float* x, __global const char* wp,
                                 __global const float* sp, __global const float* bias,
                                 __global float* y, const int M, const int N, const int K,
                                 const int NP, const int act) {
  const int panel = get_global_id(0);
  const int col0 = panel * GEMM_PANEL;
  const int row0 = get_global_id(1);
  if (col0 >= NP || row0 >= M) return;
  __global const float* xk = x + (size_t)row0 * K;
  __global const char* w = wp + (size_t)panel * K * GEMM_PANEL;
  __global const float* s = sp + (size_t)panel * ((K + QBLOCK - 1) / QBLOCK) * GEMM_PANEL;
  float16 acc[1][GEMM_PANEL_VECS];
#pragma unroll
  for (int v = 0; v < GEMM_PANEL_VECS; v++) acc[0][v] = (float16)(0.0f);
  for (int k0 = 0; k0 < K; k0 += QBLOCK) {
    float16 blk[GEMM_PANEL_VECS];
#pragma unroll
    for (int v = 0; v < GEMM_PANEL_VECS; v++) blk[v] = (float16)(0.0f);
    if (k0 + QBLOCK <= K) {
      // A full block: a fixed trip count, unrolled.
#pragma unroll
      for (int k = 0; k < QBLOCK; k++) {
        const float16 a = (float16)(xk[k]);
#pragma unroll
        for (int v = 0; v < GEMM_PANEL_VECS; v++) blk[v] = fma(a, convert_float16(vload16(v, w)), blk[v]);
        w += GEMM_PANEL;
      }
    } else {
      // The short last block (K % 32 != 0).
      for (int k = 0; k < K - k0; k++) {
        const float16 a = (float16)(xk[k]);
#pragma unroll
        for (int v = 0; v < GEMM_PANEL_VECS; v++) blk[v] = fma(a, convert_float16(vload16(v, w)), blk[v]);
        w += GEMM_PANEL;
      }
    }
#pragma unroll
    for (int v = 0; v < GEMM_PANEL_VECS; v++) acc[0][v] = fma(blk[v], vload16(v, s), acc[0][v]);
    s += GEMM_PANEL;
    xk += QBLOCK;
  }
  // PANEL_EPILOGUE with one row (it reads GEMM_ROWS rows of acc; this kernel has one).
  const int r = 0;
  if (col0 + GEMM_PANEL <= N) {
    __global float* dst = y + (size_t)row0 * N + col0;
#pragma unroll
    for (int v = 0; v < GEMM_PANEL_VECS; v++) {
      const float16 b = bias ? vload16(v, bias + col0) : (float16)(0.0f);
      vstore16(activate16(acc[r][v] + b, act), v, dst);
    }
  } else {
    float out[GEMM_PANEL];
#pragma unroll
    for (int v = 0; v < GEMM_PANEL_VECS; v++) vstore16(acc[r][v], v, out);
    __global float* dst = y + (size_t)row0 * N + col0;
    for (int c = 0; c < N - col0; c++) dst[c] = activate(out[c] + (bias ? bias[col0 + c] : 0.0f), act);
  }
}

// ---------------------------------------------------------------------------------------------
// GPU family: gemm_tiled_local of gemm.cl with the weight tile widened (and scaled) as it is
// staged in local memory, so the inner product loop is the fp32 one.
// TILE, TILE_K, WPT and the TILED_* / STAGE_X macros come from common.cl (shared with gemm.cl).

// wt: [K, NP] half. global: (ceil(N/32)·8, ceil(M/32)·8), local: (8, 8).
__kernel __attribute__((reqd_work_group_size(8, 8, 1)))
void gemm_f16_tiled_local(__global const float* x, __global const half* wt,
                          __global const float* bias, __global float* y, const int M,
                          const int N, const int K, const int NP, const int act) {
  TILED_PROLOGUE()
  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    STAGE_X()
    for (int e = tid; e < TILE * TILE_K; e += 64) {
      const int wr = e >> 5, wc = e & (TILE - 1);
      const int wk = k0 + wr;
      ws[wr][wc] = (wk < K && col0 + wc < NP) ? vload_half((size_t)wk * NP + col0 + wc, wt) : 0.0f;
    }
    TILED_PRODUCT()
  }
  TILED_EPILOGUE()
}

// wt: [K, NP] char, st: [KB, NP] float. global: (ceil(N/32)·8, ceil(M/32)·8), local: (8, 8).
__kernel __attribute__((reqd_work_group_size(8, 8, 1)))
void gemm_q8_tiled_local(__global const float* x, __global const char* wt,
                         __global const float* st, __global const float* bias,
                         __global float* y, const int M, const int N, const int K, const int NP,
                         const int act) {
  TILED_PROLOGUE()
  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    STAGE_X()
    for (int e = tid; e < TILE * TILE_K; e += 64) {
      const int wr = e >> 5, wc = e & (TILE - 1);
      const int wk = k0 + wr, col = col0 + wc;
      ws[wr][wc] = (wk < K && col < NP)
                       ? (float)wt[(size_t)wk * NP + col] * st[(size_t)(wk >> 5) * NP + col]
                       : 0.0f;
    }
    TILED_PRODUCT()
  }
  TILED_EPILOGUE()
}

// ---------------------------------------------------------------------------------------------
// Widening for large M (CPU family): with many rows the panel kernels above would widen every
// weight once per row block, while widening a layer's panels once into an fp32 scratch buffer
// (same [NP/GEMM_PANEL, K, GEMM_PANEL] layout) and running gemm.cl's gemm_panel_rows costs one
// pass over K·NP weights. The host picks this path from a row count on (QuantizedLinear.swift).
// wp: panels (half or char), sp: int8 scales as above, w: fp32 panels. global: (K, NP/GEMM_PANEL)
__kernel void widen_f16_panels(__global const half* wp, __global float* w, const int K) {
  const size_t row = ((size_t)get_global_id(1) * K + get_global_id(0)) * GEMM_PANEL;
#pragma unroll
  for (int v = 0; v < GEMM_PANEL_VECS; v++) vstore16(vload_half16(v, wp + row), v, w + row);
}

__kernel void widen_q8_panels(__global const char* wp, __global const float* sp, __global float* w,
                              const int K) {
  const int k = get_global_id(0), panel = get_global_id(1);
  const size_t row = ((size_t)panel * K + k) * GEMM_PANEL;
  __global const float* s = sp + ((size_t)panel * ((K + QBLOCK - 1) / QBLOCK) + (k >> 5)) * GEMM_PANEL;
#pragma unroll
  for (int v = 0; v < GEMM_PANEL_VECS; v++)
    vstore16(convert_float16(vload16(v, wp + row)) * vload16(v, s), v, w + row);
}
