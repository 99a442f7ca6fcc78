// norm.cl — layer normalisation, alone or fused with the residual add and with the embedding
// gather; two passes (mean, then variance of centred values), as PyTorch computes it.
// Two shapes of the same computation:
// - layer_norm (GPUs): one work-group of NORM_WG items (a power of two) per row of C channels,
//   reducing through local memory.
// - layer_norm_rows (CPU-like devices): one work-item per row, 16 channels per load, no barriers.
//   On PoCL (MiniLM, 4096 × 384) it takes 0.6 ms against 3.7 ms for the work-group form, whose
//   barriers split every row into loops over 64 items.

#ifndef NORM_WG
#define NORM_WG 64
#endif

// Finishes a layer norm of the row y[0..C): every item of the group has already written its own
// elements (j = lid, lid + NORM_WG, …) and passes their sum; it normalises them in place.
inline void normalize_row(__global float* y, float sum, __global const float* weight,
                          __global const float* bias, const int C, const float eps,
                          __local float* scratch) {
  const int lid = get_local_id(0);
  const float mean = group_sum(sum, scratch, NORM_WG) / C;
  float squares = 0.0f;
  for (int j = lid; j < C; j += NORM_WG) {
    const float d = y[j] - mean;
    squares += d * d;
  }
  const float inverse = rsqrt(group_sum(squares, scratch, NORM_WG) / C + eps);
  for (int j = lid; j < C; j += NORM_WG) y[j] = (y[j] - mean) * inverse * weight[j] + bias[j];
}

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
  normalize_row(y + base, sum, weight, bias, C, eps, scratch);
}

// Sum of the 16 lanes.
inline float sum16(float16 v) {
  const float8 s8 = v.lo + v.hi;
  const float4 s4 = s8.lo + s8.hi;
  const float2 s2 = s4.lo + s4.hi;
  return s2.lo + s2.hi;
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

// y[t] = LayerNorm(word[ids[t]] + position[positions[t]] + token_type[types[t]]).
// ids, positions, types (or NULL = type 0): [tokens]; tables: [rows, C] (token_type may be NULL);
// y: [tokens, C]. Indices are clamped into their tables (the host validated them; clamping keeps
// a bad id from reading outside the buffer). global: (NORM_WG, tokens), local: (NORM_WG, 1)
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void embeddings_layer_norm(__global const int* ids, __global const int* positions,
                           __global const int* types, __global const float* word,
                           __global const float* position, __global const float* token_type,
                           __global const float* weight, __global const float* bias,
                           __global float* y, const int C, const int word_rows,
                           const int position_rows, const int type_rows, const float eps) {
  __local float scratch[NORM_WG];
  const int lid = get_local_id(0);
  const int t = get_group_id(1);
  const size_t base = (size_t)t * C;
  const int w = clamp(ids[t], 0, word_rows - 1);
  const int p = clamp(positions[t], 0, position_rows - 1);
  const int k = types ? clamp(types[t], 0, type_rows - 1) : 0;

  float sum = 0.0f;
  for (int j = lid; j < C; j += NORM_WG) {
    float v = word[(size_t)w * C + j] + position[(size_t)p * C + j];
    if (token_type) v += token_type[(size_t)k * C + j];
    y[base + j] = v;
    sum += v;
  }
  normalize_row(y + base, sum, weight, bias, C, eps, scratch);
}

// y = x / max(‖x‖₂, 1e-12) per row. x, y: [rows, C]. global: (NORM_WG, rows), local: (NORM_WG, 1)
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void l2_normalize(__global const float* x, __global float* y, const int C) {
  __local float scratch[NORM_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * C;
  float squares = 0.0f;
  for (int j = lid; j < C; j += NORM_WG) squares += x[base + j] * x[base + j];
  const float norm = fmax(sqrt(group_sum(squares, scratch, NORM_WG)), 1e-12f);
  for (int j = lid; j < C; j += NORM_WG) y[base + j] = x[base + j] / norm;
}
