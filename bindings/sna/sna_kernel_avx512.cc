#define SNA_NS sna_avx512
#include "sna_kernel.h"
