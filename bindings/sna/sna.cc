// mala-ts native bispectrum (SNAP) engine: the descriptors of LAMMPS' compute sna/grid, written from
// Thompson et al., J. Comput. Phys. 285, 316 (2015) and mala-ts' spec §2.4 (not from LAMMPS' source).
//
// SnaEngine(params) builds the Clebsch–Gordan and index tables once; compute(images, types, points,
// out) finds each point's neighbours among the given atom images with a cell list, and evaluates
// batches of SNA_W points with the kernel of the widest instruction set this CPU has (AVX-512, AVX2,
// or portable code), chosen at run time ($MALA_TS_SNA_ISA = generic|avx2|avx512 forces one;
// generic-w8 is the AVX-512 layout compiled for any CPU, for tests). Descriptors and adjoint run
// their batches in fixed chunks over snaThreads() threads ($MALA_TS_SNA_THREADS, else the cores per
// MPI rank), with the same bits for any thread count.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "sna_types.h"

namespace {

using BatchFn = void (*)(const SnaTables*, int, const double*, const double*, const double*, const double*, const double*, double*, double*, double*);
using UtotFn = void (*)(const SnaTables*, int, const double*, const double*, const double*, const double*, const double*, double*, long, double*);
using ZbFn = void (*)(const SnaTables*, const double*, double*);
using AdjointFn = void (*)(const SnaTables*, int, const double*, const double*, const double*, const double*, const double*, const double*, const double*, long, const double*, double*, double*, double*);

bool cpuHas(const char* isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!std::strcmp(isa, "avx512")) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (!std::strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return !std::strcmp(isa, "generic") || !std::strcmp(isa, "generic-w8");
}

struct Kernel {
  const char* name;
  BatchFn fn;
  UtotFn utot;
  ZbFn zb;
  AdjointFn adjoint;
};

// The widest kernel the CPU runs, unless $MALA_TS_SNA_ISA names one (an unknown or unsupported
// name falls back to the automatic choice).
Kernel chooseKernel() {
  const Kernel all[] = {
#if defined(SNA_HAVE_X86_KERNELS)
      {"avx512", sna_avx512::batch, sna_avx512::utot, sna_avx512::zb, sna_avx512::adjoint},
      {"avx2", sna_avx2::batch, sna_avx2::utot, sna_avx2::zb, sna_avx2::adjoint},
#endif
      {"generic", sna_generic::batch, sna_generic::utot, sna_generic::zb, sna_generic::adjoint},
      {"generic-w8", sna_generic_w8::batch, sna_generic_w8::utot, sna_generic_w8::zb, sna_generic_w8::adjoint},  // only when asked for (tests)
  };
  const char* want = std::getenv("MALA_TS_SNA_ISA");
  if (want && *want)
    for (const Kernel& k : all)
      if (!std::strcmp(k.name, want) && cpuHas(k.name)) return k;
  for (const Kernel& k : all)
    if (cpuHas(k.name)) return k;  // the list is widest first; "generic" always qualifies
  return all[0];
}

template <class T>
struct AlignedFree {
  void operator()(T* p) const { std::free(p); }
};
using AlignedDoubles = std::unique_ptr<double, AlignedFree<double>>;

AlignedDoubles alignedDoubles(size_t n) {
  size_t bytes = ((n * sizeof(double) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, bytes ? bytes : 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes ? bytes : 64);
  return AlignedDoubles(static_cast<double*>(p));
}

double factorial(int n) {
  double f = 1;
  for (int i = 2; i <= n; i++) f *= i;
  return f;
}

// Clebsch–Gordan ⟨j1/2 a2/2; j2/2 b2/2 | j/2 (a2+b2)/2⟩ with doubled arguments (Racah's formula, spec §2.4).
double clebschGordan(int j1, int j2, int j, int a2, int b2) {
  const int c2 = a2 + b2;
  if (std::abs(c2) > j) return 0;
  const double delta = std::sqrt(factorial((j1 + j2 - j) / 2) * factorial((j1 - j2 + j) / 2) * factorial((-j1 + j2 + j) / 2) / factorial((j1 + j2 + j) / 2 + 1));
  const double pre = std::sqrt(factorial((j1 + a2) / 2) * factorial((j1 - a2) / 2) * factorial((j2 + b2) / 2) * factorial((j2 - b2) / 2) * factorial((j + c2) / 2) * factorial((j - c2) / 2) * (j + 1));
  const int zmin = std::max({0, -(j - j2 + a2) / 2, -(j - j1 - b2) / 2});
  const int zmax = std::min({(j1 + j2 - j) / 2, (j1 - a2) / 2, (j2 + b2) / 2});
  double sum = 0;
  for (int z = zmin; z <= zmax; z++) {
    const double d = factorial(z) * factorial((j1 + j2 - j) / 2 - z) * factorial((j1 - a2) / 2 - z) * factorial((j2 + b2) / 2 - z) * factorial((j - j2 + a2) / 2 + z) * factorial((j - j1 - b2) / 2 + z);
    sum += ((z & 1) ? -1.0 : 1.0) / d;
  }
  return delta * pre * sum;
}

struct Params {
  int twojmax = 10;
  double rcutfac = 4.67637, rfac0 = 0.99363, rmin0 = 0, wself = 1;
  bool switchflag = true, bzeroflag = false, quadraticflag = false;
  std::vector<double> radii, weights;
};

// The Z terms of one twojmax (spec §2.4–2.5): for each triple, the elements of the half of Z^{j1j2j}
// that B needs and their terms. With `mergeSwapped`, a triple with j1 = j2 keeps one term of each
// pair that differs by swapping (mb1, ma1) ↔ (mb2, ma2) (the two multiply the same two entries of
// Utot^{j1}) with the pair's summed coefficient: the same Z in half the work there (a third of all
// terms at twojmax 10). The adjoint uses those; the descriptors keep the unmerged terms, so their
// values do not change by a bit.
struct ZTerms {
  std::vector<SnaZElem> elems;
  std::vector<SnaZTerm> terms;
  std::vector<double> coef;
  std::vector<int> tripleElem;

  ZTerms(int J, const std::vector<int>& ustart, bool mergeSwapped) {
    for (int j1 = 0; j1 <= J; j1++)
      for (int j2 = 0; j2 <= j1; j2++)
        for (int j = j1 - j2; j <= std::min(J, j1 + j2); j += 2) {
          if (j < j1) continue;
          tripleElem.push_back(int(elems.size()));
          const int k = (j1 + j2 - j) / 2;
          const bool merge = mergeSwapped && j1 == j2;
          std::vector<double> cg((j1 + 1) * (j2 + 1));
          for (int m1 = 0; m1 <= j1; m1++)
            for (int m2 = 0; m2 <= j2; m2++) cg[m1 * (j2 + 1) + m2] = clebschGordan(j1, j2, j, 2 * m1 - j1, 2 * m2 - j2);
          const auto C = [&](int m1, int m2) { return cg[m1 * (j2 + 1) + m2]; };
          for (int mb = 0; 2 * mb <= j; mb++)
            for (int ma = 0; ma <= j; ma++) {
              double f;
              if (2 * mb < j) f = 2;
              else if (2 * ma < j) f = 2;
              else if (2 * ma == j) f = 1;
              else continue;
              SnaZElem e{ustart[j] + mb * (j + 1) + ma, int(terms.size()), 0};
              const int ma1lo = std::max(0, ma + k - j2), ma1hi = std::min(j1, ma + k);
              for (int mb1 = std::max(0, mb + k - j2); mb1 <= std::min(j1, mb + k); mb1++) {
                const int mb2 = mb + k - mb1;
                if (merge && mb1 > mb2) continue;  // folded into its partner mb1 < mb2
                const double cgb = C(mb1, mb2);
                const double cgbSwap = merge && mb1 < mb2 ? C(mb2, mb1) : 0.0;
                if ((cgb == 0 && cgbSwap == 0) || ma1hi < ma1lo) continue;
                const int ma2hi = ma + k - ma1lo;
                int na = ma1hi - ma1lo + 1;
                // mb1 = mb2: the pairs (ma1, ma2), (ma2, ma1) lie in the same run; keep ma1 ≤ ma2
                if (merge && mb1 == mb2) na = (na + 1) / 2;
                SnaZTerm q{ustart[j1] + mb1 * (j1 + 1) + ma1lo, ustart[j2] + mb2 * (j2 + 1) + ma2hi, na, int(coef.size())};
                for (int i = 0; i < q.na; i++) {
                  const int m1 = ma1lo + i, m2 = ma2hi - i;
                  double c = f * cgb * C(m1, m2);
                  if (merge && mb1 < mb2) c += f * cgbSwap * C(m2, m1);
                  else if (merge && m1 < m2) c += f * cgb * C(m2, m1);
                  coef.push_back(c);
                }
                terms.push_back(q);
              }
              e.term1 = int(terms.size());
              elems.push_back(e);
            }
        }
    tripleElem.push_back(int(elems.size()));
  }
};

// Index and coefficient tables of one twojmax (spec §2.4–2.5), owned here and lent to the kernels:
// `t` for the descriptors, `adj` (the same but with merged terms, ZTerms) for the adjoint.
struct Tables {
  SnaTables t{}, adj{};
  std::vector<int> ustart, tripleJ;
  std::vector<double> rootpq;
  ZTerms z, zAdj;

  Tables(const Tables&) = delete;  // t points into the vectors
  Tables(int J, double wself) : ustart(starts(J)), z(J, ustart, false), zAdj(J, ustart, true) {
    const int nu = ustart[J + 1];
    const int RP = J + 2;
    rootpq.assign(RP * RP, 0.0);
    for (int p = 1; p < RP; p++)
      for (int q = 1; q < RP; q++) rootpq[p * RP + q] = std::sqrt(double(p) / q);
    // triples in LAMMPS' idxb order
    for (int j1 = 0; j1 <= J; j1++)
      for (int j2 = 0; j2 <= j1; j2++)
        for (int j = j1 - j2; j <= std::min(J, j1 + j2); j += 2)
          if (j >= j1) tripleJ.push_back(j);
    for (auto [tab, zt] : {std::pair<SnaTables*, const ZTerms*>{&t, &z}, {&adj, &zAdj}}) {
      tab->twojmax = J;
      tab->nu = nu;
      tab->ustart = ustart.data();
      tab->rootpq = rootpq.data();
      tab->wself = wself;
      tab->ntriple = int(tripleJ.size());
      tab->tripleElem = zt->tripleElem.data();
      tab->elems = zt->elems.data();
      tab->terms = zt->terms.data();
      tab->coef = zt->coef.data();
    }
  }

  static std::vector<int> starts(int J) {
    std::vector<int> u(J + 2);
    int nu = 0;
    for (int j = 0; j <= J; j++) {
      u[j] = nu;
      nu += (j + 1) * (j + 1);
    }
    u[J + 1] = nu;
    return u;
  }
};

// Tables are built once per (twojmax, wself) in a process and shared by every engine (the main
// thread alone creates engines).
std::shared_ptr<const Tables> tablesFor(int J, double wself) {
  static std::map<std::pair<int, double>, std::shared_ptr<const Tables>> cache;
  auto& t = cache[{J, wself}];
  if (!t) t = std::make_shared<const Tables>(J, wself);
  return t;
}

double number(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("SnaEngine: ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<double> numbers(const Napi::Object& o, const char* key) {
  std::vector<double> out;
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("SnaEngine: ") + key + " must be an array of numbers (one per element)");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("SnaEngine: ") + key + " must be an array of numbers (one per element)");
    out.push_back(x.As<Napi::Number>().DoubleValue());
  }
  return out;
}

