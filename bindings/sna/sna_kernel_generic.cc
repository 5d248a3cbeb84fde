#define SNA_NS sna_generic
#define SNA_VBYTES 16
#include "sna_kernel.h"
