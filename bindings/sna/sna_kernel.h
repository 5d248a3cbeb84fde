// SNAP bispectrum kernel, SIMD across SNA_W grid points (structure of arrays). Included once per
// instruction set by sna_kernel_{generic,avx2,avx512}.cc, each compiled with its own -m flags and
// SNA_VBYTES (its vector width); SNA_NS names the namespace of that copy. Only plain loops over raw
// pointers here (no library templates), so nothing compiled for a wider instruction set can leak
// into shared inline code.
//
// Mathematics (Thompson et al. 2015; spec §2.4), per grid point c and neighbour d = c − R:
//   Cayley–Klein a = (z0 − i·dz)/r0, b = (dy − i·dx)/r0 with z0 = r/tan(θ0), r0 = sqrt(r² + z0²);
//   U^j by the recursion
//     U^j[mb][ma] = sqrt((j−ma)/(j−mb))·conj(a)·U^{j−1}[mb][ma] − sqrt(ma/(j−mb))·conj(b)·U^{j−1}[mb][ma−1]
//   for rows mb ≤ j/2, the rest by U^j[j−mb][j−ma] = (−1)^(ma−mb)·conj(U^j[mb][ma]);
//   Utot = wself·I + Σ s·U;  Z^{j1j2j} = Σ C·C·Utot^{j1}·Utot^{j2};  B = Σ Re(conj(Utot^j)·Z^{j1j2j}),
//   summed over half of (mb, ma) with weights 2 / 1 (Z has U's mirror symmetry).
// Utot of a batch stays in the caller's buffer: an adjoint (Σ β·∂B/∂R) can reuse it to form Y = Σ β·Z
// and contract it with ∂U/∂R per neighbour.
//
// Layout: complex entry u of a batch array = SNA_W real parts, then SNA_W imaginary parts, i.e.
// vectors [2u·NH, 2u·NH + NH) and [(2u+1)·NH, (2u+2)·NH) of NH = SNA_W·8 / SNA_VBYTES native vectors.
#include "sna_types.h"

