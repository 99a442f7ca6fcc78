// OpenBLAS's CBLAS interface (Debian libopenblas-dev); the CPU reference uses cblas_sgemm.
#include <cblas.h>
