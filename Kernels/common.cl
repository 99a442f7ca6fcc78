// common.cl — helpers shared by every kernel file. The loader prepends this file to each program,
// since embedded sources have no include path.
//
// Conventions (see PhotonCore's Backend docs): row-major; B batch, T tokens, C channels, NH heads,
// HS head size, K/N GEMM input/output features. Activation codes match the host's `Activation`.

#define ACT_IDENTITY 0
#define ACT_GELU 1       // exact erf GELU: HF "gelu"
#define ACT_GELU_TANH 2  // tanh approximation: HF "gelu_new", "gelu_pytorch_tanh"
#define ACT_RELU 3

inline float activate(float x, int act) {
  switch (act) {
    case ACT_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    case ACT_GELU_TANH: {
      const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanh(inner));
    }
    case ACT_RELU: return fmax(x, 0.0f);
    default: return x;
  }
}

// Sum of `value` over a work-group of `size` items (a power of two), through `scratch[size]`.
// Every work-item of the group must call it (it has barriers); all get the total back.
inline float group_sum(float value, __local float* scratch, int size) {
  const int lid = get_local_id(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = size / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] += scratch[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float total = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // scratch is reused by the next call
  return total;
}

// Sum of the 16 lanes.
inline float sum16(float16 v) {
  const float8 s8 = v.lo + v.hi;
  const float4 s4 = s8.lo + s8.hi;
  const float2 s2 = s4.lo + s4.hi;
  return s2.lo + s2.hi;
}

// What a padded key adds to its attention score: transformers' additive float32.min (not -inf, so
// a fully padded row still gets a uniform distribution rather than NaN).
#define MASKED_SCORE (-FLT_MAX)

inline float group_max(float value, __local float* scratch, int size) {
  const int lid = get_local_id(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = size / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] = fmax(scratch[lid], scratch[lid + stride]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float result = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return result;
}

// Finishes a layer norm of the row y[0..C) in a work-group of `size` items (norm.cl, embedding.cl):
// every item of the group has already written its own elements (j = lid, lid + size, …) and passes their sum; it normalises them in place.
inline void normalize_row(__global float* y, float sum, __global const float* weight,
                          __global const float* bias, const int C, const float eps,
                          __local float* scratch, const int size) {
  const int lid = get_local_id(0);
  const float mean = group_sum(sum, scratch, size) / C;
  float squares = 0.0f;
  for (int j = lid; j < C; j += size) {
    const float d = y[j] - mean;
    squares += d * d;
  }
  const float inverse = rsqrt(group_sum(squares, scratch, size) / C + eps);
  for (int j = lid; j < C; j += size) y[j] = (y[j] - mean) * inverse * weight[j] + bias[j];
}

// One key of an online softmax over a row of n values (FlashAttention's running maximum m,
// denominator l and accumulator acc[n], rescaled by exp(m_old − m_new) when the maximum grows;
// exp(-inf) = 0 on the first key): folds in score s with value row v. A macro, so that v may be
// in any address space (global rows, a local tile, a private copy).
#define ONLINE_SOFTMAX_FOLD(s, v, n, m, l, acc)                                                  \
  do {                                                                                          \
    const float m_new_ = fmax(m, s);                                                            \
    const float correction_ = exp(m - m_new_);                                                  \
    const float p_ = exp(s - m_new_);                                                           \
    l = l * correction_ + p_;                                                                   \
    for (int d_ = 0; d_ < (n); d_++) acc[d_] = acc[d_] * correction_ + p_ * (v)[d_];            \
    m = m_new_;                                                                                 \
  } while (0)

// activate() on 16 lanes (the same formulas, so vector and scalar epilogues agree).
inline float16 activate16(float16 x, int act) {
  switch (act) {
    case ACT_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    case ACT_GELU_TANH: {
      const float16 inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanh(inner));
    }
    case ACT_RELU: return fmax(x, 0.0f);
    default: return x;
  }
}

// The column-panel GEMM kernels (gemm.cl's gemm_panel_rows, gemm_quant.cl's f16/q8 ones) share
// their set-up, product step and epilogue; they differ only in how a weight vector is loaded.
// The macros expand in those files, where GEMM_ROWS, GEMM_PANEL_VECS and GEMM_PANEL are defined,
// inside a kernel with parameters x, bias, y, M, N, NP, act.
// y[row0 + r, col0 ..] = act(acc + b).
// Full panels store with vstore16; the last, partial panel column by column.
#define PANEL_EPILOGUE()                                                                        \
  const int rows = min(GEMM_ROWS, M - row0);                                                    \
  if (col0 + GEMM_PANEL <= N) {                                                                 \
    float16 b[GEMM_PANEL_VECS];                                                                 \
    _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++)                                 \
      b[v] = bias ? vload16(v, bias + col0) : (float16)(0.0f);                                  \
    _Pragma("unroll") for (int r = 0; r < GEMM_ROWS; r++) {                                     \
      if (r < rows) { /* not `break`: a loop that exits early is not unrolled */                \
        __global float* dst = y + (size_t)(row0 + r) * N + col0;                                \
        _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++)                             \
          vstore16(activate16(acc[r][v] + b[v], act), v, dst);                                  \
      }                                                                                         \
    }                                                                                           \
  } else {                                                                                      \
    const int width = N - col0;                                                                 \
    _Pragma("unroll") for (int r = 0; r < GEMM_ROWS; r++) {                                     \
      if (r < rows) {                                                                           \
        float out[GEMM_PANEL];                                                                  \
        _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) vstore16(acc[r][v], v, out);\
        __global float* dst = y + (size_t)(row0 + r) * N + col0;                                \
        for (int c = 0; c < width; c++)                                                         \
          dst[c] = activate(out[c] + (bias ? bias[col0 + c] : 0.0f), act);                      \
      }                                                                                         \
    }                                                                                           \
  }

