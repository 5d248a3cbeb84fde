// SNAP bispectrum kernel, SIMD across SNA_W grid points (structure of arrays). Included once per
// instruction set by sna_kernel_{generic,avx2,avx512}.cc, each compiled with its own -m flags;
// SNA_NS names the namespace of that copy. Only plain loops over raw pointers here (no library
// templates), so nothing compiled for a wider instruction set can leak into shared inline code.
//
// Mathematics (Thompson et al. 2015; spec §2.4), per grid point c and neighbour d = c − R:
//   Cayley–Klein a = (z0 − i·dz)/r0, b = (dy − i·dx)/r0 with z0 = r/tan(θ0), r0 = sqrt(r² + z0²);
//   U^j by the recursion
//     U^j[mb][ma] = sqrt((j−ma)/(j−mb))·conj(a)·U^{j−1}[mb][ma] − sqrt(ma/(j−mb))·conj(b)·U^{j−1}[mb][ma−1]
//   for rows mb ≤ j/2, the rest by U^j[j−mb][j−ma] = (−1)^(ma−mb)·conj(U^j[mb][ma]);
//   Utot = wself·I + Σ s·U;  Z^{j1j2j} = Σ C·C·Utot^{j1}·Utot^{j2};  B = Σ Re(conj(Utot^j)·Z^{j1j2j}),
//   summed over half of (mb, ma) with weights 2 / 1 (Z has U's mirror symmetry).
// Utot of a batch stays in the caller's buffer: an adjoint (Σ β·∂B/∂R) can reuse it to form Y = Σ β·Z
// and contract with ∂U/∂R per neighbour.
#include "sna_types.h"

namespace SNA_NS {

typedef double V __attribute__((vector_size(SNA_W * 8), aligned(SNA_W * 8)));

static inline V splat(double x) {
  V v;
  for (int l = 0; l < SNA_W; l++) v[l] = x;
  return v;
}

// ulist: work buffer of 2·nu vectors (this neighbour's U, re/im interleaved per entry);
// utot: 2·nu vectors, the batch's Utot (out); nbr: 5 arrays of nk·SNA_W doubles (ar, ai, br, bi, s);
// blist: ntriple·SNA_W doubles (out, bzero not subtracted).
void batch(const SnaTables* T, int nk, const double* ar_, const double* ai_, const double* br_, const double* bi_, const double* s_, double* ulist_, double* utot_, double* blist_) {
  const int J = T->twojmax;
  const int nu = T->nu;
  const int* ustart = T->ustart;
  const double* rootpq = T->rootpq;  // rootpq[p*(J+2)+q] = sqrt(p/q)
  const int RP = J + 2;
  V* U = (V*)ulist_;
  V* Ut = (V*)utot_;
  for (int u = 0; u < 2 * nu; u++) Ut[u] = splat(0.0);

  for (int k = 0; k < nk; k++) {
    const V ar = *(const V*)(ar_ + k * SNA_W), ai = *(const V*)(ai_ + k * SNA_W);
    const V br = *(const V*)(br_ + k * SNA_W), bi = *(const V*)(bi_ + k * SNA_W);
    const V s = *(const V*)(s_ + k * SNA_W);
    U[0] = splat(1.0);
    U[1] = splat(0.0);
    Ut[0] += s;
    for (int j = 1; j <= J; j++) {
      const int u0 = ustart[j], p0 = ustart[j - 1];
      const int rows = j / 2;
      for (int mb = 0; mb <= rows; mb++) {
        const V* prev = U + 2 * (p0 + mb * j);
        V* cur = U + 2 * (u0 + mb * (j + 1));
        V* tot = Ut + 2 * (u0 + mb * (j + 1));
        const int q = j - mb;
        for (int ma = 0; ma <= j; ma++) {
          V re = splat(0.0), im = splat(0.0);
          if (ma < j) {
            // conj(a)·prev[ma]
            const V c = splat(rootpq[(j - ma) * RP + q]);
            const V pr = prev[2 * ma], pi = prev[2 * ma + 1];
            re += c * (ar * pr + ai * pi);
            im += c * (ar * pi - ai * pr);
          }
          if (ma > 0) {
            // −conj(b)·prev[ma−1]
            const V c = splat(rootpq[ma * RP + q]);
            const V pr = prev[2 * ma - 2], pi = prev[2 * ma - 1];
            re -= c * (br * pr + bi * pi);
            im -= c * (br * pi - bi * pr);
          }
          cur[2 * ma] = re;
          cur[2 * ma + 1] = im;
          tot[2 * ma] += s * re;
          tot[2 * ma + 1] += s * im;
        }
      }
      if ((j & 1) && j < J) {
        // row (j+1)/2 of an odd j, needed by j+1: mirror of row (j−1)/2
        const int mb = (j - 1) / 2;
        const V* src = U + 2 * (u0 + mb * (j + 1));
        V* dst = U + 2 * (u0 + (j - mb) * (j + 1));
        for (int ma = 0; ma <= j; ma++) {
          const int mas = j - ma;  // dst[ma] = (−1)^(mas−mb)·conj(src[mas])
          const bool neg = ((mas - mb) & 1) != 0;
          dst[2 * ma] = neg ? -src[2 * mas] : src[2 * mas];
          dst[2 * ma + 1] = neg ? src[2 * mas + 1] : -src[2 * mas + 1];
        }
      }
    }
  }

  // self term and the mirrored rows of Utot
  for (int j = 0; j <= J; j++) {
    const int u0 = ustart[j];
    for (int mb = 0; 2 * mb <= j; mb++) Ut[2 * (u0 + mb * (j + 1) + mb)] += splat(T->wself);
    for (int mb = 0; 2 * mb < j; mb++)
      for (int ma = 0; ma <= j; ma++) {
        const V* src = Ut + 2 * (u0 + mb * (j + 1) + ma);
        V* dst = Ut + 2 * (u0 + (j - mb) * (j + 1) + (j - ma));
        const bool neg = ((ma - mb) & 1) != 0;
        dst[0] = neg ? -src[0] : src[0];
        dst[1] = neg ? src[1] : -src[1];
      }
  }

  // Z and B: one stream of elements per triple
  const SnaZElem* el = T->elems;
  const SnaZTerm* tm = T->terms;
  const double* cc = T->coef;
  for (int t = 0; t < T->ntriple; t++) {
    V b = splat(0.0);
    for (int e = T->tripleElem[t]; e < T->tripleElem[t + 1]; e++) {
      V zr = splat(0.0), zi = splat(0.0);
      for (int q = el[e].term0; q < el[e].term1; q++) {
        const V* u1 = Ut + 2 * tm[q].u1;
        const V* u2 = Ut + 2 * tm[q].u2;
        const double* c = cc + tm[q].coef;
        const int na = tm[q].na;
        for (int i = 0; i < na; i++) {
          const V a_r = u1[2 * i], a_i = u1[2 * i + 1];
          const V b_r = u2[-2 * i], b_i = u2[-2 * i + 1];
          const V ci = splat(c[i]);
          zr += ci * (a_r * b_r - a_i * b_i);
          zi += ci * (a_r * b_i + a_i * b_r);
        }
      }
      const V* uj = Ut + 2 * el[e].jju;
      b += uj[0] * zr + uj[1] * zi;
    }
    *(V*)(blist_ + t * SNA_W) = b;
  }
}

}  // namespace SNA_NS
