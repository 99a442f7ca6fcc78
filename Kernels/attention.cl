// attention.cl — multi-head attention: y = softmax(Q·Kᵀ·scale + bias + mask)·V per head, in one
// kernel, with no [T × T] score matrix in memory. Scores are consumed as they are made with the
// online softmax (a running maximum m, a running denominator l, and an accumulator rescaled by
// exp(m_old − m_new) whenever the maximum grows), as FlashAttention does. Also the KV-cache write.
//
// Layout: Q rows (b·Tq + i), K/V rows (b·S + j), each row holding NH heads of HEAD_DIM side by
// side, starting at q_off / k_off / v_off within rows of q_stride / kv_stride floats — so one
// packed [B, T, 3C] QKV buffer (offsets 0, C, 2C; stride 3C) and separate Q, K, V (offset 0,
// stride C) use the same kernel. y: [B, Tq, C] with C = NH·HEAD_DIM.
// The queries are the last Tq of the L key positions: query i sits at p = L − Tq + i and sees keys
// max(0, p − before) ≤ j ≤ min(L − 1, p + after) (no masking: before = after = L; causal: after
// = 0; sliding windows: see AttentionMasking); the others are left out entirely (weight 0).
// mask: [B, S] int (1 keep, 0 pad) or NULL; a padded key adds MASKED_SCORE (float32.min) to its
// score, as transformers does. bias: [NH, P, P'] (T5's relative position bias) or NULL.
//
// Variants (no KV cache, no bias: L = S = Tk):
// - attention_rowwise: one work-item per query row, streaming keys straight from global memory;
//   work-items of a group run side by side, which PoCL vectorises.
// - attention_tiled (GPUs): a work-group of ATT_BQ query rows stages ATT_BK keys and values at a
//   time in local memory, loaded cooperatively, and every row of the group reads them from there.
// - attention_keys_x16 (CPU-like devices): see below.
// With a KV cache (L ≤ S rows read) or a position bias:
// - attention_cached: one work-item per (query, head, sequence).
// - attention_split_partial + attention_split_combine: one query over many keys, split across them.
//
// Host guarantees: shapes checked by PhotonCore's ShapeCheck; before, after ≤ L (clamped, so no
// sum overflows); HEAD_DIM = C / NH is defined at build time for every kernel but kv_cache_write;
// global size (Tq rounded up to the local size, NH, B); rows i ≥ Tq do no work but still take
// part in the barriers.

// key_cache[b, start + t] = qkv[b, t, C..2C), value_cache[b, start + t] = qkv[b, t, 2C..3C).
// qkv: [B, T, 3C]; caches: [B, S, C]. global: (C, T, B)
__kernel void kv_cache_write(__global const float* qkv, __global float* key_cache,
                             __global float* value_cache, const int T, const int C, const int S,
                             const int start) {
  const int j = get_global_id(0), t = get_global_id(1), b = get_global_id(2);
  if (j >= C || t >= T || start + t >= S) return;
  const size_t from = (size_t)(b * T + t) * 3 * C;
  const size_t to = (size_t)(b * S + start + t) * C;
  key_cache[to + j] = qkv[from + C + j];
  value_cache[to + j] = qkv[from + 2 * C + j];
}

#ifdef HEAD_DIM
#ifndef ATT_WG
#define ATT_WG 16
#endif
#ifndef ATT_BQ
#define ATT_BQ 16
#endif
#ifndef ATT_BK
#define ATT_BK 32
#endif