// acc[r][·] += x[row0 + r, k] · wv[·] for the work-item's GEMM_ROWS rows: the product step of
// every panel kernel, which differ only in how they load (and widen) the weight vectors wv.
#define PANEL_FMA(k, wv)                                                                        \
  _Pragma("unroll") for (int r = 0; r < GEMM_ROWS; r++) {                                       \
    const float16 a = (float16)(xr[r][k]);                                                      \
    _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) acc[r][v] = fma(a, wv[v], acc[r][v]); \
  }

// for (int k = k0; k < k1; k++) { body }, GEMM_K_UNROLL iterations at a time fully unrolled, the
// rest one by one. (`#pragma unroll GEMM_K_UNROLL` on the loop itself is a request LLVM declines
// for these bodies, with a "loop not unrolled" warning at every build.)
#define FOR_K_UNROLLED(k, k0, k1, ...)                                                          \
  for (int k = (k0); k < (k1);) {                                                               \
    if (k + GEMM_K_UNROLL <= (k1)) {                                                            \
      _Pragma("unroll") for (int u_ = 0; u_ < GEMM_K_UNROLL; u_++, k++) { __VA_ARGS__ }         \
    } else {                                                                                    \
      __VA_ARGS__                                                                               \
      k++;                                                                                      \
    }                                                                                           \
  }

#define PANEL_PROLOGUE()                                                                        \
  const int panel = get_global_id(0);                                                           \
  const int col0 = panel * GEMM_PANEL;                                                          \
  const int row0 = get_global_id(1) * GEMM_ROWS;                                                \
  if (col0 >= NP || row0 >= M) return;                                                          \
  float16 acc[GEMM_ROWS][GEMM_PANEL_VECS];                                                      \
  __global const float* xr[GEMM_ROWS];                                                          \
  _Pragma("unroll") for (int r = 0; r < GEMM_ROWS; r++) {                                       \
    _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) acc[r][v] = (float16)(0.0f);    \
    xr[r] = x + (size_t)min(row0 + r, M - 1) * K; /* clamped: never stored */                   \
  }

// The 32×32-tile GEMM kernels for GPUs (gemm.cl's gemm_tiled_local, gemm_quant.cl's f16/q8 ones):
// a work-group of 8×8 items computes a 32×32 tile of y, each item WPT×WPT outputs, from TILE×TILE_K
// slices of x and TILE_K×TILE slices of the weight staged in local memory. They differ only in how
// a weight slice is loaded (and widened) into ws. Expanded inside a kernel with parameters x, bias,
// y, M, N, K, act.
#define TILE 32    // output tile edge per work-group
#define TILE_K 16  // depth of the staged slices (two per int8 block of gemm_quant.cl)
#define WPT 4      // outputs per work-item along each axis (8×8 items × 4×4 = 32×32)

// Stages x[row0 .., k0 ..] into xs; out-of-range entries are zero. Index math by shifts (TILE_K
// and TILE are powers of two): no runtime `/` and `%` on the same value (Oclgrind and `freeze`).
#define STAGE_X()                                                                               \
  for (int e = tid; e < TILE * TILE_K; e += 64) {                                               \
    const int r = e >> 4, c = e & (TILE_K - 1);                                                 \
    const int gr = row0 + r, gk = k0 + c;                                                       \
    xs[r][c] = (gr < M && gk < K) ? x[(size_t)gr * K + gk] : 0.0f;                              \
  }

// One staged slice: the whole group waits for the tiles, multiplies, waits again before restaging.
#define TILED_PRODUCT()                                                                         \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                 \
  for (int kk = 0; kk < TILE_K; kk++) {                                                         \
    float a[WPT], bv[WPT];                                                                      \
    for (int i = 0; i < WPT; i++) a[i] = xs[ty + 8 * i][kk];                                    \
    for (int j = 0; j < WPT; j++) bv[j] = ws[kk][tx + 8 * j];                                   \
    for (int i = 0; i < WPT; i++)                                                               \
      for (int j = 0; j < WPT; j++) acc[i][j] = fma(a[i], bv[j], acc[i][j]);                    \
  }                                                                                             \
  barrier(CLK_LOCAL_MEM_FENCE);

#define TILED_EPILOGUE()                                                                        \
  for (int i = 0; i < WPT; i++) {                                                               \
    const int row = row0 + ty + 8 * i;                                                          \
    if (row >= M) continue;                                                                     \
    for (int j = 0; j < WPT; j++) {                                                             \
      const int col = col0 + tx + 8 * j;                                                        \
      if (col >= N) continue;                                                                   \
      y[(size_t)row * N + col] = activate(acc[i][j] + (bias ? bias[col] : 0.0f), act);          \
    }                                                                                           \
  }

#define TILED_PROLOGUE()                                                                        \
  __local float xs[TILE][TILE_K + 1]; /* +1: avoid bank conflicts on column reads */            \
  __local float ws[TILE_K][TILE];                                                               \
  const int tx = get_local_id(0), ty = get_local_id(1);                                         \
  const int tid = ty * 8 + tx;                                                                  \
  const int col0 = get_group_id(0) * TILE, row0 = get_group_id(1) * TILE;                       \
  float acc[WPT][WPT];                                                                          \
  for (int i = 0; i < WPT; i++)                                                                 \
    for (int j = 0; j < WPT; j++) acc[i][j] = 0.0f;
