// elementwise.cl — row softmax, tanh and masked pooling.

#ifndef ROW_WG
#define ROW_WG 64
#endif

// Softmax over each row. x, y: [rows, C]. global: (ROW_WG, rows), local: (ROW_WG, 1)
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void softmax_rows(__global const float* x, __global float* y, const int C) {
  __local float scratch[ROW_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * C;
  float m = -INFINITY;
  for (int j = lid; j < C; j += ROW_WG) m = fmax(m, x[base + j]);
  m = group_max(m, scratch, ROW_WG);
  float sum = 0.0f;
  for (int j = lid; j < C; j += ROW_WG) {
    const float e = exp(x[base + j] - m);
    y[base + j] = e;
    sum += e;
  }
  const float inverse = 1.0f / group_sum(sum, scratch, ROW_WG);
  for (int j = lid; j < C; j += ROW_WG) y[base + j] *= inverse;
}

// y = tanh(x). global: (count) rounded up.
__kernel void tanh_elementwise(__global const float* x, __global float* y, const int count) {
  const int i = get_global_id(0);
  if (i < count) y[i] = tanh(x[i]);
}

#define POOL_MEAN 0
#define POOL_CLS 1
#define POOL_MAX 2

// Pools x: [B, T, C] over positions where mask: [B, T] is non-zero, into y: [B, C].
// An all-padding row gives 0 (mean, as sentence-transformers' clamp) or -1e9 (max, its fill).
// global: (C, B) rounded up.
__kernel void pool_masked(__global const float* x, __global const int* mask, __global float* y,
                          const int T, const int C, const int mode) {
  const int c = get_global_id(0), b = get_global_id(1);
  if (c >= C) return;
  __global const float* xb = x + (size_t)b * T * C + c;
  float result;
  if (mode == POOL_CLS) {
    result = T > 0 ? xb[0] : 0.0f;
  } else if (mode == POOL_MAX) {
    result = -1e9f;
    bool any = false;
    for (int t = 0; t < T; t++) {
      if (mask[b * T + t]) {
        result = any ? fmax(result, xb[(size_t)t * C]) : xb[(size_t)t * C];
        any = true;
      }
    }
  } else {
    float sum = 0.0f;
    int kept = 0;
    for (int t = 0; t < T; t++) {
      if (mask[b * T + t]) {
        sum += xb[(size_t)t * C];
        kept++;
      }
    }
    result = sum / (float)max(kept, 1);
  }
  y[(size_t)b * C + c] = result;
}
