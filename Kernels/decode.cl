// decode.cl — the ops text generation adds: element-wise add and zero fill, GPT-2's embedding
// gather (no norm), the KV-cache write, attention of new queries over a device-resident KV cache
// (and, for one query over a long cache, split across the keys then combined),
// picking one position's row, argmax over the vocabulary (greedy decoding reads back 4 bytes
// per row instead of V floats), and T5's RMS layer norm.
//
// Layouts: row-major; B batch, T new tokens, S cache capacity (maximum length), C = NH·HEAD_DIM
// channels. A KV cache is [B, S, C]; rows start..start+T−1 of each sequence are written per step.
//
// Host guarantees: shapes were checked by PhotonCore's ShapeCheck before launch; ids were checked
// against the table (and are clamped here as well, so a bad id cannot read outside a buffer);
// HEAD_DIM is defined for cached_attention; ROW_WG (a power of two) is the work-group size of
// argmax_rows. Multi-dimensional NDRanges replace every div/mod pair of index arithmetic.

#ifndef ROW_WG
#define ROW_WG 64
#endif

// y = 0. y: [n]. global: (n)
__kernel void fill_zero(__global float* y, const int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = 0.0f;
}

// y = a + b. a, b, y: [n]. global: (n)
__kernel void add_elementwise(__global const float* a, __global const float* b, __global float* y,
                              const int n) {
  const int i = get_global_id(0);
  if (i < n) y[i] = a[i] + b[i];
}

// y[b, t] = word[ids[b, t]] + position[first + t].
// ids: [B, T]; word: [word_rows, C]; position: [position_rows, C]; y: [B, T, C].
// global: (C, T, B)
__kernel void token_embeddings(__global const int* ids, __global const float* word,
                               __global const float* position, __global float* y, const int T,
                               const int C, const int word_rows, const int position_rows,
                               const int first) {
  const int j = get_global_id(0), t = get_global_id(1), b = get_global_id(2);
  if (j >= C || t >= T) return;
  const int row = b * T + t;
  const int w = clamp(ids[row], 0, word_rows - 1);
  const int p = clamp(first + t, 0, position_rows - 1);
  y[(size_t)row * C + j] = word[(size_t)w * C + j] + position[(size_t)p * C + j];
}

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

// y[b, i] = softmax(q[b, i]·K[b, 0..=L−Tq+i]ᵀ·scale + mask)·V[b, 0..=L−Tq+i], per head, with the
// online softmax of attention.cl (running max m, denominator l, rescaled accumulator).
// q: rows of q_stride floats (C, or 3C for a packed QKV whose first C columns are the queries);
// caches: [B, S, C]; mask: [B, S] (first L columns read) or NULL; y: [B, Tq, C].
// One work-item per (query row, head, sequence): decoding has Tq = 1 and keys stream from global
// memory. global: (Tq, NH, B). Compiled only into programs built with -DHEAD_DIM.
#ifdef HEAD_DIM
__kernel void cached_attention(__global const float* q, __global const float* key_cache,
                               __global const float* value_cache, __global const int* mask,
                               __global float* y, const int Tq, const int L, const int S,
                               const int NH, const int q_stride, const float scale) {
  const int i = get_global_id(0), h = get_global_id(1), b = get_global_id(2);
  if (i >= Tq || h >= NH) return;
  const int C = NH * HEAD_DIM;
  __global const float* q_row = q + (size_t)(b * Tq + i) * q_stride + h * HEAD_DIM;
  float m = -INFINITY, l = 0.0f;
  const int last = min(L - Tq + i, S - 1);
  __global float* y_row = y + (size_t)(b * Tq + i) * C + h * HEAD_DIM;
#if HEAD_DIM % 16 == 0
  // float16 lanes over the head dimension: the dot product is HEAD_DIM/16 independent vector FMAs
  // and one horizontal sum, not a chain of HEAD_DIM dependent scalar FMAs (GPT-2's 64: 4 vectors).
  // GPT-2 small, 12 heads × 192 keys on PoCL (2 cores): ≈ 230 µs → ≈ 60 µs per layer with this,
  // the chunked exponentials below and one work-item per group.
#define HEAD_VECS (HEAD_DIM / 16)
  float16 qv[HEAD_VECS], acc[HEAD_VECS];
  for (int v = 0; v < HEAD_VECS; v++) {
    qv[v] = vload16(v, q_row);
    acc[v] = (float16)(0.0f);
  }
  // Keys in chunks of 16: their scores first, then one rescale of the running sums per chunk and
  // the 16 exponentials as one float16 exp (a scalar exp per key pair cost as much as the dots).
  // Past the last key a chunk's scores are −inf: exp gives 0.
  for (int j0 = 0; j0 <= last; j0 += 16) {
    const int n = min(16, last + 1 - j0);
    float scores[16];
    float chunk_max = -INFINITY;
    for (int jj = 0; jj < 16; jj++) {
      float s = -INFINITY;
      if (jj < n) {
        const size_t row = (size_t)(b * S + j0 + jj) * C + h * HEAD_DIM;
        float16 dots = qv[0] * vload16(0, key_cache + row);
        for (int v = 1; v < HEAD_VECS; v++) dots = fma(qv[v], vload16(v, key_cache + row), dots);
        const float8 d8 = dots.lo + dots.hi;
        const float4 d4 = d8.lo + d8.hi;
        const float2 d2 = d4.lo + d4.hi;
        s = (d2.x + d2.y) * scale;
        if (mask && mask[b * S + j0 + jj] == 0) s += -FLT_MAX;  // transformers' additive float32.min
      }
      scores[jj] = s;
      chunk_max = fmax(chunk_max, s);
    }
    const float m_new = fmax(m, chunk_max);
    const float correction = exp(m - m_new);
    const float16 p16 = exp(vload16(0, scores) - m_new);
    float p[16];
    vstore16(p16, 0, p);
    const float8 p8 = p16.lo + p16.hi;
    const float4 p4 = p8.lo + p8.hi;
    const float2 p2 = p4.lo + p4.hi;
    l = l * correction + (p2.x + p2.y);
    for (int v = 0; v < HEAD_VECS; v++) acc[v] *= correction;
    for (int jj = 0; jj < n; jj++) {
      const size_t row = (size_t)(b * S + j0 + jj) * C + h * HEAD_DIM;
      for (int v = 0; v < HEAD_VECS; v++) acc[v] = fma((float16)(p[jj]), vload16(v, value_cache + row), acc[v]);
    }
    m = m_new;
  }
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int v = 0; v < HEAD_VECS; v++) vstore16(acc[v] * inverse, v, y_row);
#undef HEAD_VECS
#else
  float qv[HEAD_DIM], acc[HEAD_DIM];
  for (int d = 0; d < HEAD_DIM; d++) {
    qv[d] = q_row[d];
    acc[d] = 0.0f;
  }
  for (int j = 0; j <= last; j++) {
    const size_t row = (size_t)(b * S + j) * C + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], key_cache[row + d], dot);
    float s = dot * scale;
    if (mask && mask[b * S + j] == 0) s += -FLT_MAX;  // transformers' additive float32.min
    ONLINE_SOFTMAX_FOLD(s, value_cache + row, HEAD_DIM, m, l, acc);
  }
  const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < HEAD_DIM; d++) y_row[d] = acc[d] * inverse;
