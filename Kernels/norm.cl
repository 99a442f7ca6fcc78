// norm.cl — layer normalisation, alone or fused with the residual add and with the embedding
// gather. One work-group of NORM_WG items (a power of two) per row of C channels; two passes
// (mean, then variance of centred values), as PyTorch computes it.

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
