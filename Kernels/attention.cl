// attention.cl — fused multi-head attention: y = softmax(Q·Kᵀ·scale + mask)·V per head, in one
// kernel, with no [T × T] score matrix in memory. Scores are consumed as they are made with the
// online softmax (a running maximum m, a running denominator l, and an accumulator rescaled by
// exp(m_old − m_new) whenever the maximum grows), as FlashAttention does.
//
// Layout: Q rows (b·Tq + i), K/V rows (b·Tk + j), each row holding NH heads of HEAD_DIM side by
// side, starting at q_off / k_off / v_off within rows of q_stride / kv_stride floats — so one
// packed [B, T, 3C] QKV buffer (offsets 0, C, 2C; stride 3C) and separate Q, K, V (offset 0,
// stride C) use the same kernel. y: [B, Tq, C] with C = NH·HEAD_DIM.
// mask: [B, Tk] int (1 keep, 0 pad) or NULL; a padded key adds float32.min to its score, as
// transformers does. causal: query i sees keys j ≤ i + Tk − Tq; later keys are left out entirely.
//
// Variants:
// - attention_rowwise (CPU-like devices): one work-item per query row, streaming keys straight
//   from global memory; work-items of a group run side by side, which PoCL vectorises.
// - attention_tiled (GPUs): a work-group of ATT_BQ query rows stages ATT_BK keys and values at a
//   time in local memory, loaded cooperatively, and every row of the group reads them from there.
//
// Host guarantees: HEAD_DIM = C / NH is defined at build time; global size (Tq rounded up to the
// local size, NH, B); rows i ≥ Tq do no work but still take part in the barriers.

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined at build time"
#endif
#ifndef ATT_WG
#define ATT_WG 16
#endif
#ifndef ATT_BQ
#define ATT_BQ 16
#endif
#ifndef ATT_BK
#define ATT_BK 32
#endif

#define MASKED_SCORE (-FLT_MAX)

// One step of the online softmax: fold key score s with value row v into (m, l, acc).
inline void online_softmax_step(float s, const float* v_row_private, float* m, float* l,
                                float* acc) {
  const float m_new = fmax(*m, s);
  const float correction = exp(*m - m_new);  // exp(-inf) = 0 on the first key
  const float p = exp(s - m_new);
  *l = *l * correction + p;
  for (int d = 0; d < HEAD_DIM; d++) acc[d] = acc[d] * correction + p * v_row_private[d];
  *m = m_new;
}

__kernel void attention_rowwise(__global const float* q, __global const float* k,
                                __global const float* v, __global const int* mask,
                                __global float* y, const int Tq, const int Tk, const int NH,
                                const int q_stride, const int kv_stride, const int q_off,
                                const int k_off, const int v_off, const float scale,
                                const int causal) {
  const int i = get_global_id(0);
  const int h = get_global_id(1), b = get_global_id(2);
  if (i >= Tq) return;

  float qv[HEAD_DIM], acc[HEAD_DIM], vv[HEAD_DIM];
  __global const float* q_row = q + (size_t)(b * Tq + i) * q_stride + q_off + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int last = causal ? min(Tk - 1, i + Tk - Tq) : Tk - 1;
  for (int j = 0; j <= last; j++) {
    __global const float* k_row = k + (size_t)(b * Tk + j) * kv_stride + k_off + h * HEAD_DIM;
    __global const float* v_row = v + (size_t)(b * Tk + j) * kv_stride + v_off + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], k_row[d], dot);
    float s = dot * scale;
    if (mask && mask[b * Tk + j] == 0) s += MASKED_SCORE;
    for (int d = 0; d < HEAD_DIM; d++) vv[d] = v_row[d];
    online_softmax_step(s, vv, &m, &l, acc);
  }
  __global float* y_row = y + (size_t)(b * Tq + i) * (NH * HEAD_DIM) + h * HEAD_DIM;
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;  // l = 0 only when no key is visible
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
}

__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void attention_tiled(__global const float* q, __global const float* k, __global const float* v,
                     __global const int* mask, __global float* y, const int Tq, const int Tk,
                     const int NH, const int q_stride, const int kv_stride, const int q_off,
                     const int k_off, const int v_off, const float scale, const int causal) {
  __local float ks[ATT_BK][HEAD_DIM];
  __local float vs[ATT_BK][HEAD_DIM];
  __local int keep[ATT_BK];
  const int lid = get_local_id(0);
  const int i = get_global_id(0);
  const int h = get_global_id(1), b = get_global_id(2);
  const bool active = i < Tq;

  float qv[HEAD_DIM], acc[HEAD_DIM], vv[HEAD_DIM];
  __global const float* q_row =
      q + (size_t)(b * Tq + min(i, Tq - 1)) * q_stride + q_off + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int last = causal ? min(Tk - 1, i + Tk - Tq) : Tk - 1;
  // The group's loop bound is the same for every item (barriers must be uniform): the last key
  // that its last row can see.
  const int group_last_row = min((int)get_group_id(0) * ATT_BQ + ATT_BQ, Tq) - 1;
  const int group_last = causal ? min(Tk - 1, group_last_row + Tk - Tq) : Tk - 1;

  for (int j0 = 0; j0 <= group_last; j0 += ATT_BK) {
    for (int r = 0; r < ATT_BK; r++) {
      const int j = j0 + r;
      const size_t row = (size_t)(b * Tk + min(j, Tk - 1)) * kv_stride + h * HEAD_DIM;
      for (int d = lid; d < HEAD_DIM; d += ATT_BQ) {
        ks[r][d] = j < Tk ? k[row + k_off + d] : 0.0f;
        vs[r][d] = j < Tk ? v[row + v_off + d] : 0.0f;
      }
    }
    for (int r = lid; r < ATT_BK; r += ATT_BQ) {
      const int j = j0 + r;
      keep[r] = (j < Tk && mask) ? mask[b * Tk + j] : 1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (active) {
      const int end = min(ATT_BK, last - j0 + 1);
      for (int r = 0; r < end; r++) {
        float dot = 0.0f;
        for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], ks[r][d], dot);
        float s = dot * scale;
        if (keep[r] == 0) s += MASKED_SCORE;
        for (int d = 0; d < HEAD_DIM; d++) vv[d] = vs[r][d];
        online_softmax_step(s, vv, &m, &l, acc);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (!active) return;
  __global float* y_row = y + (size_t)(b * Tq + i) * (NH * HEAD_DIM) + h * HEAD_DIM;
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
}