class SnaEngine : public Napi::ObjectWrap<SnaEngine> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "SnaEngine", {InstanceMethod("compute", &SnaEngine::Compute), InstanceMethod("forces", &SnaEngine::Forces), InstanceAccessor("ncoeff", &SnaEngine::Ncoeff, nullptr), InstanceAccessor("isa", &SnaEngine::Isa, nullptr), InstanceAccessor("threads", &SnaEngine::Threads, nullptr)});
    exports.Set("SnaEngine", f);
    return exports;
  }

  explicit SnaEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SnaEngine>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "SnaEngine(params): params object expected");
    Napi::Object o = info[0].As<Napi::Object>();
    p_.twojmax = int(number(o, "twojmax", 10));
    p_.rcutfac = number(o, "rcutfac", 4.67637);
    p_.rfac0 = number(o, "rfac0", 0.99363);
    p_.rmin0 = number(o, "rmin0", 0);
    p_.wself = number(o, "wself", 1);
    p_.switchflag = number(o, "switchflag", 1) != 0;
    p_.bzeroflag = number(o, "bzeroflag", 0) != 0;
    p_.quadraticflag = number(o, "quadraticflag", 0) != 0;
    p_.radii = numbers(o, "radii");
    p_.weights = numbers(o, "weights");
    if (p_.twojmax < 0 || p_.twojmax > 24) throw Napi::RangeError::New(env, "SnaEngine: twojmax must be in 0..24");
    if (p_.radii.empty() || p_.radii.size() != p_.weights.size()) throw Napi::RangeError::New(env, "SnaEngine: give one radius and one weight per element");
    tables_ = tablesFor(p_.twojmax, p_.wself);
    kernel_ = chooseKernel();
    const int nt = tables_->t.ntriple;
    ncoeff_ = p_.quadraticflag ? nt + nt * (nt + 1) / 2 : nt;
    for (double r : p_.radii) rcutMax_ = std::max(rcutMax_, 2 * p_.rcutfac * r);
  }

 private:
  Params p_;
  std::shared_ptr<const Tables> tables_;
  Kernel kernel_{};
  int ncoeff_ = 0;
  double rcutMax_ = 0;

  Napi::Value Ncoeff(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ncoeff_); }
  Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kernel_.name); }
  // The threads a call without its own count uses now (snaThreads).
  Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(snaThreads())); }

  // compute(images: Float64Array (n·3, Å), types: Int32Array (n, 0-based element), points: Float64Array
  // (m·3, Å), out: Float32Array | Float64Array (m·ncoeff)[, threads]) → neighbours found in all (a
  // count). threads: a positive whole number, else the policy (snaThreads).
  Napi::Value Compute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() || !info[3].IsTypedArray())
      throw Napi::TypeError::New(env, "compute(images: Float64Array, types: Int32Array, points: Float64Array, out: Float32Array | Float64Array[, threads: number])");
    size_t threads = 0;
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      const double t = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
      if (!(t >= 1 && t <= 4096 && t == std::floor(t))) throw Napi::RangeError::New(env, "compute: threads must be a whole number from 1 to 4096 (or undefined for $MALA_TS_SNA_THREADS / the cores per MPI rank)");
      threads = size_t(t);
    }
    auto images = info[0].As<Napi::Float64Array>();
    auto types = info[1].As<Napi::Int32Array>();
    auto points = info[2].As<Napi::Float64Array>();
    Napi::TypedArray outArr = info[3].As<Napi::TypedArray>();
    const size_t n = types.ElementLength();
    if (images.ElementLength() != 3 * n) throw Napi::RangeError::New(env, "compute: images must hold 3 coordinates per type entry");
    if (points.ElementLength() % 3) throw Napi::RangeError::New(env, "compute: points must hold 3 coordinates each");
    const size_t m = points.ElementLength() / 3;
    const bool f32 = outArr.TypedArrayType() == napi_float32_array;
    if (!f32 && outArr.TypedArrayType() != napi_float64_array) throw Napi::TypeError::New(env, "compute: out must be a Float32Array or Float64Array");
    if (outArr.ElementLength() != m * size_t(ncoeff_)) throw Napi::RangeError::New(env, "compute: out must hold ncoeff values per point");
    for (size_t i = 0; i < n; i++)
      if (types[i] < 0 || size_t(types[i]) >= p_.radii.size()) throw Napi::RangeError::New(env, "compute: element index out of range");
    void* out = static_cast<uint8_t*>(outArr.ArrayBuffer().Data()) + outArr.ByteOffset();
    const double count = asJsError(env, [&] { return run(images.Data(), types.Data(), n, points.Data(), m, out, f32, threads ? threads : snaThreads()); });
    return Napi::Number::New(env, count);
  }

  // Cell list over the atom images (cells ≥ the largest cutoff; points outside are clamped to the
  // edge cells), and per grid point its neighbours as the kernel's inputs.
  struct Neighbours {
    const Params& p;
    int nc[3] = {1, 1, 1};
    double lo[3], inv[3];
    std::vector<int> cellStart, order;  // order: sorted position → image index
    std::vector<double> sx, sy, sz;
    std::vector<int> st;
    std::vector<double> rcut, rcutsq;

    Neighbours(const Params& params, double rc, const double* img, const int32_t* type, size_t n) : p(params) {
      double hi[3];
      for (int d = 0; d < 3; d++) {
        lo[d] = 1e300;
        hi[d] = -1e300;
      }
      for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
          lo[d] = std::min(lo[d], img[3 * i + d]);
          hi[d] = std::max(hi[d], img[3 * i + d]);
        }
      // cells of at least the cutoff, few enough that empty space (vacuum, a thin block of a big cell)
      // cannot cost more memory than the atoms do
      const double maxCells = std::max(64.0, 8.0 * double(n));
      for (double cs = rc; n; cs *= 1.25) {
        for (int d = 0; d < 3; d++) nc[d] = std::max(1, int(std::min(1024.0, (hi[d] - lo[d]) / cs)));
        if (double(nc[0]) * nc[1] * nc[2] <= maxCells) break;
      }
      for (int d = 0; d < 3; d++) inv[d] = n && hi[d] > lo[d] ? nc[d] / (hi[d] - lo[d]) * (1 - 1e-12) : 0;
      const size_t ncell = size_t(nc[0]) * nc[1] * nc[2];
      cellStart.assign(ncell + 1, 0);
      order.resize(n);
      std::vector<int> cellIdx(n);
      for (size_t i = 0; i < n; i++) {
        int c[3];
        cellOf(img + 3 * i, c);
        cellIdx[i] = (c[0] * nc[1] + c[1]) * nc[2] + c[2];
        cellStart[cellIdx[i] + 1]++;
      }
      for (size_t c = 0; c < ncell; c++) cellStart[c + 1] += cellStart[c];
      {
        std::vector<int> fill(cellStart.begin(), cellStart.end() - 1);
        for (size_t i = 0; i < n; i++) order[fill[cellIdx[i]]++] = int(i);
      }
      // images sorted by cell, as contiguous coordinates
      sx.resize(n);
      sy.resize(n);
      sz.resize(n);
      st.resize(n);
      for (size_t i = 0; i < n; i++) {
        sx[i] = img[3 * order[i]];
        sy[i] = img[3 * order[i] + 1];
        sz[i] = img[3 * order[i] + 2];
        st[i] = type[order[i]];
      }
      const size_t ntype = p.radii.size();
      rcut.resize(ntype);
      rcutsq.resize(ntype);
      for (size_t t = 0; t < ntype; t++) {
        rcut[t] = 2 * p.rcutfac * p.radii[t];
        rcutsq[t] = rcut[t] * rcut[t];
      }
    }

    void cellOf(const double* x, int* c) const {
      for (int d = 0; d < 3; d++) c[d] = std::max(0, std::min(nc[d] - 1, int(std::floor((x[d] - lo[d]) * inv[d]))));
    }

    // Neighbours of point c into lane (5 kernel inputs: ar, ai, br, bi, s); with `grad`, also the
    // image index (lane[5]), ∂(ar, ai, br, bi, s)/∂d (lane[6..20]) and d = c − R (lane[21..23]).
    void gather(const double* c, std::vector<double>* lane, bool grad) const {
      int cc[3];
      cellOf(c, cc);
      for (int ix = std::max(0, cc[0] - 1); ix <= std::min(nc[0] - 1, cc[0] + 1); ix++)
        for (int iy = std::max(0, cc[1] - 1); iy <= std::min(nc[1] - 1, cc[1] + 1); iy++)
          for (int iz = std::max(0, cc[2] - 1); iz <= std::min(nc[2] - 1, cc[2] + 1); iz++) {
            const int cell = (ix * nc[1] + iy) * nc[2] + iz;
            for (int a = cellStart[cell]; a < cellStart[cell + 1]; a++) {
              const double dx = c[0] - sx[a], dy = c[1] - sy[a], dz = c[2] - sz[a];
              const double rsq = dx * dx + dy * dy + dz * dz;
              const int t = st[a];
              if (!(rsq < rcutsq[t]) || rsq < 1e-20) continue;
              const double r = std::sqrt(rsq);
              const double rcl = rcut[t];
              const double kth = p.rfac0 * M_PI / (rcl - p.rmin0);
              const double theta0 = (r - p.rmin0) * p.rfac0 * M_PI / (rcl - p.rmin0);  // as compute always had it
              const double z0 = r / std::tan(theta0);
              const double r0inv = 1 / std::sqrt(rsq + z0 * z0);
              double fc = 1, dfc = 0;
              if (p.switchflag && r > p.rmin0) {
                const double ph = M_PI * (r - p.rmin0) / (rcl - p.rmin0);
                fc = 0.5 * (std::cos(ph) + 1);
                dfc = -0.5 * M_PI / (rcl - p.rmin0) * std::sin(ph);
              }
              lane[0].push_back(r0inv * z0);
              lane[1].push_back(-r0inv * dz);
              lane[2].push_back(r0inv * dy);
              lane[3].push_back(-r0inv * dx);
              lane[4].push_back(fc * p.weights[t]);
              if (!grad) continue;
              // chain rule to d: z0(r), r0 = sqrt(r² + z0²), û = d/r
              const double d[3] = {dx, dy, dz};
              const double dz0 = z0 / r - kth * (rsq + z0 * z0) / r;
              double dr0inv[3], u[3];
              for (int q = 0; q < 3; q++) {
                u[q] = d[q] / r;
                dr0inv[q] = -r0inv * r0inv * r0inv * (d[q] + z0 * dz0 * u[q]);
              }
              lane[5].push_back(double(order[a]));
              for (int q = 0; q < 3; q++) {
                lane[6 + q].push_back(dz0 * r0inv * u[q] + z0 * dr0inv[q]);                 // ∂ar
                lane[9 + q].push_back(-(q == 2 ? r0inv : 0.0) - dz * dr0inv[q]);            // ∂ai
                lane[12 + q].push_back((q == 1 ? r0inv : 0.0) + dy * dr0inv[q]);            // ∂br
                lane[15 + q].push_back(-(q == 0 ? r0inv : 0.0) - dx * dr0inv[q]);           // ∂bi
                lane[18 + q].push_back(p.weights[t] * dfc * u[q]);                          // ∂s
                lane[21 + q].push_back(d[q]);
              }
            }
          }
    }
  };

  static constexpr int kLaneFields = 24;

  // Neighbours of points p0 .. p0+nl−1 into lanes; returns the largest count (the batch's nk) and
  // fills the kernel's five structure-of-arrays inputs (padding: a = 1, b = 0, s = 0).
  static size_t fillBatch(const Neighbours& nb, const double* pts, size_t p0, int nl, std::vector<double> (*lane)[kLaneFields], bool grad, AlignedDoubles* in, size_t& cap, double& found) {
    size_t nk = 0;
    for (int l = 0; l < SNA_W; l++) {
      for (auto& v : lane[l]) v.clear();
      if (l >= nl) continue;
      nb.gather(pts + 3 * (p0 + l), lane[l], grad);
      nk = std::max(nk, lane[l][0].size());
      found += double(lane[l][0].size());
    }
    if (nk > cap) {
      cap = nk + 16;
      for (int q = 0; q < 5; q++) in[q] = alignedDoubles(cap * SNA_W);
    }
    for (size_t k = 0; k < nk; k++)
      for (int l = 0; l < SNA_W; l++) {
        const bool has = k < lane[l][0].size();
        in[0].get()[k * SNA_W + l] = has ? lane[l][0][k] : 1.0;
        for (int q = 1; q < 5; q++) in[q].get()[k * SNA_W + l] = has ? lane[l][q][k] : 0.0;
      }
    return nk;
  }

  // One thread's buffers for the descriptors (kept across the chunks it takes).
  struct ForwardScratch {
    std::vector<double> lane[SNA_W][kLaneFields];
    size_t cap = 0;
    AlignedDoubles nb[5];
    AlignedDoubles ulist, utot, blist;
    std::vector<double> bvec;
    ForwardScratch(int nu, int nt)
        : ulist(alignedDoubles(size_t(2) * nu * SNA_W)), utot(alignedDoubles(size_t(2) * nu * SNA_W)), blist(alignedDoubles(size_t(nt) * SNA_W)), bvec(nt) {}
  };

  // The descriptors of the batches [b0, b1) (SNA_W points each) into their rows of out.
  double forwardRange(ForwardScratch& sc, const Neighbours& nbr, const double* pts, size_t m, size_t b0, size_t b1, void* out, bool f32) const {
    const SnaTables* T = &tables_->t;
    const int nt = T->ntriple;
    const std::vector<int>& tripleJ = tables_->tripleJ;
    const double w3 = p_.wself * p_.wself * p_.wself;
    std::vector<double>& bvec = sc.bvec;
    double found = 0;
    for (size_t p0 = b0 * SNA_W; p0 < std::min(m, b1 * SNA_W); p0 += SNA_W) {
      const int nl = int(std::min<size_t>(SNA_W, m - p0));
      const size_t nk = fillBatch(nbr, pts, p0, nl, sc.lane, false, sc.nb, sc.cap, found);
      kernel_.fn(T, int(nk), sc.nb[0].get(), sc.nb[1].get(), sc.nb[2].get(), sc.nb[3].get(), sc.nb[4].get(), sc.ulist.get(), sc.utot.get(), sc.blist.get());
      for (int l = 0; l < nl; l++) {
        for (int t = 0; t < nt; t++) bvec[t] = sc.blist.get()[t * SNA_W + l] - (p_.bzeroflag ? w3 * (tripleJ[t] + 1) : 0.0);
        const size_t row = (p0 + l) * size_t(ncoeff_);
        auto put = [&](size_t c, double v) {
          if (f32) static_cast<float*>(out)[row + c] = float(v);
          else static_cast<double*>(out)[row + c] = v;
        };
        size_t c = 0;
        for (int t = 0; t < nt; t++) put(c++, bvec[t]);
        if (p_.quadraticflag)
          for (int a = 0; a < nt; a++)
            for (int b = a; b < nt; b++) put(c++, a == b ? 0.5 * bvec[a] * bvec[a] : bvec[a] * bvec[b]);
      }
    }
    return found;
  }

  // The descriptors over `threads` threads: the batches in fixed chunks (chunkPlan), each point's
  // row written by the one thread that takes its chunk. A batch's points and neighbours do not
  // depend on the thread count, so neither do the bits of any row.
  double run(const double* img, const int32_t* type, size_t n, const double* pts, size_t m, void* out, bool f32, size_t threads) {
    const Neighbours nbr(p_, rcutMax_, img, type, n);  // read-only while the threads share it
    const ChunkPlan plan(m);
    std::vector<double> found(plan.chunks, 0.0);
    const int nu = tables_->t.nu, nt = tables_->t.ntriple;
    forChunks(plan.chunks, threads, [&] { return ForwardScratch(nu, nt); }, [&](ForwardScratch& sc, size_t c) { found[c] = forwardRange(sc, nbr, pts, m, plan.first(c), plan.end(c), out, f32); });
    double total = 0;
    for (double f : found) total += f;
    return total;
  }

  // forces(images: Float64Array (n·3, Å), types: Int32Array (n), owners: Int32Array (n, image → atom),
  // points: Float64Array (m·3, Å), beta: Float64Array (m·ncoeff), forces: Float64Array (atoms·3)
  // [, virial: Float64Array (9)]) adds Σ_g β_g·∂B_g/∂d = −Σ_g β_g·∂B_g/∂R (d = point − image) to
  // each image's atom, and Σ_pairs d_a·β·∂B/∂d_b to virial[3a + b] (= ∂(Σ β·B)/∂ε_ab under a
  // homogeneous strain of atoms and points together); returns the neighbours found.
  Napi::Value Forces(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* sig = "forces(images: Float64Array, types: Int32Array, owners: Int32Array, points: Float64Array, beta: Float64Array, forces: Float64Array)";
    if (info.Length() < 6) throw Napi::TypeError::New(env, sig);
    double* virial = nullptr;
    if (info.Length() > 6 && !info[6].IsUndefined()) {
      if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || info[6].As<Napi::Float64Array>().ElementLength() != 9)
        throw Napi::TypeError::New(env, "forces: virial must be a Float64Array of 9 values");
      virial = info[6].As<Napi::Float64Array>().Data();
    }
    for (size_t i = 0; i < 6; i++)
      if (!info[i].IsTypedArray()) throw Napi::TypeError::New(env, sig);
    const napi_typedarray_type want[6] = {napi_float64_array, napi_int32_array, napi_int32_array, napi_float64_array, napi_float64_array, napi_float64_array};
    for (size_t i = 0; i < 6; i++)
      if (info[i].As<Napi::TypedArray>().TypedArrayType() != want[i]) throw Napi::TypeError::New(env, sig);
    auto images = info[0].As<Napi::Float64Array>();
    auto types = info[1].As<Napi::Int32Array>();
    auto owners = info[2].As<Napi::Int32Array>();
    auto points = info[3].As<Napi::Float64Array>();
    auto beta = info[4].As<Napi::Float64Array>();
    auto forces = info[5].As<Napi::Float64Array>();
    const size_t n = types.ElementLength();
    if (images.ElementLength() != 3 * n || owners.ElementLength() != n) throw Napi::RangeError::New(env, "forces: images (3 per image), types and owners (1 per image) disagree in length");
    if (points.ElementLength() % 3) throw Napi::RangeError::New(env, "forces: points must hold 3 coordinates each");
    const size_t m = points.ElementLength() / 3;
    if (beta.ElementLength() != m * size_t(ncoeff_)) throw Napi::RangeError::New(env, "forces: beta must hold ncoeff values per point");
    if (forces.ElementLength() % 3) throw Napi::RangeError::New(env, "forces: forces must hold 3 values per atom");
    const size_t natoms = forces.ElementLength() / 3;
    for (size_t i = 0; i < n; i++) {
      if (types[i] < 0 || size_t(types[i]) >= p_.radii.size()) throw Napi::RangeError::New(env, "forces: element index out of range");
      if (owners[i] < 0 || size_t(owners[i]) >= natoms) throw Napi::RangeError::New(env, "forces: owner index out of range (forces holds fewer atoms)");
    }
    return Napi::Number::New(env, asJsError(env, [&] { return runForces(images.Data(), types.Data(), owners.Data(), n, points.Data(), m, beta.Data(), forces.Data(), natoms, virial); }));
  }

  // Threads for the kernel's calls, descriptors and adjoint alike: $MALA_TS_SNA_THREADS (read at
  // each call), else this machine's cores shared among the MPI ranks on it (Open MPI's / MPICH's
  // local size), at least 1.
  static size_t snaThreads() {
    if (const char* e = std::getenv("MALA_TS_SNA_THREADS"))
      if (*e) return size_t(std::max(1L, std::strtol(e, nullptr, 10)));
    long local = 1;
    for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"})
      if (const char* e = std::getenv(v))
        if (*e) local = std::max(1L, std::strtol(e, nullptr, 10));
    const long hw = long(std::max(1u, std::thread::hardware_concurrency()));
    return size_t(std::max(1L, hw / local));
  }

  // Batches of SNA_W points in fixed chunks, by the point count alone: at least 4 batches a chunk, at
  // most 64 chunks.
  struct ChunkPlan {
    size_t batches, per, chunks;
    explicit ChunkPlan(size_t m) : batches((m + SNA_W - 1) / SNA_W), per(std::max<size_t>(4, (batches + 63) / 64)), chunks((batches + per - 1) / per) {}
    size_t first(size_t c) const { return c * per; }
    size_t end(size_t c) const { return std::min(batches, (c + 1) * per); }
  };

  // work(scratch, c) for the chunks c in [0, chunks), taken by up to `threads` threads (the caller's
  // among them) as they come free, so a thread slowed by other work holds nobody up; each thread
  // makes its own scratch. A thread that cannot start leaves its chunks to the others. The first
  // error stops the rest and is rethrown here, on the caller's thread, once all have joined.
  // $MALA_TS_SNA_FAULT_CHUNK = c makes chunk c fail (tests of that path).
  template <class MakeScratch, class Work>
  static void forChunks(size_t chunks, size_t threads, MakeScratch makeScratch, Work work) {
    threads = std::max<size_t>(1, std::min(threads, chunks));
    long fault = -1;
    if (const char* e = std::getenv("MALA_TS_SNA_FAULT_CHUNK"))
      if (*e) fault = std::strtol(e, nullptr, 10);
    std::atomic<size_t> next{0};
    std::vector<std::exception_ptr> err(threads);
    auto body = [&](size_t t) {
      try {
        auto sc = makeScratch();
        for (size_t c; (c = next.fetch_add(1)) < chunks;) {
          if (long(c) == fault) throw std::runtime_error("fault injected in chunk " + std::to_string(c) + " on thread " + std::to_string(t) + " ($MALA_TS_SNA_FAULT_CHUNK)");
          work(sc, c);
        }
      } catch (...) {
        err[t] = std::current_exception();
        next = chunks;  // the others stop too
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads);
    try {
      for (size_t t = 1; t < threads; t++) pool.emplace_back(body, t);
    } catch (const std::system_error&) {
      // fewer threads than asked: the ones running (and this one) take every chunk
    }
    body(0);
    for (auto& th : pool) th.join();
    for (auto& e : err)
      if (e) std::rethrow_exception(e);
  }

  // fn() with any C++ error (a worker's, rethrown by forChunks) as a JavaScript Error: node-addon-api
  // converts only Napi::Error by itself, and anything else would end the process.
  template <class Fn>
  static auto asJsError(Napi::Env env, Fn fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("native bispectrum engine: ") + e.what());
    } catch (...) {
      throw Napi::Error::New(env, "native bispectrum engine: an unknown C++ exception");
    }
  }

  // The adjoint over the batches [b0, b1) (SNA_W points each) into force/virial (added to).
  // One thread's buffers for the adjoint (kept across the chunks it takes).
  struct ForcesScratch {
    std::vector<double> lane[SNA_W][kLaneFields];
    size_t cap = 0, ucap = 0;
    AlignedDoubles nb[5];
    AlignedDoubles ustore, gout, utot, gut, gu, blist, bk;
    ForcesScratch(long ustride, int nt)
        : utot(alignedDoubles(ustride)), gut(alignedDoubles(ustride)), gu(alignedDoubles(ustride)), blist(alignedDoubles(size_t(nt) * SNA_W)), bk(alignedDoubles(size_t(nt) * SNA_W)) {}
  };

  double forcesRange(ForcesScratch& sc, const Neighbours& nbr, const int32_t* owner, const double* pts, size_t m, size_t b0, size_t b1, const double* beta, double* force, double* virial) const {
    const SnaTables* T = &tables_->t;
    const int nt = T->ntriple;
    const std::vector<int>& tripleJ = tables_->tripleJ;
    const double w3 = p_.wself * p_.wself * p_.wself;
    const long ustride = long(2) * T->nu * SNA_W;

    auto& lane = sc.lane;
    size_t& cap = sc.cap;
    size_t& ucap = sc.ucap;
    AlignedDoubles* nb = sc.nb;
    AlignedDoubles &ustore = sc.ustore, &gout = sc.gout, &utot = sc.utot, &gut = sc.gut, &gu = sc.gu, &blist = sc.blist, &bk = sc.bk;
    double found = 0;
    for (size_t p0 = b0 * SNA_W; p0 < std::min(m, b1 * SNA_W); p0 += SNA_W) {
      const int nl = int(std::min<size_t>(SNA_W, m - p0));
      const size_t nk = fillBatch(nbr, pts, p0, nl, lane, true, nb, cap, found);
      if (nk > ucap) {
        ucap = cap;
        ustore = alignedDoubles(ucap * ustride);
        gout = alignedDoubles(ucap * 5 * SNA_W);
      }
      kernel_.utot(T, int(nk), nb[0].get(), nb[1].get(), nb[2].get(), nb[3].get(), nb[4].get(), ustore.get(), ustride, utot.get());
      // β per lane; quadratic terms chain through B (dq/dB: B_b for B_a·B_b, B_a for B_a²/2)
      if (p_.quadraticflag) kernel_.zb(T, utot.get(), blist.get());
      for (int l = 0; l < SNA_W; l++) {
        const double* bl = beta + (p0 + l) * size_t(ncoeff_);
        if (l >= nl) {
          for (int t = 0; t < nt; t++) bk.get()[t * SNA_W + l] = 0;
          continue;
        }
        for (int t = 0; t < nt; t++) bk.get()[t * SNA_W + l] = bl[t];
        if (!p_.quadraticflag) continue;
        int c = nt;
        for (int a = 0; a < nt; a++) {
          const double Ba = blist.get()[a * SNA_W + l] - (p_.bzeroflag ? w3 * (tripleJ[a] + 1) : 0.0);
          for (int b = a; b < nt; b++, c++) {
            const double Bb = blist.get()[b * SNA_W + l] - (p_.bzeroflag ? w3 * (tripleJ[b] + 1) : 0.0);
            if (a == b) bk.get()[a * SNA_W + l] += bl[c] * Ba;
            else {
              bk.get()[a * SNA_W + l] += bl[c] * Bb;
              bk.get()[b * SNA_W + l] += bl[c] * Ba;
            }
          }
        }
      }
      kernel_.adjoint(&tables_->adj, int(nk), nb[0].get(), nb[1].get(), nb[2].get(), nb[3].get(), nb[4].get(), bk.get(), ustore.get(), ustride, utot.get(), gut.get(), gu.get(), gout.get());
      for (int l = 0; l < nl; l++) {
        const std::vector<double>* L = lane[l];
        for (size_t k = 0; k < L[0].size(); k++) {
          const double* g = gout.get() + k * 5 * SNA_W + l;  // g[f·SNA_W]: ∂/∂(ar, ai, br, bi, s)
          double* f = force + 3 * size_t(owner[size_t(L[5][k])]);
          for (int q = 0; q < 3; q++) {
            double s = 0;
            for (int v = 0; v < 5; v++) s += g[v * SNA_W] * L[6 + 3 * v + q][k];
            f[q] += s;
            if (virial)
              for (int a = 0; a < 3; a++) virial[3 * a + q] += L[21 + a][k] * s;
          }
        }
      }
    }
    return found;
  }

  // The adjoint's batches in fixed chunks (ChunkPlan) over the threads (forChunks); each chunk sums
  // into its own forces and virial, added in chunk order: the same sums for any thread count and timing.
  double runForces(const double* img, const int32_t* type, const int32_t* owner, size_t n, const double* pts, size_t m, const double* beta, double* force, size_t natoms, double* virial) {
    const Neighbours nbr(p_, rcutMax_, img, type, n);
    const long ustride = long(2) * tables_->t.nu * SNA_W;
    const int nt = tables_->t.ntriple;
    const ChunkPlan plan(m);
    const size_t chunks = plan.chunks;
    const size_t stride = 3 * natoms + 10;  // forces, virial, neighbours found
    std::vector<double> part(chunks * stride, 0.0);
    forChunks(chunks, snaThreads(), [&] { return ForcesScratch(ustride, nt); }, [&](ForcesScratch& sc, size_t c) {
      double* out = part.data() + c * stride;
      out[stride - 1] = forcesRange(sc, nbr, owner, pts, m, plan.first(c), plan.end(c), beta, out, virial ? out + 3 * natoms : nullptr);
    });
    double total = 0;
    for (size_t c = 0; c < chunks; c++) {
      const double* p = part.data() + c * stride;
      for (size_t i = 0; i < 3 * natoms; i++) force[i] += p[i];
      if (virial)
        for (int i = 0; i < 9; i++) virial[i] += p[3 * natoms + i];
      total += p[stride - 1];
    }
    return total;
  }
};

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return SnaEngine::Init(env, exports); }

NODE_API_MODULE(mala_sna, InitAll)
