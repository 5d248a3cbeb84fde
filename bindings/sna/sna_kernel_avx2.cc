#define SNA_NS sna_avx2
#include "sna_kernel.h"
