#define SNA_NS sna_generic
#include "sna_kernel.h"
