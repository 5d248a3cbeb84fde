// Adjoint of the SNAP bispectrum (reverse mode), included by sna_kernel.h inside its namespace (V, NH,
// SNA_H). For per-point weights β_t (one vector per grid point, SIMD lanes) it gives, per neighbour k,
// ∂(Σ_t β_t·B_t)/∂(ar, ai, br, bi, s): the caller chains those to the displacement d (sna.cc).
//
// Mathematics, with the complex gradient convention g(x) = ∂E/∂Re x + i·∂E/∂Im x:
//   B = Σ_e Re(conj(u_e)·Z_e), Z_e = Σ c·x·y  ⇒  g(u_e) += β·Z_e,  g(x) += c·β·u_e·conj(y),  g(y) += c·β·u_e·conj(x)
//   (x, y any rows of Utot; the mirrored rows fold back: dst = σ·conj(src) ⇒ g(src) += σ·conj(g(dst))).
//   Utot = wself·I + Σ_k s_k·U_k over the upper rows  ⇒  g(U_k) = s_k·g(Utot),  g(s_k) = Σ Re(conj(g(Utot))·U_k).
//   U^j[mb][ma] = ca·conj(a)·P[ma] − cb·conj(b)·P[ma−1]  ⇒  g(P[ma]) += ca·a·g,  g(P[ma−1]) −= cb·b·g,
//   g(a) += ca·conj(g)·P[ma],  g(b) −= cb·conj(g)·P[ma−1], from j = J down to 1.
//
// ulist_: every neighbour's U (stride ustride doubles, from utotPass); utot_: the batch's Utot; beta_:
// nt·SNA_W; gut_, gu_: scratch of 2·nu·SNA_W doubles each; gout_: nk·5·SNA_W (ar, ai, br, bi, s).

void utot(const SnaTables* T, int nk, const double* ar_, const double* ai_, const double* br_, const double* bi_, const double* s_, double* ulist_, long ustride, double* utot_) {
  utotPass(T, nk, ar_, ai_, br_, bi_, s_, ulist_, ustride, utot_);
}

void zb(const SnaTables* T, const double* utot_, double* blist_) { zbPass(T, utot_, blist_); }

