// gemm.cl — y = act(x·Wᵀ + b), the linear layer, in two kernel families.
//
// x: [M, K] row-major. The weight arrives from Hugging Face as W [N, K]; the host packs it once at
// load as Wt [K, NP] (transposed, NP = N rounded up to 32, pad columns zero) so that the kernels
// stream contiguous weight rows along N, or for gemm_panel_rows as column panels
// [NP/GEMM_PANEL, K, GEMM_PANEL] (NP = N rounded up to GEMM_PANEL). y: [M, N]. bias: [N] or NULL. act: ACT_* from common.cl.
//
// Variants (named by what they assume; the host picks one per device, all are tested):
// - gemm_panel_rows: for CPU-like devices (PoCL), the default there. Like gemm_packed_rows_x32
//   but the weight is packed into contiguous column panels (its own layout, see below), the block
//   (GEMM_ROWS × 16·GEMM_PANEL_VECS) is chosen per device and M, and the epilogue is vectorised.
// - gemm_packed_rows_x32: the general CPU-like variant, on Wt [K, NP]. One work-item owns
//   GEMM_ROWS rows × 32 columns of y as 2·GEMM_ROWS float16 accumulators: per k it loads two float16 of Wt and
//   broadcasts one scalar of x per row. No local memory (on a CPU it is ordinary RAM).
// - gemm_tiled_local: for GPUs. A work-group of 8×8 items computes a 32×32 tile of y, each item
//   4×4 outputs; 32×16 tiles of x and 16×32 of Wt are staged in local memory by the whole group.
//
// Host guarantees: NP % 32 == 0 (% GEMM_PANEL for panels); global sizes as given above each kernel; rows ≥ M and columns ≥ N
// are computed on clamped/zero data and never stored.

#ifndef GEMM_ROWS
#define GEMM_ROWS 6
#endif

// global: (ceil(NP/32) rounded up to the local size, ceil(M/GEMM_ROWS) rounded likewise)
__kernel void gemm_packed_rows_x32(__global const float* x, __global const float* wt,
                                   __global const float* bias, __global float* y,
                                   const int M, const int N, const int K, const int NP,
                                   const int act) {
  const int col0 = get_global_id(0) * 32;
  const int row0 = get_global_id(1) * GEMM_ROWS;
  if (col0 >= NP || row0 >= M) return;

  float16 lo[GEMM_ROWS], hi[GEMM_ROWS];
  int rows[GEMM_ROWS];
#pragma unroll
  for (int r = 0; r < GEMM_ROWS; r++) {
    lo[r] = (float16)(0.0f);
    hi[r] = (float16)(0.0f);
    rows[r] = min(row0 + r, M - 1);  // clamped: past-the-end rows read row M-1, never stored
  }
  __global const float* w = wt + col0;
  for (int k = 0; k < K; k++) {
    const float16 w_lo = vload16(0, w);
    const float16 w_hi = vload16(1, w);
    w += NP;
#pragma unroll
    for (int r = 0; r < GEMM_ROWS; r++) {
      const float a = x[rows[r] * K + k];
      lo[r] = fma((float16)(a), w_lo, lo[r]);
      hi[r] = fma((float16)(a), w_hi, hi[r]);
    }
  }

  float b[32];
  for (int c = 0; c < 32; c++) b[c] = (bias && col0 + c < N) ? bias[col0 + c] : 0.0f;
#pragma unroll
  for (int r = 0; r < GEMM_ROWS; r++) {
    if (row0 + r >= M) break;
    float out[32];
    vstore16(lo[r], 0, out);
    vstore16(hi[r], 1, out);
    __global float* dst = y + (size_t)(row0 + r) * N + col0;
    const int width = min(32, N - col0);
    for (int c = 0; c < width; c++) dst[c] = activate(out[c] + b[c], act);
  }
}

// ---------------------------------------------------------------------------------------------
// gemm_panel_rows: for CPU-like devices, the weight packed into column panels.
//
// wp: [NP/GEMM_PANEL, K, GEMM_PANEL] — the host packs W [N, K] once at load so that panel p holds
// columns p·GEMM_PANEL ..< (p+1)·GEMM_PANEL of Wᵀ, k-major: a work-item streams one contiguous
// block of K·GEMM_PANEL floats (few pages, one prefetch stream) instead of K rows NP apart.
// One work-item owns GEMM_ROWS rows × GEMM_PANEL columns of y as GEMM_ROWS·GEMM_PANEL_VECS
// float16 accumulators; per k it loads GEMM_PANEL_VECS float16 of the panel and broadcasts one
// scalar of x per row. Full panels store with vstore16 (bias and activation vectorised); the last,
// partial panel stores column by column. Past-the-end rows are computed on row M-1, never stored.
// global: (NP/GEMM_PANEL, ceil(M/GEMM_ROWS)), each rounded up to the local size (any shape).
// Host guarantees: NP % GEMM_PANEL == 0, pad columns of wp are zero.
#ifndef GEMM_PANEL_VECS
#define GEMM_PANEL_VECS 2  // float16 vectors per row: 2 → 32-column panels
#endif
#define GEMM_PANEL (16 * GEMM_PANEL_VECS)
#ifndef GEMM_K_UNROLL
#define GEMM_K_UNROLL 4
#endif

__kernel void gemm_panel_rows(__global const float* x, __global const float* wp,
                              __global const float* bias, __global float* y, const int M,
                              const int N, const int K, const int NP, const int act) {
  PANEL_PROLOGUE()
  __global const float* w = wp + (size_t)panel * K * GEMM_PANEL;
  FOR_K_UNROLLED(k, 0, K,
    float16 wv[GEMM_PANEL_VECS];
    _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) wv[v] = vload16(v, w);
    w += GEMM_PANEL;
    PANEL_FMA(k, wv)
  )

  PANEL_EPILOGUE()
}

// global: (ceil(N/32)·8, ceil(M/32)·8), local: (8, 8). TILED_* and STAGE_X: common.cl.
__kernel __attribute__((reqd_work_group_size(8, 8, 1)))
void gemm_tiled_local(__global const float* x, __global const float* wt,
                      __global const float* bias, __global float* y,
                      const int M, const int N, const int K, const int NP, const int act) {
  TILED_PROLOGUE()
  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    STAGE_X()
    for (int e = tid; e < TILE * TILE_K; e += 64) {
      const int wr = e >> 5, wc = e & (TILE - 1);
      const int wk = k0 + wr;
      ws[wr][wc] = (wk < K && col0 + wc < NP) ? wt[(size_t)wk * NP + col0 + wc] : 0.0f;
    }
    TILED_PRODUCT()
  }
  TILED_EPILOGUE()
}

// The epilogue after a library GEMM (CLBlast) that cannot fuse it: y = act(y + b), in place.
// y: [M, N]; global: (N, M) rounded up.
__kernel void bias_activation(__global float* y, __global const float* bias, const int M,
                              const int N, const int act) {
  const int col = get_global_id(0), row = get_global_id(1);
  if (col >= N || row >= M) return;
  const size_t i = (size_t)row * N + col;
  y[i] = activate(y[i] + (bias ? bias[col] : 0.0f), act);
}
