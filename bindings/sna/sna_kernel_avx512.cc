#define SNA_NS sna_avx512
#define SNA_VBYTES 64
#include "sna_kernel.h"
