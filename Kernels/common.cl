// common.cl — helpers shared by every kernel file. The loader prepends this file to each program,
// since embedded sources have no include path.
//
// Conventions (see PhotonCore's Backend docs): row-major; B batch, T tokens, C channels, NH heads,
// HS head size, K/N GEMM input/output features. Activation codes match the host's `Activation`.

#define ACT_IDENTITY 0
#define ACT_GELU 1       // exact erf GELU: HF "gelu"
#define ACT_GELU_TANH 2  // tanh approximation: HF "gelu_new", "gelu_pytorch_tanh"
#define ACT_RELU 3

inline float activate(float x, int act) {
  switch (act) {
    case ACT_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    case ACT_GELU_TANH: {
      const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanh(inner));
    }
    case ACT_RELU: return fmax(x, 0.0f);
    default: return x;
  }
}

// Sum of `value` over a work-group of `size` items (a power of two), through `scratch[size]`.
// Every work-item of the group must call it (it has barriers); all get the total back.
inline float group_sum(float value, __local float* scratch, int size) {
  const int lid = get_local_id(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = size / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] += scratch[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float total = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // scratch is reused by the next call
  return total;
}

inline float group_max(float value, __local float* scratch, int size) {
  const int lid = get_local_id(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int stride = size / 2; stride > 0; stride /= 2) {
    if (lid < stride) scratch[lid] = fmax(scratch[lid], scratch[lid + stride]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float result = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return result;
}
