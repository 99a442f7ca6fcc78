// glibc's libmvec (libc6-dev): the vector variants of libm's float functions, four lanes in the
// x86-64 SSE vector ABI (names from the vector function ABI: 'b' = SSE, 'N4' = 4 lanes unmasked,
// 'v' = one vector argument). Accurate to 4 ulp; the CPU reference uses them for GELU's erf and
// softmax's exp, tens of millions of calls per MiniLM batch.
#if defined(__x86_64__)
typedef float photon_float4 __attribute__((__vector_size__(16)));
photon_float4 _ZGVbN4v_erff(photon_float4 x);
photon_float4 _ZGVbN4v_expf(photon_float4 x);
#endif