namespace SNA_NS {

typedef double V __attribute__((vector_size(SNA_VBYTES)));
enum { NH = SNA_W * 8 / SNA_VBYTES };

#define SNA_H for (int h = 0; h < NH; h++)

// Utot of a batch (all rows, self term included). U of neighbour k goes to ulist_ + k·ustride
// (ustride 0: one scratch buffer reused; the adjoint keeps every neighbour's U instead of recomputing).
static void utotPass(const SnaTables* T, int nk, const double* ar_, const double* ai_, const double* br_, const double* bi_, const double* s_, double* ulist_, long ustride, double* utot_) {
  const int J = T->twojmax;
  const int nu = T->nu;
  const int* ustart = T->ustart;
  const double* rootpq = T->rootpq;  // rootpq[p*(J+2)+q] = sqrt(p/q)
  const int RP = J + 2;
  V* Ut = (V*)utot_;
  const V zero = {};
  for (int u = 0; u < 2 * nu * NH; u++) Ut[u] = zero;

  for (int k = 0; k < nk; k++) {
    V* U = (V*)(ulist_ + k * ustride);
    V ar[NH], ai[NH], br[NH], bi[NH], s[NH];
    SNA_H {
      ar[h] = ((const V*)(ar_ + k * SNA_W))[h];
      ai[h] = ((const V*)(ai_ + k * SNA_W))[h];
      br[h] = ((const V*)(br_ + k * SNA_W))[h];
      bi[h] = ((const V*)(bi_ + k * SNA_W))[h];
      s[h] = ((const V*)(s_ + k * SNA_W))[h];
    }
    SNA_H {
      U[h] = zero + 1.0;
      U[NH + h] = zero;
      Ut[h] += s[h];
    }
    for (int j = 1; j <= J; j++) {
      const int u0 = ustart[j], p0 = ustart[j - 1];
      const int rows = j / 2;
      for (int mb = 0; mb <= rows; mb++) {
        const V* prev = U + 2 * NH * (p0 + mb * j);
        V* cur = U + 2 * NH * (u0 + mb * (j + 1));
        V* tot = Ut + 2 * NH * (u0 + mb * (j + 1));
        const int q = j - mb;
        for (int ma = 0; ma <= j; ma++) {
          const double ca = ma < j ? rootpq[(j - ma) * RP + q] : 0.0;
          const double cb = ma > 0 ? rootpq[ma * RP + q] : 0.0;
          // ca·conj(a)·prev[ma] − cb·conj(b)·prev[ma−1] (absent neighbours read as 0)
          const V* pa = prev + 2 * NH * (ma < j ? ma : 0);
          const V* pb = prev + 2 * NH * (ma > 0 ? ma - 1 : 0);
          SNA_H {
            const V xr = pa[h], xi = pa[NH + h], yr = pb[h], yi = pb[NH + h];
            const V re = ca * (ar[h] * xr + ai[h] * xi) - cb * (br[h] * yr + bi[h] * yi);
            const V im = ca * (ar[h] * xi - ai[h] * xr) - cb * (br[h] * yi - bi[h] * yr);
            cur[2 * NH * ma + h] = re;
            cur[2 * NH * ma + NH + h] = im;
            tot[2 * NH * ma + h] += s[h] * re;
            tot[2 * NH * ma + NH + h] += s[h] * im;
          }
        }
      }
      if ((j & 1) && j < J) {
        // row (j+1)/2 of an odd j, needed by j+1: mirror of row (j−1)/2
        const int mb = (j - 1) / 2;
        const V* src = U + 2 * NH * (u0 + mb * (j + 1));
        V* dst = U + 2 * NH * (u0 + (j - mb) * (j + 1));
        for (int ma = 0; ma <= j; ma++) {
          const int mas = j - ma;  // dst[ma] = (−1)^(mas−mb)·conj(src[mas])
          const double sg = ((mas - mb) & 1) ? -1.0 : 1.0;
          SNA_H {
            dst[2 * NH * ma + h] = sg * src[2 * NH * mas + h];
            dst[2 * NH * ma + NH + h] = -sg * src[2 * NH * mas + NH + h];
          }
        }
      }
    }
  }

  // self term and the mirrored rows of Utot
  for (int j = 0; j <= J; j++) {
    const int u0 = ustart[j];
    for (int mb = 0; 2 * mb <= j; mb++) SNA_H Ut[2 * NH * (u0 + mb * (j + 1) + mb) + h] += T->wself;
    for (int mb = 0; 2 * mb < j; mb++)
      for (int ma = 0; ma <= j; ma++) {
        const V* src = Ut + 2 * NH * (u0 + mb * (j + 1) + ma);
        V* dst = Ut + 2 * NH * (u0 + (j - mb) * (j + 1) + (j - ma));
        const double sg = ((ma - mb) & 1) ? -1.0 : 1.0;
        SNA_H {
          dst[h] = sg * src[h];
          dst[NH + h] = -sg * src[NH + h];
        }
      }
  }

}

// Z and B of a batch from its Utot.
static void zbPass(const SnaTables* T, const double* utot_, double* blist_) {
  const V* Ut = (const V*)utot_;
  const V zero = {};
  // Z and B: one stream of elements per triple
  const SnaZElem* el = T->elems;
  const SnaZTerm* tm = T->terms;
  const double* cc = T->coef;
  for (int t = 0; t < T->ntriple; t++) {
    V b[NH];
    SNA_H b[h] = zero;
    for (int e = T->tripleElem[t]; e < T->tripleElem[t + 1]; e++) {
      V zr[NH], zi[NH];
      SNA_H {
        zr[h] = zero;
        zi[h] = zero;
      }
      for (int q = el[e].term0; q < el[e].term1; q++) {
        const V* u1 = Ut + 2 * NH * tm[q].u1;
        const V* u2 = Ut + 2 * NH * tm[q].u2;
        const double* c = cc + tm[q].coef;
        const int na = tm[q].na;
        for (int i = 0; i < na; i++) {
          const double ci = c[i];
          const V* x = u1 + 2 * NH * i;
          const V* y = u2 - 2 * NH * i;
          SNA_H {
            zr[h] += ci * (x[h] * y[h] - x[NH + h] * y[NH + h]);
            zi[h] += ci * (x[h] * y[NH + h] + x[NH + h] * y[h]);
          }
        }
      }
      const V* uj = Ut + 2 * NH * el[e].jju;
      SNA_H b[h] += uj[h] * zr[h] + uj[NH + h] * zi[h];
    }
    SNA_H((V*)(blist_ + t * SNA_W))[h] = b[h];
  }
}

void batch(const SnaTables* T, int nk, const double* ar_, const double* ai_, const double* br_, const double* bi_, const double* s_, double* ulist_, double* utot_, double* blist_) {
  utotPass(T, nk, ar_, ai_, br_, bi_, s_, ulist_, 0, utot_);
  zbPass(T, utot_, blist_);
}

#include "sna_adjoint.h"

#undef SNA_H

}  // namespace SNA_NS
