// elementwise.cl — element-wise functions of one tensor (unary: tanh, GELU, …) and of two
// (binary: add, multiply), the zero fill, and the ops that take a row at a time: softmax, masked
// pooling and argmax. Codes match the host's UnaryOperation / BinaryOperation / Pooling.

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

#define UNARY_TANH 4  // after common.cl's ACT_* codes, which the other unary ops reuse

// y = op(x). x, y: [n]. global: (n) rounded up.
__kernel void unary_elementwise(__global const float* x, __global float* y, const int n,
                                const int op) {
  const int i = get_global_id(0);
  if (i < n) y[i] = op == UNARY_TANH ? tanh(x[i]) : activate(x[i], op);
}

#define BINARY_ADD 0
#define BINARY_MULTIPLY 1

// y = a op b. a, b, y: [n]. global: (n) rounded up.
__kernel void binary_elementwise(__global const float* a, __global const float* b,
                                 __global float* y, const int n, const int op) {
  const int i = get_global_id(0);
  if (i < n) y[i] = op == BINARY_MULTIPLY ? a[i] * b[i] : a[i] + b[i];
}

// y = 0. y: [n]. global: (n) rounded up.
__kernel void fill_zero(__global float* y, const int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = 0.0f;
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

// ids[r] = the first index of the largest value of row r. x: [rows, V]; ids: [rows].
// One work-group of ROW_WG items per row: each scans a strided slice, then a tree reduction keeps
// the larger value, or the smaller index on ties (torch.argmax returns the first maximum).
// global: (ROW_WG, rows), local: (ROW_WG, 1)
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void argmax_rows(__global const float* x, __global int* ids, const int V) {
  __local float best_value[ROW_WG];
  __local int best_index[ROW_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * V;
  float value = -INFINITY;
  int index = V;  // "none yet": loses every tie against a real index
  for (int j = lid; j < V; j += ROW_WG) {
    const float v = x[base + j];
    if (v > value || index == V) {
      value = v;
      index = j;
    }
  }
  best_value[lid] = value;
  best_index[lid] = index;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = ROW_WG / 2; stride > 0; stride /= 2) {
    if (lid < stride) {
      const float other = best_value[lid + stride];
      const int other_index = best_index[lid + stride];
      const bool take = other_index < V &&
                        (best_index[lid] == V || other > best_value[lid] ||
                         (other == best_value[lid] && other_index < best_index[lid]));
      if (take) {
        best_value[lid] = other;
        best_index[lid] = other_index;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) ids[get_group_id(1)] = min(best_index[0], V - 1);
}
