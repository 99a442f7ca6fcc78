// embedding.cl — rows of tables by id: the encoders' embeddings fused with their layer norm, a
// plain gather (plus positions) for T5 and GPT-2, and one position's row of every sequence.
//
// Layouts: row-major; B batch, T tokens, C channels. Host guarantees: shapes were checked by
// PhotonCore's ShapeCheck and ids against their tables (and are clamped here as well, so a bad id
// cannot read outside a buffer). Multi-dimensional NDRanges replace every div/mod pair of index
// arithmetic.

#ifndef NORM_WG
#define NORM_WG 64
#endif

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
  normalize_row(y + base, sum, weight, bias, C, eps, scratch, NORM_WG);
}

// y[b, t] = table[ids[b, t]] (+ position[first + t]): T5's `shared`, GPT-2's wte + wpe.
// ids: [B, T]; table: [rows, C]; position: [position_rows, C] or NULL; y: [B, T, C].
// global: (C, T, B)
__kernel void gather_rows(__global const int* ids, __global const float* table,
                          __global const float* position, __global float* y, const int T,
                          const int C, const int rows, const int position_rows, const int first) {
  const int j = get_global_id(0), t = get_global_id(1), b = get_global_id(2);
  if (j >= C || t >= T) return;
  const int row = b * T + t;
  const int r = clamp(ids[row], 0, rows - 1);
  float v = table[(size_t)r * C + j];
  if (position) v += position[(size_t)clamp(first + t, 0, position_rows - 1) * C + j];
  y[(size_t)row * C + j] = v;
}

// y[b] = x[b, position]. x: [B, T, C]; y: [B, 1, C]. global: (C, B)
__kernel void select_position(__global const float* x, __global float* y, const int T,
                              const int C, const int position) {
  const int j = get_global_id(0), b = get_global_id(1);
  if (j >= C) return;
  y[(size_t)b * C + j] = x[(size_t)(b * T + position) * C + j];
}
