// Plain-data tables shared by the table builder (sna.cc) and the per-instruction-set kernels.
#ifndef MALA_SNA_TYPES_H
#define MALA_SNA_TYPES_H

// Grid points per batch (SIMD lanes): 8 doubles = one AVX-512 register, two AVX2 ones.
#define SNA_W 8

// One element (mb, ma) of the half of Z^{j1j2j} that B needs.
struct SnaZElem {
  int jju;           // Utot^j[mb][ma]
  int term0, term1;  // its terms [term0, term1)
};

// Σ_i coef[coef + i]·Utot^{j1}[mb1][ma1_0 + i]·Utot^{j2}[mb2][ma2_0 − i] for one mb1
// (coefficient = half-sum weight · C(mb1, mb2) · C(ma1, ma2)).
struct SnaZTerm {
  int u1, u2, na, coef;
};

struct SnaTables {
  int twojmax;
  int nu;              // U entries Σ_j (j+1)²
  const int* ustart;   // first entry of U^j
  const double* rootpq;
  double wself;
  int ntriple;
  const int* tripleElem;  // elements of triple t: [tripleElem[t], tripleElem[t+1])
  const SnaZElem* elems;
  const SnaZTerm* terms;
  const double* coef;
};

#define SNA_DECLARE(ns) \
  namespace ns { \
  void batch(const SnaTables* T, int nk, const double* ar, const double* ai, const double* br, const double* bi, const double* s, double* ulist, double* utot, double* blist); \
  void utot(const SnaTables* T, int nk, const double* ar, const double* ai, const double* br, const double* bi, const double* s, double* ulist, long ustride, double* utot); \
  void zb(const SnaTables* T, const double* utot, double* blist); \
  void adjoint(const SnaTables* T, int nk, const double* ar, const double* ai, const double* br, const double* bi, const double* s, const double* beta, const double* ulist, long ustride, const double* utot, double* gut, double* gu, double* gout); \
  }
SNA_DECLARE(sna_generic)
SNA_DECLARE(sna_generic_w8)
SNA_DECLARE(sna_avx2)
SNA_DECLARE(sna_avx512)

#endif
