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

// attention_keys_x16 (CPU-like devices; assumes HEAD_DIM % 16 == 0): vectorised across keys.
// A work-group of ATT_WG query rows of one (batch, head) stages ATT_KCHUNK keys at a time in local
// memory transposed, Kt[d][j], so that one float16 load gives dimension d of 16 consecutive keys:
// scores for 16 keys are HEAD_DIM vector FMAs, and P·V adds 16 value rows with float16 FMAs. The
// online softmax runs on 16 scores at once. (On a CPU, local memory is cache-resident RAM.)
// global: (Tq rounded up to ATT_WG, NH, B), local: (ATT_WG, 1, 1)
#ifndef ATT_KCHUNK
#define ATT_KCHUNK 128
#endif
#if HEAD_DIM % 16 == 0
#define HEAD_VECS (HEAD_DIM / 16)

__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_keys_x16(__global const float* q, __global const float* k, __global const float* v,
                        __global const int* mask, __global float* y, const int Tq, const int Tk,
                        const int NH, const int q_stride, const int kv_stride, const int q_off,
                        const int k_off, const int v_off, const float scale, const int causal) {
  __local float kt[HEAD_DIM][ATT_KCHUNK];
  __local float bias[ATT_KCHUNK];  // 0, float32.min for padded keys, -inf past the end
  const int lid = get_local_id(0);
  const int i = get_global_id(0);
  const int h = get_global_id(1), b = get_global_id(2);
  const bool active = i < Tq;

  float qv[HEAD_DIM];
  __global const float* q_row =
      q + (size_t)(b * Tq + min(i, Tq - 1)) * q_stride + q_off + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) qv[d] = q_row[d] * scale;
  float16 acc[HEAD_VECS];
  for (int c = 0; c < HEAD_VECS; c++) acc[c] = (float16)(0.0f);
  float m = -INFINITY, l = 0.0f;
  const int last = causal ? min(Tk - 1, i + Tk - Tq) : Tk - 1;
  const int group_last_row = min((int)get_group_id(0) * ATT_WG + ATT_WG, Tq) - 1;
  const int group_last = causal ? min(Tk - 1, group_last_row + Tk - Tq) : Tk - 1;

  for (int j0 = 0; j0 <= group_last; j0 += ATT_KCHUNK) {
    for (int r = lid; r < ATT_KCHUNK; r += ATT_WG) {
      const int j = j0 + r;
      __global const float* k_row = k + (size_t)(b * Tk + min(j, Tk - 1)) * kv_stride + k_off + h * HEAD_DIM;
      for (int d = 0; d < HEAD_DIM; d++) kt[d][r] = j < Tk ? k_row[d] : 0.0f;
      bias[r] = j >= Tk ? -INFINITY : (mask && mask[b * Tk + j] == 0) ? MASKED_SCORE : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (active) {
      const int end = min(ATT_KCHUNK, last - j0 + 1);  // keys of this chunk row i may see
      for (int r0 = 0; r0 < end; r0 += 16) {
        float16 s = vload16(0, bias + r0);
        for (int d = 0; d < HEAD_DIM; d++) s = fma((float16)(qv[d]), vload16(0, &kt[d][r0]), s);
        // Keys past this row's causal limit (or the chunk's end) get weight exactly 0.
        const int visible = end - r0;
        if (visible < 16) {
          const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
          s = select(s, (float16)(-INFINITY), lane >= (int16)(visible));
        }
        float8 m8 = fmax(s.lo, s.hi);
        float4 m4 = fmax(m8.lo, m8.hi);
        float2 m2 = fmax(m4.lo, m4.hi);
        const float m_new = fmax(m, fmax(m2.lo, m2.hi));
        if (m_new == -INFINITY) continue;  // nothing visible yet
        const float correction = exp(m - m_new);
        const float16 p = exp(s - (float16)(m_new));
        float8 p8 = p.lo + p.hi;
        float4 p4 = p8.lo + p8.hi;
        float2 p2 = p4.lo + p4.hi;
        l = l * correction + p2.lo + p2.hi;
        m = m_new;
        for (int c = 0; c < HEAD_VECS; c++) acc[c] *= correction;
        const int count = min(16, visible);
        for (int t = 0; t < count; t++) {
          const float pt = ((float*)&p)[t];
          __global const float* v_row = v + (size_t)(b * Tk + j0 + r0 + t) * kv_stride + v_off + h * HEAD_DIM;
          for (int c = 0; c < HEAD_VECS; c++) acc[c] = fma((float16)(pt), vload16(c, v_row), acc[c]);
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (!active) return;
  __global float* y_row = y + (size_t)(b * Tq + i) * (NH * HEAD_DIM) + h * HEAD_DIM;
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int c = 0; c < HEAD_VECS; c++) vstore16(acc[c] * inverse, c, y_row);
}
#endif
