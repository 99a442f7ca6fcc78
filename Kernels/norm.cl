// norm.cl — the normalisations over the last axis of x (+ residual, fused): layer norm in two
// passes (mean, then variance of centred values), as PyTorch computes it; RMS norm (T5); L2.
// Two shapes of the layer norm:
// - layer_norm (GPUs): one work-group of NORM_WG items (a power of two) per row of C channels,
//   reducing through local memory.
// - layer_norm_rows (CPU-like devices): one work-item per row, 16 channels per load, no barriers.
//   On PoCL (MiniLM, 4096 × 384) it takes 0.6 ms against 3.7 ms for the work-group form, whose
//   barriers split every row into loops over 64 items.

#ifndef NORM_WG
#define NORM_WG 64
#endif

// y = LayerNorm(x + residual) · weight + bias.
// x, residual (or NULL), y: [rows, C]; weight, bias: [C]. global: (NORM_WG, rows), local: (NORM_WG, 1)
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void layer_norm(__global const float* x, __global const float* residual,
                __global const float* weight, __global const float* bias, __global float* y,
                const int C, const float eps) {
  __local float scratch[NORM_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * C;

  float sum = 0.0f;
  for (int j = lid; j < C; j += NORM_WG) {
    const float v = x[base + j] + (residual ? residual[base + j] : 0.0f);
    y[base + j] = v;  // each item reads back only what it wrote itself
    sum += v;
  }
  normalize_row(y + base, sum, weight, bias, C, eps, scratch, NORM_WG);
}

// y = LayerNorm(x + residual) · weight + bias, one work-item per row: channels in float16 blocks,
// then the C % 16 left over one by one. Same arguments as layer_norm. global: (rows), local: any
__kernel void layer_norm_rows(__global const float* x, __global const float* residual,
                              __global const float* weight, __global const float* bias,
                              __global float* y, const int C, const int rows, const float eps) {
  const int row = get_global_id(0);
  if (row >= rows) return;
  const int vecs = C / 16;
  __global const float* xr = x + (size_t)row * C;
  __global const float* rr = residual ? residual + (size_t)row * C : 0;
  __global float* yr = y + (size_t)row * C;

  float16 vector_sum = (float16)(0.0f);
  float sum = 0.0f;
  for (int c = 0; c < vecs; c++) {
    float16 v = vload16(c, xr);
    if (rr) v += vload16(c, rr);
    vstore16(v, c, yr);
    vector_sum += v;
  }
  for (int j = vecs * 16; j < C; j++) {
    const float v = xr[j] + (rr ? rr[j] : 0.0f);
    yr[j] = v;
    sum += v;
  }
  const float mean = (sum16(vector_sum) + sum) / C;

  float16 vector_squares = (float16)(0.0f);
  float squares = 0.0f;
  for (int c = 0; c < vecs; c++) {
    const float16 d = vload16(c, yr) - mean;
    vector_squares = fma(d, d, vector_squares);
  }
  for (int j = vecs * 16; j < C; j++) {
    const float d = yr[j] - mean;
    squares += d * d;
  }
  const float inverse = rsqrt((sum16(vector_squares) + squares) / C + eps);

  for (int c = 0; c < vecs; c++)
    vstore16((vload16(c, yr) - mean) * inverse * vload16(c, weight) + vload16(c, bias), c, yr);
  for (int j = vecs * 16; j < C; j++) yr[j] = (yr[j] - mean) * inverse * weight[j] + bias[j];
}

// The row x + residual (residual may be NULL), element j.
#define ROW_INPUT(j) (x[base + (j)] + (residual ? residual[base + (j)] : 0.0f))

// y = v / max(‖v‖₂, 1e-12) per row, v = x + residual. x, residual (or NULL), y: [rows, C].
// global: (NORM_WG, rows), local: (NORM_WG, 1)
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void l2_norm(__global const float* x, __global const float* residual, __global float* y,
             const int C) {
  __local float scratch[NORM_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * C;
  float squares = 0.0f;
  for (int j = lid; j < C; j += NORM_WG) squares += ROW_INPUT(j) * ROW_INPUT(j);
  const float norm = fmax(sqrt(group_sum(squares, scratch, NORM_WG)), 1e-12f);
  for (int j = lid; j < C; j += NORM_WG) y[base + j] = ROW_INPUT(j) / norm;
}

// y = v / sqrt(mean(v²) + eps) · weight, v = x + residual: T5LayerNorm, RMSNorm (no mean
// subtracted, no bias). x, residual (or NULL), y: [rows, C]; weight: [C].
// global: (NORM_WG, rows), local: (NORM_WG, 1)
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void rms_norm(__global const float* x, __global const float* residual,
              __global const float* weight, __global float* y, const int C, const float eps) {
  __local float scratch[NORM_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * C;
  float squares = 0.0f;
  for (int j = lid; j < C; j += NORM_WG) squares += ROW_INPUT(j) * ROW_INPUT(j);
  const float inverse = rsqrt(group_sum(squares, scratch, NORM_WG) / C + eps);
  for (int j = lid; j < C; j += NORM_WG) y[base + j] = ROW_INPUT(j) * inverse * weight[j];
}
