#define SNA_NS sna_avx2
#define SNA_VBYTES 32
#include "sna_kernel.h"
