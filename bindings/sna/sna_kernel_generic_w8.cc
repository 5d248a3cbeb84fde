// The AVX-512 kernel's layout (one 8-double vector per complex part) compiled for any CPU: never chosen
// automatically; $MALA_TS_SNA_ISA=generic-w8 runs it so machines without AVX-512 test that code path.
#define SNA_NS sna_generic_w8
#define SNA_VBYTES 64
#include "sna_kernel.h"
