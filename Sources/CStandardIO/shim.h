// The C stream `print` writes to. Swift 6 refuses to read the global `stdout` (shared mutable
// state); the CLI needs the stream itself to flush it and check its error flag.
#include <stdio.h>
static inline FILE *photon_standard_output(void) { return stdout; }
