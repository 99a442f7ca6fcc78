// t5.cl — the ops T5 adds: a plain embedding gather (T5's `shared` table has no positions), an
// element-wise product (the gated FFN of flan-t5) and self-attention with T5's additive relative
// position bias (computed once per pass on the host from layer 0's bucket table, shared by every
// layer, as transformers does).
//
// Layouts: row-major; B batch, Tq new queries, L keys attended, S key rows (a KV cache's capacity,
// or L), C = NH·HEAD_DIM channels. The bias is [NH, P, P'] indexed by absolute positions.
//
// Host guarantees: shapes were checked by PhotonCore's ShapeCheck before launch (Tq ≤ L ≤ S,
// P ≥ L, P' ≥ L); ids were checked against the table (and are clamped here as well, so a bad id
// cannot read outside a buffer); HEAD_DIM is defined for biased_attention. Multi-dimensional
// NDRanges replace every div/mod pair of index arithmetic.

// y[b, t] = table[ids[b, t]]. ids: [B, T]; table: [rows, C]; y: [B, T, C]. global: (C, T, B)
__kernel void gather_rows(__global const int* ids, __global const float* table, __global float* y,
                          const int T, const int C, const int rows) {
  const int j = get_global_id(0), t = get_global_id(1), b = get_global_id(2);
  if (j >= C || t >= T) return;
  const int row = b * T + t;
  const int r = clamp(ids[row], 0, rows - 1);
  y[(size_t)row * C + j] = table[(size_t)r * C + j];
}

// y = a · b. a, b, y: [n]. global: (n)
__kernel void multiply_elementwise(__global const float* a, __global const float* b,
                                   __global float* y, const int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = a[i] * b[i];
}

// y[b, i] = softmax(q[b, i]·K[b, 0..last]ᵀ·scale + bias[h, p, 0..last] + mask)·V[b, 0..last] per
// head, where p = L − Tq + i is the query's position and last = p (causal) or L − 1. The online
// softmax of attention.cl (running max m, denominator l, rescaled accumulator); the CPU reference
// builds the score row and normalises it in two passes.
// q: rows of q_stride floats (C, or 3C for a packed QKV whose first C columns are the queries);
// keys, values: [B, S, C]; bias: [NH, P, P']; mask: [B, S] (first L columns read) or NULL;
// y: [B, Tq, C]. One work-item per (query row, head, sequence). global: (Tq, NH, B).
// Compiled only into programs built with -DHEAD_DIM.
#ifdef HEAD_DIM
__kernel void biased_attention(__global const float* q, __global const float* keys,
                               __global const float* values, __global const float* bias,
                               __global const int* mask, __global float* y, const int Tq,
                               const int L, const int S, const int NH, const int q_stride,
                               const int P, const int P2, const float scale, const int causal) {
  const int i = get_global_id(0), h = get_global_id(1), b = get_global_id(2);
  if (i >= Tq || h >= NH) return;
  const int C = NH * HEAD_DIM;
  const int position = L - Tq + i;
  if (position < 0 || position >= P) return;
  float qv[HEAD_DIM], acc[HEAD_DIM];
  __global const float* q_row = q + (size_t)(b * Tq + i) * q_stride + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  __global const float* bias_row = bias + ((size_t)h * P + position) * P2;
  float m = -INFINITY, l = 0.0f;
  const int last = min(min(causal ? position : L - 1, S - 1), P2 - 1);
  for (int j = 0; j <= last; j++) {
    const size_t row = (size_t)(b * S + j) * C + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], keys[row + d], dot);
    float s = dot * scale + bias_row[j];
    if (mask && mask[b * S + j] == 0) s += -FLT_MAX;  // transformers' additive float32.min
    ONLINE_SOFTMAX_FOLD(s, values + row, HEAD_DIM, m, l, acc);
  }
  __global float* y_row = y + (size_t)(b * Tq + i) * C + h * HEAD_DIM;
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
}
#endif  // HEAD_DIM
