// OpenCL 1.2 API surface (PoCL and every GPU driver implement it) and CLBlast's C API.
// The target version must be set before any CL header, or the 3.0 declarations win.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast_c.h>