#endif
}
#endif  // HEAD_DIM

// Split-key decode attention, for one new query per sequence (Tq = 1, at position L − 1) over a
// long cache: the keys 0..L−1 are cut into `splits` chunks of `chunk` keys, each work-item runs
// the online softmax of cached_attention over its chunk, and split_attention_combine merges the
// chunks (flash-decoding): with M = max_s m_s, y = Σ_s acc_s·e^(m_s−M) / Σ_s l_s·e^(m_s−M).
// Without the split a decode step has only NH·B work-items, each streaming all L keys.
// q: rows of q_stride floats (C, or 3C for a packed QKV); keys, values: [B, S, C];
// bias: [NH, P, P'] (T5's, row L − 1 read) or NULL; mask: [B, S] or NULL;
// partial: [B, NH, splits, HEAD_DIM + 2] (acc, then m and l). global: (splits, NH, B).
// The host guarantees L ≤ S, L ≤ P, L ≤ P' (with a bias) and splits·chunk ≥ L.
#ifdef HEAD_DIM
__kernel void split_attention_partial(__global const float* q, __global const float* keys,
                                      __global const float* values, __global const float* bias,
                                      __global const int* mask, __global float* partial,
                                      const int L, const int S, const int NH, const int q_stride,
                                      const int P, const int P2, const float scale,
                                      const int chunk, const int splits) {
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
  const int first = split * chunk;
  const int end = min(first + chunk, min(L, S));
  for (int j = first; j < end; j++) {
    const size_t row = (size_t)(b * S + j) * C + h * HEAD_DIM;
    float dot = 0.0f;
    for (int d = 0; d < HEAD_DIM; d++) dot = fma(qv[d], keys[row + d], dot);
    float s = dot * scale;
    if (bias_row) s += bias_row[j];
    if (mask && mask[b * S + j] == 0) s += -FLT_MAX;  // transformers' additive float32.min
    ONLINE_SOFTMAX_FOLD(s, values + row, HEAD_DIM, m, l, acc);
  }
  __global float* out = partial + ((size_t)(b * NH + h) * splits + split) * (HEAD_DIM + 2);
  for (int d = 0; d < HEAD_DIM; d++) out[d] = acc[d];
  out[HEAD_DIM] = m;  // −inf for an empty chunk: it then weighs e^(−inf) = 0 below
  out[HEAD_DIM + 1] = l;
}

// y[b, 0, h·HEAD_DIM + d] from the chunks' partial results of split_attention_partial.
// partial: [B, NH, splits, HEAD_DIM + 2]; y: [B, 1, C]. global: (HEAD_DIM, NH, B)
__kernel void split_attention_combine(__global const float* partial, __global float* y,
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

// y[b] = x[b, position]. x: [B, T, C]; y: [B, 1, C]. global: (C, B)
__kernel void select_position(__global const float* x, __global float* y, const int T,
                              const int C, const int position) {
  const int j = get_global_id(0), b = get_global_id(1);
  if (j >= C) return;
  y[(size_t)b * C + j] = x[(size_t)(b * T + position) * C + j];
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

// y = x / sqrt(mean(x²) + eps) · weight: T5LayerNorm (no mean subtracted, no bias).
// x, y: [rows, C]; weight: [C]. One work-group of ROW_WG items per row.
// global: (ROW_WG, rows), local: (ROW_WG, 1)
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void rms_norm(__global const float* x, __global const float* weight, __global float* y,
              const int C, const float eps) {
  __local float scratch[ROW_WG];
  const int lid = get_local_id(0);
  const size_t base = (size_t)get_group_id(1) * C;
  float squares = 0.0f;
  for (int j = lid; j < C; j += ROW_WG) squares += x[base + j] * x[base + j];
  const float inverse = rsqrt(group_sum(squares, scratch, ROW_WG) / C + eps);
  for (int j = lid; j < C; j += ROW_WG) y[base + j] = x[base + j] * inverse * weight[j];
}