void adjoint(const SnaTables* T, int nk, const double* ar_, const double* ai_, const double* br_, const double* bi_, const double* s_, const double* beta_, const double* ulist_, long ustride, const double* utot_, double* gut_, double* gu_, double* gout_) {
  const int J = T->twojmax;
  const int nu = T->nu;
  const int* ustart = T->ustart;
  const double* rootpq = T->rootpq;
  const int RP = J + 2;
  const V* Ut = (const V*)utot_;
  V* G = (V*)gut_;
  const V zero = {};
  for (int u = 0; u < 2 * nu * NH; u++) G[u] = zero;

  // 1. g(Utot) from the Z/B stage
  const SnaZElem* el = T->elems;
  const SnaZTerm* tm = T->terms;
  const double* cc = T->coef;
  for (int t = 0; t < T->ntriple; t++) {
    V bt[NH];
    SNA_H bt[h] = ((const V*)(beta_ + t * SNA_W))[h];
    for (int e = T->tripleElem[t]; e < T->tripleElem[t + 1]; e++) {
      const V* uj = Ut + 2 * NH * el[e].jju;
      V bur[NH], bui[NH], zr[NH], zi[NH];
      SNA_H {
        bur[h] = bt[h] * uj[h];
        bui[h] = bt[h] * uj[NH + h];
        zr[h] = zero;
        zi[h] = zero;
      }
      for (int q = el[e].term0; q < el[e].term1; q++) {
        const V* u1 = Ut + 2 * NH * tm[q].u1;
        const V* u2 = Ut + 2 * NH * tm[q].u2;
        V* g1 = G + 2 * NH * tm[q].u1;
        V* g2 = G + 2 * NH * tm[q].u2;
        const double* c = cc + tm[q].coef;
        const int na = tm[q].na;
        for (int i = 0; i < na; i++) {
          const double ci = c[i];
          const V* x = u1 + 2 * NH * i;
          const V* y = u2 - 2 * NH * i;
          V* gx = g1 + 2 * NH * i;
          V* gy = g2 - 2 * NH * i;
          SNA_H {
            const V xr = x[h], xi = x[NH + h], yr = y[h], yi = y[NH + h];
            zr[h] += ci * (xr * yr - xi * yi);
            zi[h] += ci * (xr * yi + xi * yr);
            const V cr = ci * bur[h], cim = ci * bui[h];
            // c·β·u·conj(y), c·β·u·conj(x)
            gx[h] += cr * yr + cim * yi;
            gx[NH + h] += cim * yr - cr * yi;
            gy[h] += cr * xr + cim * xi;
            gy[NH + h] += cim * xr - cr * xi;
          }
        }
      }
      V* gj = G + 2 * NH * el[e].jju;
      SNA_H {
        gj[h] += bt[h] * zr[h];
        gj[NH + h] += bt[h] * zi[h];
      }
    }
  }

  // 2. the mirrored rows of Utot back onto the rows they were copied from
  for (int j = 0; j <= J; j++) {
    const int u0 = ustart[j];
    for (int mb = 0; 2 * mb < j; mb++)
      for (int ma = 0; ma <= j; ma++) {
        V* src = G + 2 * NH * (u0 + mb * (j + 1) + ma);
        const V* dst = G + 2 * NH * (u0 + (j - mb) * (j + 1) + (j - ma));
        const double sg = ((ma - mb) & 1) ? -1.0 : 1.0;
        SNA_H {
          src[h] += sg * dst[h];
          src[NH + h] -= sg * dst[NH + h];
        }
      }
  }

  // 3. per neighbour, back through the recursion
  V* gU = (V*)gu_;
  for (int k = 0; k < nk; k++) {
    const V* U = (const V*)(ulist_ + k * ustride);
    V ar[NH], ai[NH], br[NH], bi[NH], s[NH];
    V gar[NH], gai[NH], gbr[NH], gbi[NH], gs[NH];
    SNA_H {
      ar[h] = ((const V*)(ar_ + k * SNA_W))[h];
      ai[h] = ((const V*)(ai_ + k * SNA_W))[h];
      br[h] = ((const V*)(br_ + k * SNA_W))[h];
      bi[h] = ((const V*)(bi_ + k * SNA_W))[h];
      s[h] = ((const V*)(s_ + k * SNA_W))[h];
      gar[h] = gai[h] = gbr[h] = gbi[h] = zero;
      gs[h] = G[h];  // U^0 = 1
    }
    // direct part: g(U) = s·g(Utot) on the upper rows; the extra mirrored row of odd j starts at 0.
    // Level j is seeded just before level j+1 reads its U^j (as `prev`), so U^j is loaded once.
    auto seed = [&](int j) {
      const int u0 = ustart[j];
      const int rows = j / 2;
      for (int e = u0; e < u0 + (rows + 1) * (j + 1); e++) SNA_H {
          gU[2 * NH * e + h] = s[h] * G[2 * NH * e + h];
          gU[2 * NH * e + NH + h] = s[h] * G[2 * NH * e + NH + h];
          gs[h] += G[2 * NH * e + h] * U[2 * NH * e + h] + G[2 * NH * e + NH + h] * U[2 * NH * e + NH + h];
        }
      if ((j & 1) && j < J)
        for (int e = u0 + (rows + 1) * (j + 1); e < u0 + (rows + 2) * (j + 1); e++) SNA_H gU[2 * NH * e + h] = gU[2 * NH * e + NH + h] = zero;
    };
    if (J >= 1) seed(J);
    for (int j = J; j >= 1; j--) {
      const int u0 = ustart[j], p0 = ustart[j - 1];
      if (j > 1) seed(j - 1);
      if ((j & 1) && j < J) {
        const int mb = (j - 1) / 2;
        V* gsrc = gU + 2 * NH * (u0 + mb * (j + 1));
        const V* gdst = gU + 2 * NH * (u0 + (j - mb) * (j + 1));
        for (int ma = 0; ma <= j; ma++) {
          const int mas = j - ma;
          const double sg = ((mas - mb) & 1) ? -1.0 : 1.0;
          SNA_H {
            gsrc[2 * NH * mas + h] += sg * gdst[2 * NH * ma + h];
            gsrc[2 * NH * mas + NH + h] -= sg * gdst[2 * NH * ma + NH + h];
          }
        }
      }
      const int rows = j / 2;
      for (int mb = 0; mb <= rows; mb++) {
        const V* prev = U + 2 * NH * (p0 + mb * j);
        V* gprev = gU + 2 * NH * (p0 + mb * j);
        const V* gcur = gU + 2 * NH * (u0 + mb * (j + 1));
        const int q = j - mb;
        for (int ma = 0; ma <= j; ma++) {
          const V* g = gcur + 2 * NH * ma;
          if (ma < j) {
            const double ca = rootpq[(j - ma) * RP + q];
            const V* x = prev + 2 * NH * ma;
            V* gx = gprev + 2 * NH * ma;
            SNA_H {
              const V gr = ca * g[h], gi = ca * g[NH + h], xr = x[h], xi = x[NH + h];
              gx[h] += ar[h] * gr - ai[h] * gi;
              gx[NH + h] += ar[h] * gi + ai[h] * gr;
              gar[h] += gr * xr + gi * xi;
              gai[h] += gr * xi - gi * xr;
            }
          }
          if (ma > 0) {
            const double cb = rootpq[ma * RP + q];
            const V* y = prev + 2 * NH * (ma - 1);
            V* gy = gprev + 2 * NH * (ma - 1);
            SNA_H {
              const V gr = cb * g[h], gi = cb * g[NH + h], yr = y[h], yi = y[NH + h];
              gy[h] -= br[h] * gr - bi[h] * gi;
              gy[NH + h] -= br[h] * gi + bi[h] * gr;
              gbr[h] -= gr * yr + gi * yi;
              gbi[h] -= gr * yi - gi * yr;
            }
          }
        }
      }
    }
    V* o = (V*)(gout_ + k * 5 * SNA_W);
    SNA_H {
      o[h] = gar[h];
      o[NH + h] = gai[h];
      o[2 * NH + h] = gbr[h];
      o[3 * NH + h] = gbi[h];
      o[4 * NH + h] = gs[h];
    }
  }
}