__kernel void attention_rowwise(__global const float* q, __global const float* k,
                                __global const float* v, __global const int* mask,
                                __global float* y, const int Tq, const int Tk, const int NH,
                                const int q_stride, const int kv_stride, const int q_off,
                                const int k_off, const int v_off, const float scale,
                                const int before, const int after) {
  const int i = get_global_id(0);
  const int h = get_global_id(1), b = get_global_id(2);
  if (i >= Tq) return;

  float qv[HEAD_DIM], acc[HEAD_DIM];
  __global const float* q_row = q + (size_t)(b * Tq + i) * q_stride + q_off + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int first = max(0, i + Tk - Tq - before), last = min(Tk - 1, i + Tk - Tq + after);
  for (int j = first; j <= last; j++) {
    __global const float* k_row = k + (size_t)(b * Tk + j) * kv_stride + k_off + h * HEAD_DIM;
    __global const float* v_row = v + (size_t)(b * Tk + j) * kv_stride + v_off + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], k_row[d], dot);
    float s = dot * scale;
    if (mask && mask[b * Tk + j] == 0) s += MASKED_SCORE;
    ONLINE_SOFTMAX_FOLD(s, v_row, HEAD_DIM, m, l, acc);
  }
  __global float* y_row = y + (size_t)(b * Tq + i) * (NH * HEAD_DIM) + h * HEAD_DIM;
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;  // l = 0 only when no key is visible
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
}

__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void attention_tiled(__global const float* q, __global const float* k, __global const float* v,
                     __global const int* mask, __global float* y, const int Tq, const int Tk,
                     const int NH, const int q_stride, const int kv_stride, const int q_off,
                     const int k_off, const int v_off, const float scale, const int before,
                     const int after) {
  __local float ks[ATT_BK][HEAD_DIM];
  __local float vs[ATT_BK][HEAD_DIM];
  __local int keep[ATT_BK];
  const int lid = get_local_id(0);
  const int i = get_global_id(0);
  const int h = get_global_id(1), b = get_global_id(2);
  const bool active = i < Tq;

  float qv[HEAD_DIM], acc[HEAD_DIM];
  __global const float* q_row =
      q + (size_t)(b * Tq + min(i, Tq - 1)) * q_stride + q_off + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int first = max(0, i + Tk - Tq - before), last = min(Tk - 1, i + Tk - Tq + after);
  // The group's loop bound is the same for every item (barriers must be uniform): the last key
  // that its last row can see.
  const int group_last_row = min((int)get_group_id(0) * ATT_BQ + ATT_BQ, Tq) - 1;
  const int group_last = min(Tk - 1, group_last_row + Tk - Tq + after);

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
      for (int r = max(0, first - j0); r < end; r++) {
        float dot = 0.0f;
        for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], ks[r][d], dot);
        float s = dot * scale;
        if (keep[r] == 0) s += MASKED_SCORE;
        ONLINE_SOFTMAX_FOLD(s, vs[r], HEAD_DIM, m, l, acc);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (!active) return;
  __global float* y_row = y + (size_t)(b * Tq + i) * (NH * HEAD_DIM) + h * HEAD_DIM;
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
}

// attention_keys_x16 (CPU-like devices; assumes HEAD_DIM % 16 == 0): vectorised across keys and
// register-blocked across queries. A work-group of ATT_WG items, each owning ATT_QB consecutive query
// rows of one (batch, head), stages ATT_KCHUNK keys at a time in local memory transposed, Kt[d][j],
// so one float16 load gives dimension d of 16 consecutive keys and feeds ATT_QB score FMAs. A
// chunk's scores go to private memory; the online softmax rescales once per chunk, and P·V
// broadcasts each probability from there against value rows read once for all ATT_QB rows.
// (On a CPU, local and private memory are cache-resident RAM. The loops over ATT_QB and HEAD_VECS
// are unrolled so that the accumulators stay in registers: rolled, PoCL kept them in memory and
// ran 1.6× slower; the transposition writes float8 columns, since a scalar kt[d][r] store per
// work-item became a scatter.)
// global: (ceil(Tq / (ATT_WG·ATT_QB))·ATT_WG, NH, B), local: (ATT_WG, 1, 1)
#ifndef ATT_KCHUNK
#define ATT_KCHUNK 128
#endif
#ifndef ATT_QB
#define ATT_QB 8
#endif
#if HEAD_DIM % 16 == 0
#define HEAD_VECS (HEAD_DIM / 16)

