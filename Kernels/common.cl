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
      if (r >= rows) break;                                                                     \
      __global float* dst = y + (size_t)(row0 + r) * N + col0;                                  \
      _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++)                               \
        vstore16(activate16(acc[r][v] + b[v], act), v, dst);                                    \
    }                                                                                           \
  } else {                                                                                      \
    const int width = N - col0;                                                                 \
    _Pragma("unroll") for (int r = 0; r < GEMM_ROWS; r++) {                                     \
      if (r >= rows) break;                                                                     \
      float out[GEMM_PANEL];                                                                    \
      _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) vstore16(acc[r][v], v, out);  \
      __global float* dst = y + (size_t)(row0 + r) * N + col0;                                  \
      for (int c = 0; c < width; c++)                                                           \
        dst[c] = activate(out[c] + (bias ? bias[col0 + c] : 0.0f), act);                        \
    }                                                                                           \
  }

// acc[r][·] += x[row0 + r, k] · wv[·] for the work-item's GEMM_ROWS rows: the product step of
// every panel kernel, which differ only in how they load (and widen) the weight vectors wv.
#define PANEL_FMA(k, wv)                                                                        \
  _Pragma("unroll") for (int r = 0; r < GEMM_ROWS; r++) {                                       \
    const float16 a = (float16)(xr[r][k]);                                                      \
    _Pragma("unroll") for (int v = 0; v < GEMM_PANEL_VECS; v++) acc[r][v] = fma(a, wv[v], acc[r][v]); \
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