__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_keys_x16(__global const float* q, __global const float* k, __global const float* v,
                        __global const int* mask, __global float* y, const int Tq, const int Tk,
                        const int NH, const int q_stride, const int kv_stride, const int q_off,
                        const int k_off, const int v_off, const float scale, const int before,
                     const int after) {
  __local float kt[HEAD_DIM][ATT_KCHUNK];
  __local float bias[ATT_KCHUNK];  // 0, float32.min for padded keys, -inf past the end
  const int lid = get_local_id(0);
  const int i0 = get_global_id(0) * ATT_QB;
  const int h = get_global_id(1), b = get_global_id(2);

  float qv[ATT_QB][HEAD_DIM];
  float16 acc[ATT_QB][HEAD_VECS];
  float m[ATT_QB], l[ATT_QB];
  int first[ATT_QB], last[ATT_QB];  // the keys row i0 + r may see
  #pragma unroll
  for (int r = 0; r < ATT_QB; r++) {
    const int i = min(i0 + r, Tq - 1);  // rows past Tq compute a copy of row Tq − 1, never stored
    __global const float* q_row = q + (size_t)(b * Tq + i) * q_stride + q_off + h * HEAD_DIM;
    for (int d = 0; d < HEAD_DIM; d++) qv[r][d] = q_row[d] * scale;
    #pragma unroll
    for (int c = 0; c < HEAD_VECS; c++) acc[r][c] = (float16)(0.0f);
    m[r] = -INFINITY;
    l[r] = 0.0f;
    first[r] = max(0, i + Tk - Tq - before);
    last[r] = min(Tk - 1, i + Tk - Tq + after);
  }
  const int group_last_row = min(((int)get_group_id(0) + 1) * ATT_WG * ATT_QB, Tq) - 1;
  const int group_last = min(Tk - 1, group_last_row + Tk - Tq + after);
  const int item_last = last[ATT_QB - 1];
  const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  float p[ATT_QB][ATT_KCHUNK];

  for (int j0 = 0; j0 <= group_last; j0 += ATT_KCHUNK) {
    // Item lid transposes keys lid·8 … lid·8 + 7 of the chunk (and more when ATT_WG·8 < ATT_KCHUNK):
    // eight rows read along d, written as one float8 per dimension (no scatter).
    for (int r0 = lid * 8; r0 < ATT_KCHUNK; r0 += ATT_WG * 8) {
      __global const float* k_rows[8];
      #pragma unroll
      for (int e = 0; e < 8; e++) {
        const int j = j0 + r0 + e;
        k_rows[e] = k + (size_t)(b * Tk + min(j, Tk - 1)) * kv_stride + k_off + h * HEAD_DIM;
        bias[r0 + e] = j >= Tk ? -INFINITY : (mask && mask[b * Tk + j] == 0) ? MASKED_SCORE : 0.0f;
      }
      for (int d = 0; d < HEAD_DIM; d++) {
        const float8 column = (float8)(k_rows[0][d], k_rows[1][d], k_rows[2][d], k_rows[3][d],
                                       k_rows[4][d], k_rows[5][d], k_rows[6][d], k_rows[7][d]);
        vstore8(column, 0, &kt[d][r0]);  // keys past Tk: their bias is -inf, any finite value does
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int end = min(ATT_KCHUNK, item_last - j0 + 1);  // keys of this chunk any row may see
    if (end > 0) {
      const int blocks = (end + 15) / 16;
      float16 chunk_max[ATT_QB];
      #pragma unroll
      for (int r = 0; r < ATT_QB; r++) chunk_max[r] = (float16)(-INFINITY);
      for (int kb = 0; kb < blocks; kb++) {
        const int r0 = kb * 16;
        float16 s[ATT_QB];
        const float16 bias16 = vload16(0, bias + r0);
        #pragma unroll
        for (int r = 0; r < ATT_QB; r++) s[r] = bias16;
        for (int d = 0; d < HEAD_DIM; d++) {
          const float16 kd = vload16(0, &kt[d][r0]);
          #pragma unroll
          for (int r = 0; r < ATT_QB; r++) s[r] = fma((float16)(qv[r][d]), kd, s[r]);
        }
        #pragma unroll
        for (int r = 0; r < ATT_QB; r++) {
          // Keys outside this row's window get weight exactly 0.
          s[r] = select(s[r], (float16)(-INFINITY),
                        lane > (int16)(last[r] - j0 - r0) || lane < (int16)(first[r] - j0 - r0));
          chunk_max[r] = fmax(chunk_max[r], s[r]);
          vstore16(s[r], kb, p[r]);
        }
      }
      #pragma unroll
      for (int r = 0; r < ATT_QB; r++) {
        float8 m8 = fmax(chunk_max[r].lo, chunk_max[r].hi);
        float4 m4 = fmax(m8.lo, m8.hi);
        float2 m2 = fmax(m4.lo, m4.hi);
        const float m_new = fmax(m[r], fmax(m2.lo, m2.hi));
        // A row that sees nothing yet keeps m = -inf; its weights are 0 (exp(-inf - 0)).
        const float m_safe = m_new == -INFINITY ? 0.0f : m_new;
        const float correction = exp(m[r] - m_safe);
        float16 sum = (float16)(0.0f);
        for (int kb = 0; kb < blocks; kb++) {
          const float16 e = exp(vload16(kb, p[r]) - (float16)(m_safe));
          vstore16(e, kb, p[r]);
          sum += e;
        }
        l[r] = l[r] * correction + sum16(sum);
        m[r] = m_new;
        #pragma unroll
        for (int c = 0; c < HEAD_VECS; c++) acc[r][c] *= correction;
      }
      for (int t = 0; t < end; t++) {
        __global const float* v_row = v + (size_t)(b * Tk + j0 + t) * kv_stride + v_off + h * HEAD_DIM;
        #pragma unroll
        for (int c = 0; c < HEAD_VECS; c++) {
          const float16 vc = vload16(c, v_row);
          #pragma unroll
          for (int r = 0; r < ATT_QB; r++) acc[r][c] = fma((float16)(p[r][t]), vc, acc[r][c]);
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  #pragma unroll
  for (int r = 0; r < ATT_QB; r++) {
    const int i = i0 + r;
    if (i >= Tq) break;
    __global float* y_row = y + (size_t)(b * Tq + i) * (NH * HEAD_DIM) + h * HEAD_DIM;
    const float inverse = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    #pragma unroll
    for (int c = 0; c < HEAD_VECS; c++) vstore16(acc[r][c] * inverse, c, y_row);
  }
}
#endif

// attention_cached: y[b, i] = softmax(q[b, i]·K[b, first..last]ᵀ·scale + bias[h, p, first..last]
// + mask)·V[b, first..last] per head, over the first L of S rows of a KV cache (or of keys given
// with a position bias). q: rows of q_stride floats (C, or 3C for a packed QKV whose first C
// columns are the queries); key_cache, value_cache: [B, S, C]; bias: [NH, P, P'] or NULL (P,
// P' ≥ L); mask: [B, S] (first L columns read) or NULL; y: [B, Tq, C].
// One work-item per (query row, head, sequence): decoding has Tq = 1 and keys stream from global
// memory. global: (Tq, NH, B).
__kernel void attention_cached(__global const float* q, __global const float* key_cache,
                               __global const float* value_cache, __global const float* bias,
                               __global const int* mask, __global float* y, const int Tq,
                               const int L, const int S, const int NH, const int q_stride,
                               const int P, const int P2, const float scale, const int before,
                               const int after) {
  const int i = get_global_id(0), h = get_global_id(1), b = get_global_id(2);
  if (i >= Tq || h >= NH) return;
  const int C = NH * HEAD_DIM;
  const int p = L - Tq + i;
  __global const float* q_row = q + (size_t)(b * Tq + i) * q_stride + h * HEAD_DIM;
  __global const float* bias_row = bias ? bias + ((size_t)h * P + p) * P2 : 0;
  float m = -INFINITY, l = 0.0f;
  const int first = max(0, p - before), last = min(min(L - 1, p + after), S - 1);
  __global float* y_row = y + (size_t)(b * Tq + i) * C + h * HEAD_DIM;
#if HEAD_DIM % 16 == 0
  // float16 lanes over the head dimension: the dot product is HEAD_DIM/16 independent vector FMAs
  // and one horizontal sum, not a chain of HEAD_DIM dependent scalar FMAs (GPT-2's 64: 4 vectors).
  // GPT-2 small, 12 heads × 192 keys on PoCL (2 cores): ≈ 230 µs → ≈ 60 µs per layer with this,
  // the chunked exponentials below and one work-item per group.
  float16 qv[HEAD_VECS], acc[HEAD_VECS];
  for (int v = 0; v < HEAD_VECS; v++) {
    qv[v] = vload16(v, q_row);
    acc[v] = (float16)(0.0f);
  }
  // Keys in chunks of 16: their scores first, then one rescale of the running sums per chunk and
  // the 16 exponentials as one float16 exp (a scalar exp per key pair cost as much as the dots).
  // Past the last key a chunk's scores are −inf: exp gives 0. Chunks start at the first visible
  // key, so each holds at least one finite score.
  for (int j0 = first; j0 <= last; j0 += 16) {
    const int n = min(16, last + 1 - j0);
    float scores[16];
    float chunk_max = -INFINITY;
    for (int jj = 0; jj < 16; jj++) {
      float s = -INFINITY;
      if (jj < n) {
        const size_t row = (size_t)(b * S + j0 + jj) * C + h * HEAD_DIM;
        float16 dots = qv[0] * vload16(0, key_cache + row);
        for (int v = 1; v < HEAD_VECS; v++) dots = fma(qv[v], vload16(v, key_cache + row), dots);
        s = sum16(dots) * scale;
        if (bias_row) s += bias_row[j0 + jj];
        if (mask && mask[b * S + j0 + jj] == 0) s += MASKED_SCORE;
      }
      scores[jj] = s;
      chunk_max = fmax(chunk_max, s);
    }
    const float m_new = fmax(m, chunk_max);
    const float correction = exp(m - m_new);
    const float16 p16 = exp(vload16(0, scores) - m_new);
    float p[16];
    vstore16(p16, 0, p);
    l = l * correction + sum16(p16);
    for (int v = 0; v < HEAD_VECS; v++) acc[v] *= correction;
    for (int jj = 0; jj < n; jj++) {
      const size_t row = (size_t)(b * S + j0 + jj) * C + h * HEAD_DIM;
      for (int v = 0; v < HEAD_VECS; v++) acc[v] = fma((float16)(p[jj]), vload16(v, value_cache + row), acc[v]);
    }
    m = m_new;
  }
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int v = 0; v < HEAD_VECS; v++) vstore16(acc[v] * inverse, v, y_row);
#else
  float qv[HEAD_DIM], acc[HEAD_DIM];
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  for (int j = first; j <= last; j++) {
    const size_t row = (size_t)(b * S + j) * C + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], key_cache[row + d], dot);
    float s = dot * scale;
    if (bias_row) s += bias_row[j];
    if (mask && mask[b * S + j] == 0) s += MASKED_SCORE;
    ONLINE_SOFTMAX_FOLD(s, value_cache + row, HEAD_DIM, m, l, acc);
  }
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
#endif
}

// Split-key decode attention, for one new query per sequence (Tq = 1, at position L − 1) over a
// long cache: the keys 0..L−1 are cut into `splits` chunks of `chunk` keys, each work-item runs
// the online softmax of attention_cached over its chunk (keys before first_key left out), and attention_split_combine merges the
// chunks (flash-decoding): with M = max_s m_s, y = Σ_s acc_s·e^(m_s−M) / Σ_s l_s·e^(m_s−M).
// Without the split a decode step has only NH·B work-items, each streaming all L keys.
// q: rows of q_stride floats (C, or 3C for a packed QKV); keys, values: [B, S, C];
// bias: [NH, P, P'] (T5's, row L − 1 read) or NULL; mask: [B, S] or NULL; keys before first_key
// are outside a sliding window;
// partial: [B, NH, splits, HEAD_DIM + 2] (acc, then m and l). global: (splits, NH, B).
// The host guarantees L ≤ S, L ≤ P, L ≤ P' (with a bias) and splits·chunk ≥ L.
__kernel void attention_split_partial(__global const float* q, __global const float* keys,
                                      __global const float* values, __global const float* bias,
                                      __global const int* mask, __global float* partial,
                                      const int L, const int S, const int NH, const int q_stride,
                                      const int P, const int P2, const float scale,
                                      const int chunk, const int splits, const int first_key) {
  const int split = get_global_id(0), h = get_global_id(1), b = get_global_id(2);
  if (split >= splits || h >= NH) return;
  const int C = NH * HEAD_DIM;
  const int position = L - 1;
  float qv[HEAD_DIM], acc[HEAD_DIM];
  __global const float* q_row = q + (size_t)b * q_stride + h * HEAD_DIM;
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  __global const float* bias_row = bias ? bias + ((size_t)h * P + position) * P2 : 0;
  float m = -INFINITY, l = 0.0f;
  const int begin = max(split * chunk, first_key);
  const int end = min(split * chunk + chunk, min(L, S));
  for (int j = begin; j < end; j++) {
    const size_t row = (size_t)(b * S + j) * C + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], keys[row + d], dot);
    float s = dot * scale;
    if (bias_row) s += bias_row[j];
    if (mask && mask[b * S + j] == 0) s += MASKED_SCORE;
    ONLINE_SOFTMAX_FOLD(s, values + row, HEAD_DIM, m, l, acc);
  }
  __global float* out = partial + ((size_t)(b * NH + h) * splits + split) * (HEAD_DIM + 2);
  for (int d = 0; d < HEAD_DIM; d++) out[d] = acc[d];
  out[HEAD_DIM] = m;  // −inf for an empty chunk: it then weighs e^(−inf) = 0 below
  out[HEAD_DIM + 1] = l;
}

// y[b, 0, h·HEAD_DIM + d] from the chunks' partial results of attention_split_partial.
// partial: [B, NH, splits, HEAD_DIM + 2]; y: [B, 1, C]. global: (HEAD_DIM, NH, B)
__kernel void attention_split_combine(__global const float* partial, __global float* y,
                                      const int NH, const int splits) {
  const int d = get_global_id(0), h = get_global_id(1), b = get_global_id(2);
  if (d >= HEAD_DIM || h >= NH) return;
  __global const float* rows = partial + (size_t)(b * NH + h) * splits * (HEAD_DIM + 2);
  float M = -INFINITY;
  for (int s = 0; s < splits; s++) M = fmax(M, rows[s * (HEAD_DIM + 2) + HEAD_DIM]);
  float l = 0.0f, acc = 0.0f;
  for (int s = 0; s < splits; s++) {
    __global const float* r = rows + s * (HEAD_DIM + 2);
    const float w = r[HEAD_DIM] == -INFINITY ? 0.0f : exp(r[HEAD_DIM] - M);
    l += r[HEAD_DIM + 1] * w;
    acc += r[d] * w;
  }
  y[(size_t)b * NH * HEAD_DIM + h * HEAD_DIM + d] = l > 0.0f ? acc / l : 0.0f;
}
#endif  // HEAD_DIM
