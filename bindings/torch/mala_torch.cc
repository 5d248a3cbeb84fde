// mala_torch: a small N-API addon over libtorch for the LDOS network (a feed-forward MLP).
//
// - Net(layerSizes, activations, device): Linear layers with one optional activation after each.
// - forward / predict / predictVjp / trainStep / lossSum run in Napi::AsyncWorker (libuv pool) so the event loop (and a
//   progress bar) keeps moving; they return Promises. Calls on one Net are serialized by a mutex. Small CPU
//   forward/predict calls (syncMacs) run on the calling thread instead and return a settled Promise.
// - Inputs and outputs are Float32Arrays wrapped with torch::from_blob (no copy on CPU).
// - Adam is written out with tensor ops (same update as torch.optim.Adam, foreach=False) so its
//   state (step, exp_avg, exp_avg_sq) can be read and restored exactly for checkpoints.
// - Threads: torch intra-op threads = 1 and OpenBLAS keeps its own threads (all cores). Spinning
//   OpenMP threads fight OpenBLAS's pthreads on small machines (see spec/nn-backend-notes.md §2D).
// - Device: CUDA when this libtorch has it and a GPU is present (or MALA_TS_DEVICE=cuda), else CPU.
//   CUDA inference: weights resident on the device, pinned batched transfers (forwardCuda).
#include <napi.h>
#include <torch/torch.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// Element-wise passes of CPU inference's row blocks, compiled for AVX2 and for the baseline and
// picked at load time (GCC's target_clones): per-feature scaling is a division per input value,
// which the baseline's 4-wide SSE (or scalar code, with a stride in the index) made a sizeable
// part of a small net's predict. Vector width changes no result: each value is the same IEEE
// operations (no fused multiply-add) in the same order as torch's sub/div and mul/add.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MALA_TS_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MALA_TS_SIMD_CLONES
#endif

// dst = (x − shift)/scale row by row (m rows of n); shift and scale hold n values (step 1) or 1 (step 0).
MALA_TS_SIMD_CLONES void malaTsScaleRows(float* __restrict dst, const float* __restrict x, int64_t m, int64_t n, const float* __restrict sh, int64_t shStep, const float* __restrict sc, int64_t scStep) {
  if (shStep && scStep) {
    for (int64_t r = 0; r < m; r++)
      for (int64_t k = 0; k < n; k++) dst[r * n + k] = (x[r * n + k] - sh[k]) / sc[k];
  } else {
    for (int64_t r = 0; r < m; r++)
      for (int64_t k = 0; k < n; k++) dst[r * n + k] = (x[r * n + k] - sh[k * shStep]) / sc[k * scStep];
  }
}

// d = u·scale + shift row by row (a float product, then a float sum: torch's mul_ then add_).
MALA_TS_SIMD_CLONES void malaTsUnscaleRows(float* __restrict d, int64_t m, int64_t n, const float* __restrict sc, int64_t scStep, const float* __restrict sh, int64_t shStep) {
  if (shStep && scStep) {
    for (int64_t r = 0; r < m; r++)
      for (int64_t k = 0; k < n; k++) {
        const float t = d[r * n + k] * sc[k];
        d[r * n + k] = t + sh[k];
      }
  } else {
    for (int64_t r = 0; r < m; r++)
      for (int64_t k = 0; k < n; k++) {
        const float t = d[r * n + k] * sc[k * scStep];
        d[r * n + k] = t + sh[k * shStep];
      }
  }
}

// act 1: ReLU, 2: LeakyReLU(0.01); restrict 1: negatives → 0 (u < 0, as predictVjp's output stage), 2: |u|.
// LeakyReLU selects bitwise between v and v·0.01f: written as v > 0 ? v : v·0.01f, GCC does not
// speculate the product (it could raise a floating-point exception the source does not), kept a
// branch per value and mispredicted random signs: LeakyReLU took 29 % of the 91→400³→250 net's
// time against 40 % for its GEMMs (perf). The same product and the same choice: the same bits.
MALA_TS_SIMD_CLONES void malaTsActivate(float* __restrict d, size_t count, int act) {
  if (act == 1) {
    for (size_t i = 0; i < count; i++) {
      const float v = d[i];
      d[i] = v > 0.0f ? v : 0.0f;
    }
  } else if (act == 2) {
    for (size_t i = 0; i < count; i++) {
      // a bitwise select of v and v·0.01f, both computed: branch-free, so it vectorizes
      const float v = d[i], leak = v * 0.01f;
      uint32_t bv, bl;
      std::memcpy(&bv, &v, 4);
      std::memcpy(&bl, &leak, 4);
      const uint32_t keep = 0u - (uint32_t)(v > 0.0f);
      const uint32_t r = (bv & keep) | (bl & ~keep);
      std::memcpy(&d[i], &r, 4);
    }
  }
}
MALA_TS_SIMD_CLONES void malaTsRestrict(float* __restrict d, size_t count, int restrict) {
  if (restrict == 1) {
    for (size_t i = 0; i < count; i++) {
      const float v = d[i];
      d[i] = v < 0.0f ? 0.0f : v;
    }
  } else if (restrict == 2) {
    for (size_t i = 0; i < count; i++) d[i] = std::fabs(d[i]);
  }
}
// On the exponent bits (all ones: ±inf or NaN), an integer OR-reduction that vectorizes (with
// std::isfinite it took 2.6× the time of the scaling's divisions, perf).
MALA_TS_SIMD_CLONES bool malaTsAllFinite(const float* __restrict v, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t b;
    std::memcpy(&b, &v[i], 4);
    bad |= (uint32_t)((b & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

namespace {

enum Act { kNone = 0, kReLU, kLeakyReLU, kSigmoid, kTanh };

Act parseAct(const std::string& s) {
  if (s.empty() || s == "None" || s == "none" || s == "Identity") return kNone;
  if (s == "ReLU") return kReLU;
  if (s == "LeakyReLU") return kLeakyReLU;
  if (s == "Sigmoid") return kSigmoid;
  if (s == "Tanh") return kTanh;
  throw std::runtime_error("unknown activation '" + s + "' (ReLU, LeakyReLU, Sigmoid, Tanh or none)");
}

torch::Tensor applyAct(const torch::Tensor& h, Act a) {
  switch (a) {
    case kReLU: return torch::relu(h);
    case kLeakyReLU: return torch::leaky_relu(h, 0.01);
    case kSigmoid: return torch::sigmoid(h);
    case kTanh: return torch::tanh(h);
    default: return h;
  }
}

void applyActInPlace(torch::Tensor& h, Act a) {
  switch (a) {
    case kReLU: torch::relu_(h); break;
    case kLeakyReLU: torch::leaky_relu_(h, 0.01); break;
    case kSigmoid: torch::sigmoid_(h); break;
    case kTanh: torch::tanh_(h); break;
    default: break;
  }
}

// Device request: "cpu", "cuda", "cuda:N" or "auto" (then $MALA_TS_DEVICE, else auto). The TS side
// (src/network/device.ts) resolves the request first and explains it; these messages are the
// backstop for direct users of the addon. CUDA calls compile in CPU-only libtorch builds too (they
// throw at run time), so nothing here needs #ifdefs beyond "was this addon built with CUDA".
#ifdef MALA_TS_WITH_CUDA
constexpr bool kBuiltWithCuda = true;
#else
constexpr bool kBuiltWithCuda = false;
#endif

torch::Device pickDevice(const std::string& want) {
  std::string w = want;
  if (w.empty() || w == "auto") {
    const char* env = std::getenv("MALA_TS_DEVICE");
    w = env && *env ? env : "auto";
  }
  if (w == "cpu") return torch::Device(torch::kCPU);
  if (w == "cuda" || w.rfind("cuda:", 0) == 0) {
    if (!kBuiltWithCuda) throw std::runtime_error("device '" + w + "' requested but this addon was built against a CPU-only libtorch (rebuild with MALA_TS_LIBTORCH pointing at a CUDA PyTorch)");
    if (!torch::cuda::is_available()) throw std::runtime_error("device '" + w + "' requested but no CUDA device is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
    int64_t idx = 0;
    if (w.size() > 5) {
      try { idx = std::stoll(w.substr(5)); } catch (...) { throw std::runtime_error("invalid device '" + w + "' (cuda:N)"); }
    }
    const int64_t count = (int64_t)torch::cuda::device_count();
    if (idx < 0 || idx >= count) throw std::runtime_error("device '" + w + "' requested but " + std::to_string(count) + " CUDA device(s) are visible");
    return torch::Device(torch::kCUDA, (c10::DeviceIndex)idx);
  }
  if (w != "auto") throw std::runtime_error("unknown device '" + w + "' (auto, cpu, cuda or cuda:N)");
  return kBuiltWithCuda && torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

// The BLAS's thread count, and a scope in which each BLAS call runs on its calling thread.
// OpenBLAS's functions are looked up in the already loaded library (libtorch's BLAS, Debian's
// libblas.so.3 alternative); with another BLAS (MKL) count() is 1 and the blocks run serially, each
// GEMM then threaded by that BLAS as before.
struct BlasThreads {
  using GetFn = int (*)();
  using SetFn = void (*)(int);
  // cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
  GetFn getThreads = nullptr;
  SetFn setThreads = nullptr;
  SgemmFn sgemm = nullptr;  // the same BLAS libtorch calls; null: the layers go through torch::addmm_out
  static BlasThreads& get() {
    static BlasThreads b;
    return b;
  }
  BlasThreads() {
    for (const char* lib : {"libopenblas.so.0", "libblas.so.3"}) {
      void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
      if (!h) continue;
      getThreads = (GetFn)dlsym(h, "openblas_get_num_threads");
      setThreads = (SetFn)dlsym(h, "openblas_set_num_threads");
      sgemm = (SgemmFn)dlsym(h, "cblas_sgemm");
      if (getThreads && setThreads) return;
      sgemm = nullptr;
    }
    getThreads = nullptr;
    setThreads = nullptr;
  }
  // The configured count (OPENBLAS_NUM_THREADS, else the cores), also while a SingleThreaded scope
  // holds the BLAS at 1.
  int count() {
    if (!getThreads || !setThreads || at::hasMKL()) return 1;
    std::lock_guard<std::mutex> lock(mu);
    return std::max(1, users > 0 ? saved : getThreads());
  }
  // Scopes may overlap (two nets inferring at once): the first sets 1, the last restores.
  struct SingleThreaded {
    BlasThreads& b;
    explicit SingleThreaded(BlasThreads& blas) : b(blas) {
      if (!b.getThreads || !b.setThreads) return;
      std::lock_guard<std::mutex> lock(b.mu);
      if (b.users++ == 0) {
        b.saved = b.getThreads();
        b.setThreads(1);
      }
    }
    ~SingleThreaded() {
      if (!b.getThreads || !b.setThreads) return;
      std::lock_guard<std::mutex> lock(b.mu);
      if (--b.users == 0) b.setThreads(b.saved);
    }
  };
  std::mutex mu;
  int users = 0, saved = 1;
};

// One step of a spin-wait: a few pause hints, then sched_yield, so that a waiting thread that
// shares its CPU with the thread it waits for (a loaded machine) hands it the CPU at once instead
// of spinning out its time slice (OpenBLAS's idle threads spin the same way).
inline void spinStep() {
#if defined(__x86_64__) || defined(__i386__)
  for (int i = 0; i < 16; i++) __builtin_ia32_pause();
#endif
  std::this_thread::yield();
}

// Microseconds a pool thread spins for the next run before it sleeps ($MALA_TS_POOL_SPIN_US,
// default 200): a thread woken from sleep takes tens of microseconds on a VM, against ~0.1 ms per
// block of the Be net; calls in a row (predict's 4096-point chunks) come well within it. OpenBLAS's
// own threads spin far longer (its THREAD_TIMEOUT, ~0.1 s).
int64_t poolSpinMicros() {
  static const int64_t v = [] { const char* e = std::getenv("MALA_TS_POOL_SPIN_US"); return e && *e ? std::max<int64_t>(0, std::atoll(e)) : int64_t(200); }();
  return v;
}

// Threads that run CPU inference's row blocks, started once and kept (a thread started per call
// cost more than a 4096-point batch of a small net takes). tryRun(k, fn) calls fn(0) on the caller
// and fn(1..k−1) on pool threads, waits for all, and rethrows the first error; it returns false at
// once, running nothing, while another run holds the pool (two nets inferring at once: the second
// then runs its blocks on its own thread instead of waiting). Pool threads spin briefly for the
// next run before sleeping (poolSpinMicros), and the caller spins for the last blocks to finish.
// Each pool thread has libtorch's intra-op setting and grad mode off, set once. The pool is never
// destroyed: its threads end with the process.
class BlockPool {
 public:
  static BlockPool& get() {
    static BlockPool* p = new BlockPool();
    return *p;
  }
  template <typename Fn>
  bool tryRun(int threads, Fn& fn) {
    std::unique_lock<std::mutex> one(runMu_, std::try_to_lock);
    if (!one.owns_lock()) return false;
    std::function<void(int)> job = [&fn](int t) { fn(t); };
    {
      std::unique_lock<std::mutex> lk(mu_);
      while ((int)workers_.size() < threads - 1) {
        const int index = (int)workers_.size() + 1;
        workers_.emplace_back([this, index] { loop(index); });
        workers_.back().detach();
      }
      job_ = &job;
      jobThreads_ = threads;
      pending_.store(threads - 1);
      errors_.assign(threads, nullptr);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    try {
      job(0);
    } catch (...) {
      errors_[0] = std::current_exception();
    }
    // the others finish at most a block each after this thread found none left: spin for them
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
    while (pending_.load(std::memory_order_acquire) > 0 && std::chrono::steady_clock::now() < until) spinStep();
    std::unique_lock<std::mutex> lk(mu_);
    doneCv_.wait(lk, [this] { return pending_.load() == 0; });
    job_ = nullptr;
    for (auto& e : errors_)
      if (e) std::rethrow_exception(e);
    return true;
  }

 private:
  void loop(int index) {
    at::init_num_threads();
    c10::GradMode::set_enabled(false);  // grad mode is per thread
    uint64_t seen = 0;
    for (;;) {
      std::function<void(int)>* job;
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(poolSpinMicros());
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) spinStep();
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (index >= jobThreads_) continue;
        job = job_;
      }
      std::exception_ptr err;
      try {
        (*job)(index);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lk(mu_);
      errors_[index] = err;
      if (pending_.fetch_sub(1) == 1) doneCv_.notify_all();
    }
  }
  std::mutex runMu_, mu_;
  std::condition_variable cv_, doneCv_;
  std::vector<std::thread> workers_;
  std::function<void(int)>* job_ = nullptr;
  int jobThreads_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::vector<std::exception_ptr> errors_;
};

// Rows per block of CPU inference ($MALA_TS_CPU_BLOCK_ROWS overrides, for measuring): the power of
// two that keeps the widest activation of a block at most 256 KB, at least 256 rows (GEMM efficiency
// of wide layers). A power of two divides predict's 4096-point chunks into equal blocks, so the
// threads get equal shares (the Be net: 512 rows, 8 blocks; 91→400³→250: 256 rows, 16 blocks).
int64_t cpuBlockRows(int64_t widest) {
  const char* e = std::getenv("MALA_TS_CPU_BLOCK_ROWS");
  const long long v = e ? std::atoll(e) : 0;
  if (v > 0) return (int64_t)v;
  int64_t rows = 256;
  while (rows * 2 * std::max<int64_t>(1, widest) <= (int64_t(64) << 10)) rows *= 2;
  return rows;
}

// Points per host→device batch of CUDA inference ($MALA_TS_CUDA_BATCH_POINTS, default 65536:
// 65536 × 400 floats of activations = 105 MB, small next to any GPU's memory, large enough that
// one batch of the 91→400³→250 net keeps the GPU busy for much longer than a launch).
int64_t cudaBatchPoints() {
  const char* e = std::getenv("MALA_TS_CUDA_BATCH_POINTS");
  const long long v = e ? std::atoll(e) : 0;
  return v > 0 ? (int64_t)v : 65536;
}

// Inference grad mode: NoGradGuard (default) or InferenceMode ($MALA_TS_INFERENCE_MODE=1, for
// measuring both): on libtorch 1.13 InferenceMode was 2–3.5× slower for wide nets (ARCHITECTURE.md).
bool useInferenceMode() {
  static const bool v = [] { const char* e = std::getenv("MALA_TS_INFERENCE_MODE"); return e && std::string(e) == "1"; }();
  return v;
}

template <typename T>
bool allFinite(const T* v, int64_t n) {
  bool ok = true;
  for (int64_t i = 0; i < n; i++) ok &= std::isfinite(v[i]);  // no early exit: vectorizes
  return ok;
}

struct NetState {
  std::vector<int64_t> sizes;
  std::vector<Act> acts;  // one per Linear
  std::vector<torch::Tensor> params;  // W0, b0, W1, b1, ... (W is [out, in], PyTorch layout)
  std::vector<torch::Tensor> expAvg, expAvgSq;
  int64_t step = 0;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.0;
  torch::Device device{torch::kCPU};
  std::mutex mu;
  // Optional data scaling around the net for predict(): x' = (x − inShift)/inScale,
  // y = y'·outScale + outShift, then restrict (1: negatives → 0, 2: |y|). Undefined = skip.
  torch::Tensor inShift, inScale, outShift, outScale;
  int restrict = 0;

  int64_t nIn() const { return sizes.front(); }
  int64_t macsPerPoint() const {
    int64_t m = 0;
    for (size_t l = 0; l + 1 < sizes.size(); l++) m += sizes[l] * sizes[l + 1];
    return m;
  }
  int64_t nOut() const { return sizes.back(); }

  torch::Tensor forward(torch::Tensor h) {
    for (size_t l = 0; l + 1 < sizes.size(); l++) {
      h = torch::addmm(params[2 * l + 1], h, params[2 * l].t());
      h = applyAct(h, acts[l]);
    }
    return h;
  }

  // CPU inference, cache-blocked: the points go through every layer in row blocks small enough
  // that a block's widest activation stays in the core's L2 (PyTorch runs each layer over the whole
  // batch, so a 4096-point batch of a 100-wide layer, 1.6 MB, streams through L3 between layers).
  // Each block's layers write into two reused workspaces (no allocation, no page faults per call)
  // and the last layer straight into `out`. A GEMM row depends on its own input row only, so the
  // blocks give the whole-batch values up to float32 rounding (OpenBLAS's kernels round differently
  // for other heights and thread counts: ~1e-7 of the output's size; test/bindings/torch.test.ts).
  // Blocks hold at least 256 rows so that wide layers keep GEMM-sized work. With `scaled`
  // (predict) the input scaling, the unscaling and the restriction run inside the blocks (no
  // tensor ops per block), and with `checkFinite` each block checks its own input rows first.
  void forwardIntoCpuBlocked(const float* x, float* out, int64_t n, bool scaled, bool checkFinite) {
    forEachCpuBlock(n, [&](int64_t p0, int64_t m, float* work0, float* work1) {
      forwardBlock(x + p0 * nIn(), m, out + p0 * nOut(), scaled, checkFinite, work0, work1, nullptr, 0);
    });
  }

  // The row blocks of CPU inference (rows per block from the widest layer, cpuBlockRows), run on
  // the BLAS's threads, every GEMM on one thread; fn(p0, m, work0, work1) gets the block's first
  // row, its row count and the running thread's two workspaces. The blocks are independent, so
  // they run as whole blocks on the threads: no synchronisation inside a GEMM (OpenBLAS's own
  // threading of these small GEMMs left the second core waiting at every layer). Each thread takes
  // the next unclaimed block, so a thread that wakes late or shares its core with another process
  // takes fewer blocks instead of holding up the call. Every GEMM on one thread, also with one
  // block: a point's LDOS is then the same bits for any thread count (OpenBLAS's threaded GEMM
  // rounds differently), any MPI rank count and whichever thread ran its block.
  template <typename Fn>
  void forEachCpuBlock(int64_t n, Fn fn) {
    int64_t widest = 1;
    for (int64_t s : sizes) widest = std::max(widest, s);
    const int64_t rowsPerBlock = cpuBlockRows(widest);
    const int64_t blocks = (n + rowsPerBlock - 1) / rowsPerBlock;
    BlasThreads& blas = BlasThreads::get();
    const int threads = (int)std::max<int64_t>(1, std::min<int64_t>(blocks, blas.count()));
    if ((int)work.size() < 2 * threads) work.resize(2 * threads);
    for (auto& t : work)
      if (!t.defined() || t.numel() < rowsPerBlock * widest) t = torch::empty({rowsPerBlock * widest}, torch::kFloat32);
    std::atomic<int64_t> next{0};
    auto runBlocks = [&](int t) {
      float* w0 = work[2 * t].data_ptr<float>();
      float* w1 = work[2 * t + 1].data_ptr<float>();
      try {
        for (int64_t b; (b = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
          const int64_t p0 = b * rowsPerBlock;
          fn(p0, std::min(rowsPerBlock, n - p0), w0, w1);
        }
      } catch (...) {
        next.store(blocks);  // the other threads stop after their current block
        throw;
      }
    };
    BlasThreads::SingleThreaded oneThreadEach(blas);
    if (threads <= 1 || !BlockPool::get().tryRun(threads, runBlocks)) runBlocks(0);
  }

  // One row block (m rows from x) through every layer: hidden layers into the two workspaces in
  // turn, the last layer straight into out, where with `scaled` its pass also unscales and
  // restricts. With `keep` (predictVjp), layer l writes into (*keep)[l]'s rows of this block
  // (from row p0) instead, the last layer included, and the output is not unscaled.
  void forwardBlock(const float* x, int64_t m, float* out, bool scaled, bool checkFinite, float* work0, float* work1, const std::vector<float*>* keep, int64_t p0) {
    const size_t L = sizes.size() - 1;
    float* work[2] = {work0, work1};
    int w = 0;
    const float* h = x;
    const int64_t nI = nIn();
    if (checkFinite && !malaTsAllFinite(x, m * nI)) throw std::runtime_error("non-finite input value");
    if (inScale.defined() && (scaled || keep)) {
      // (x − shift)/scale in float32, as MALA's scaler (and torch's sub then div: the same roundings)
      const float* sh = inShift.data_ptr<float>();
      const float* sc = inScale.data_ptr<float>();
      const int64_t shStep = inShift.numel() > 1 ? 1 : 0, scStep = inScale.numel() > 1 ? 1 : 0;
      float* dst = work[w];
      malaTsScaleRows(dst, x, m, nI, sh, shStep, sc, scStep);
      h = dst;
      w ^= 1;
    }
    for (size_t l = 0; l < L; l++) {
      const bool last = l + 1 == L;
      float* dst = keep ? (*keep)[l] + p0 * sizes[l + 1] : last ? out : work[w];
      linearBlock(h, m, dst, l, last && scaled && !keep);
      h = dst;
      w ^= 1;
    }
  }
  // One Linear layer and its activation on a row block, dst = act(h·Wᵀ + b), and with
  // `outputStage` predict's unscaling and restriction in the same pass. With OpenBLAS at hand it is
  // what addmm does (dst filled with b, then sgemm with beta = 1) called directly, and the
  // activation in the same pass over dst: a block of a small net is a few hundred microseconds,
  // and each libtorch op costs microseconds of dispatch (measured: Be net at 4096 points 0.85× of
  // PyTorch's whole-batch ops through the dispatcher per block).
  void linearBlock(const float* h, int64_t mRows, float* d, size_t l, bool outputStage) {
    const torch::Tensor& W = params[2 * l];
    const torch::Tensor& b = params[2 * l + 1];
    BlasThreads& blas = BlasThreads::get();
    const Act act = acts[l];
    const int m = (int)mRows, in = (int)sizes[l], o = (int)sizes[l + 1];
    const bool direct = blas.sgemm && W.is_contiguous() && b.is_contiguous() && W.scalar_type() == torch::kFloat32 && (act == kNone || act == kReLU || act == kLeakyReLU);
    if (!direct) {
      auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
      torch::Tensor dst = torch::from_blob(d, {m, o}, f32);
      torch::addmm_out(dst, b, torch::from_blob(const_cast<float*>(h), {m, in}, f32), W.t());
      applyActInPlace(dst, act);
    } else {
      const float* bias = b.data_ptr<float>();
      for (int r = 0; r < m; r++) std::memcpy(d + (size_t)r * o, bias, sizeof(float) * o);
      constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
      blas.sgemm(kRowMajor, kNoTrans, kTrans, m, o, in, 1.0f, h, in, W.data_ptr<float>(), in, 1.0f, d, o);
    }
    // the activation (the fallback applied it already), then with outputStage u = y·outScale +
    // outShift and the restriction: passes over a block that is still in cache
    const size_t count = (size_t)m * o;
    if (direct) malaTsActivate(d, count, act == kReLU ? 1 : act == kLeakyReLU ? 2 : 0);
    if (!outputStage) return;
    if (outScale.defined()) {
      malaTsUnscaleRows(d, m, o, outScale.data_ptr<float>(), outScale.numel() > 1 ? 1 : 0, outShift.data_ptr<float>(), outShift.numel() > 1 ? 1 : 0);
    }
    malaTsRestrict(d, count, restrict);
  }
  std::vector<torch::Tensor> work;  // forEachCpuBlock's workspaces, two per thread (float32, reused; the caller holds mu)

  // Inference only: activations in place, and on CPU the last layer writes straight into `out`
  // (the caller's Float32Array), so no extra output copy.
  void forwardInto(torch::Tensor h, torch::Tensor out, bool scaled) {
    const size_t L = sizes.size() - 1;
    if (scaled && inScale.defined()) h = (h - inShift) / inScale;  // float32, as MALA's scaler
    for (size_t l = 0; l < L; l++) {
      const bool last = l + 1 == L;
      torch::Tensor dst = last && out.device() == h.device() ? out : torch::Tensor();
      if (dst.defined()) torch::addmm_out(dst, params[2 * l + 1], h, params[2 * l].t());
      else dst = torch::addmm(params[2 * l + 1], h, params[2 * l].t());
      applyActInPlace(dst, acts[l]);
      h = dst;
    }
    if (scaled) {
      if (outScale.defined()) h.mul_(outScale).add_(outShift);
      if (restrict == 1) h.clamp_min_(0.0);
      else if (restrict == 2) h.abs_();
    }
    if (!out.is_same(h)) out.copy_(h);
  }

  // predict (the same ops in the same order, so the same values) keeping each layer's output,
  // then the chain rule back to the input by hand: gradInput = cotangentᵀ·∂predict/∂x. The
  // derivatives are autograd's (clamp_min: where u ≥ 0; abs: sgn; threshold/leaky_relu/sigmoid/
  // tanh_backward from the outputs). Measured on 91→128→128→131 × 8192 points, one BLAS thread
  // (bench/network-vjp.ts): autograd (grad-enabled forward + torch::autograd::grad, no weight
  // gradients) took 2.7–2.8× predict, this 2.0–2.1× (no graph, in place, the output end in one
  // pass on the CPU). Batches bound the memory of the
  // kept layer outputs. float32 inside; the cotangent and gradInput are float64 host arrays.
  void predictVjp(const float* xHost, const double* cotHost, float* outHost, double* gradHost, int64_t n) {
    torch::NoGradGuard ng;
    // on the CPU a whole number of predict's row blocks, so that the blocks fall where predict's do
    int64_t widest = 1;
    for (int64_t sz : sizes) widest = std::max(widest, sz);
    const int64_t rows = cpuBlockRows(widest);
    const int64_t batch = device.is_cpu() ? rows * std::max<int64_t>(1, 16384 / rows) : cudaBatchPoints();
    const size_t L = sizes.size() - 1;
    auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    for (int64_t p0 = 0; p0 < n; p0 += batch) {
      const int64_t m = std::min(batch, n - p0);
      torch::Tensor x = torch::from_blob(const_cast<float*>(xHost + p0 * nIn()), {m, nIn()}, f32);
      torch::Tensor cot = torch::from_blob(const_cast<double*>(cotHost + p0 * nOut()), {m, nOut()}, f64);
      // one pass over host memory (torch::isfinite takes several, with temporaries)
      if (!allFinite(xHost + p0 * nIn(), m * nIn())) throw std::runtime_error("non-finite input value");
      if (!allFinite(cotHost + p0 * nOut(), m * nOut())) throw std::runtime_error("non-finite cotangent value");
      std::vector<torch::Tensor> hs;  // each Linear's output after its activation
      torch::Tensor h;
      if (device.is_cpu()) {
        // the forward of predict, block for block (forEachCpuBlock), so out is predict's to the bit
        std::vector<float*> keep;
        for (size_t l = 0; l < L; l++) {
          hs.push_back(torch::empty({m, sizes[l + 1]}, f32));
          keep.push_back(hs.back().data_ptr<float>());
        }
        const float* xp = xHost + p0 * nIn();
        forEachCpuBlock(m, [&](int64_t b0, int64_t mb, float* work0, float* work1) {
          forwardBlock(xp + b0 * nIn(), mb, nullptr, true, false, work0, work1, &keep, b0);
        });
        h = hs.back();
      } else {
        h = x.to(device);
        if (inScale.defined()) h = (h - inShift) / inScale;  // as forwardInto
        for (size_t l = 0; l < L; l++) {
          h = torch::addmm(params[2 * l + 1], h, params[2 * l].t());
          applyActInPlace(h, acts[l]);
          hs.push_back(h);
        }
      }
      torch::Tensor g;  // ∂s/∂(net output), s = Σ cotangent·predict
      if (device.is_cpu()) {
        g = torch::empty({m, nOut()}, f32);
        outputStageCpu(h.contiguous(), cotHost + p0 * nOut(), outHost + p0 * nOut(), g.data_ptr<float>(), m);
      } else {
        torch::Tensor u = outScale.defined() ? h.mul(outScale).add_(outShift) : h.clone();  // unscaled, before restrict
        g = cot.to(device, torch::kFloat32);
        if (restrict == 1) {
          g.masked_fill_(u < 0, 0.0);
          u.clamp_min_(0.0);
        } else if (restrict == 2) {
          g.mul_(u.sgn());
          u.abs_();
        }
        torch::from_blob(outHost + p0 * nOut(), {m, nOut()}, f32).copy_(u);
        if (outScale.defined()) g.mul_(outScale);
      }
      for (size_t l = L; l-- > 0;) {
        const torch::Tensor& y = hs[l];
        switch (acts[l]) {
          case kReLU: g = torch::threshold_backward(g, y, 0.0); break;
          case kLeakyReLU: g = torch::leaky_relu_backward(g, y, 0.01, /*self_is_result=*/true); break;
          case kSigmoid: g = torch::sigmoid_backward(g, y); break;
          case kTanh: g = torch::tanh_backward(g, y); break;
          default: break;
        }
        g = g.mm(params[2 * l]);  // [m×out]·[out×in]
      }
      if (inScale.defined()) g.div_(inScale);
      torch::from_blob(gradHost + p0 * nIn(), {m, nIn()}, f64).copy_(g);
    }
  }

  // The output end of predictVjp on the CPU in one pass instead of seven tensor passes (measured
  // ~10 % of the vjp): out = restrict(u), u = y·outScale + outShift with predict's roundings (a
  // float product, then a float sum), and g = float(cotangent)·restrict'(u)·outScale.
  void outputStageCpu(const torch::Tensor& y, const double* cot, float* out, float* g, int64_t m) const {
    const float* yp = y.data_ptr<float>();
    const float* sc = outScale.defined() ? outScale.data_ptr<float>() : nullptr;
    const float* sh = outShift.defined() ? outShift.data_ptr<float>() : nullptr;
    // shift and scale each hold 1 or nOut values (setScaling), not necessarily as many
    const int64_t no = nOut(), scStep = sc && outScale.numel() > 1 ? 1 : 0, shStep = sh && outShift.numel() > 1 ? 1 : 0;
    for (int64_t p = 0; p < m; p++) {
      for (int64_t k = 0; k < no; k++) {
        const int64_t i = p * no + k;
        float u = yp[i], d = 1.0f;
        if (sc) {
          const float t = u * sc[k * scStep];
          u = t + sh[k * shStep];
          d = sc[k * scStep];
        }
        if (restrict == 1) {
          if (u < 0) u = 0.0f, d = 0.0f;  // clamp_min's gradient passes where u ≥ 0
        } else if (restrict == 2) {
          d = u > 0 ? d : (u < 0 ? -d : 0.0f);  // sgn
          u = std::fabs(u);
        }
        out[i] = u;
        g[i] = (float)cot[i] * d;
      }
    }
  }

  void zeroState() {
    expAvg.clear();
    expAvgSq.clear();
    for (auto& p : params) {
      expAvg.push_back(torch::zeros_like(p));
      expAvgSq.push_back(torch::zeros_like(p));
    }
    step = 0;
  }

  // One Adam step with the gradients in params[i].grad(); mirrors torch.optim.Adam (single tensor).
  void adamStep() {
    torch::NoGradGuard ng;
    step += 1;
    const double bc1 = 1.0 - std::pow(beta1, (double)step);
    const double bc2 = 1.0 - std::pow(beta2, (double)step);
    const double stepSize = lr / bc1;
    const double bc2Sqrt = std::sqrt(bc2);
    for (size_t i = 0; i < params.size(); i++) {
      auto& p = params[i];
      torch::Tensor g = p.grad();
      if (weightDecay != 0.0) g = g.add(p, weightDecay);
      expAvg[i].mul_(beta1).add_(g, 1.0 - beta1);
      expAvgSq[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
      torch::Tensor denom = (expAvgSq[i].sqrt() / bc2Sqrt).add_(eps);
      p.addcdiv_(expAvg[i], denom, -stepSize);
    }
  }
};

// memcpy of a large host buffer on several threads: the pinned staging copies of CUDA inference
// (1.4 GB per million points of the 91→400³→250 net) ran at one core's bandwidth, 5× below what
// the GPU and the bus take (scripts/gpu-check.sh measured 4.3 M points/s against PyTorch's
// 20 M/s pinned-to-pinned). Threads also share the page faults of a freshly allocated result.
void parallelMemcpy(void* dst, const void* src, size_t bytes) {
  constexpr size_t kPerThread = size_t(4) << 20;  // below 4 MB a thread costs more than it copies
  const size_t hw = std::max<size_t>(1, std::thread::hardware_concurrency());
  const size_t threads = std::min<size_t>({hw, 8, bytes / kPerThread});
  if (threads <= 1) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const size_t part = (bytes / threads + 63) & ~size_t(63);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; t++) {
    const size_t off = t * part;
    if (off >= bytes) break;
    pool.emplace_back([=] { std::memcpy((char*)dst + off, (const char*)src + off, std::min(part, bytes - off)); });
  }
  std::memcpy(dst, src, std::min(part, bytes));
  for (auto& th : pool) th.join();
}

// CUDA inference of n points: the weights stay on the device; the descriptors go host→device in
// batches through two pinned staging slots, results come back the same way. While the GPU runs
// batch k, this thread copies batch k+1 into the other pinned slot and batch k−1's results out of
// it, so the GPU never waits on a whole-grid copy and the host copies overlap the network.
// Non-finite inputs are counted on the device and reported once at the end (no per-batch sync).
void forwardCuda(NetState& net, const float* xHost, float* yHost, int64_t n, bool scaled, bool checkFinite) {
  const int64_t nIn = net.nIn(), nOut = net.nOut();
  const int64_t batch = std::min<int64_t>(n, cudaBatchPoints());
  const int64_t batches = (n + batch - 1) / batch;
  auto pinned = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true);
  auto onDevice = torch::TensorOptions().dtype(torch::kFloat32).device(net.device);
  torch::Tensor in[2] = {torch::empty({batch, nIn}, pinned), torch::empty({batch, nIn}, pinned)};
  torch::Tensor out[2] = {torch::empty({batch, nOut}, pinned), torch::empty({batch, nOut}, pinned)};
  torch::Tensor nonFinite = torch::zeros({}, onDevice.dtype(torch::kInt64));
  auto rows = [&](int64_t k) { return std::min(batch, n - k * batch); };
  auto hostIn = [&](int64_t k) { parallelMemcpy(in[k % 2].data_ptr<float>(), xHost + k * batch * nIn, (size_t)(rows(k) * nIn) * sizeof(float)); };
  auto launch = [&](int64_t k) {  // asynchronous on the current stream
    const int64_t m = rows(k);
    torch::Tensor xd = in[k % 2].narrow(0, 0, m).to(onDevice, /*non_blocking=*/true);
    if (checkFinite) nonFinite.add_(torch::logical_not(torch::isfinite(xd)).sum());
    torch::Tensor yd = torch::empty({m, nOut}, onDevice);
    net.forwardInto(xd, yd, scaled);
    out[k % 2].narrow(0, 0, m).copy_(yd, /*non_blocking=*/true);
  };
  hostIn(0);
  launch(0);
  for (int64_t k = 0; k < batches; k++) {
    if (k + 1 < batches) hostIn(k + 1);  // slot (k+1)%2 was last read by batch k−1, finished below last round
    torch::cuda::synchronize(net.device.index());  // batch k's results are in out[k%2]
    if (k + 1 < batches) launch(k + 1);
    parallelMemcpy(yHost + k * batch * nOut, out[k % 2].data_ptr<float>(), (size_t)(rows(k) * nOut) * sizeof(float));
  }
  if (checkFinite && nonFinite.item<int64_t>() > 0) throw std::runtime_error("non-finite input value");
}

void checkArray(const Napi::Env& env, const Napi::Value& v, size_t need, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array");
  size_t len = v.As<Napi::Float32Array>().ElementLength();
  if (len < need) throw Napi::RangeError::New(env, std::string(what) + " has " + std::to_string(len) + " values, needs " + std::to_string(need));
}

void checkArray64(const Napi::Env& env, const Napi::Value& v, size_t need, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, std::string(what) + " must be a Float64Array");
  size_t len = v.As<Napi::Float64Array>().ElementLength();
  if (len < need) throw Napi::RangeError::New(env, std::string(what) + " has " + std::to_string(len) + " values, needs " + std::to_string(need));
}

// CPU forward (predict: with the scaling, the restriction and the finiteness check), the caller
// holding net.mu. NoGradGuard, not InferenceMode, unless asked (see useInferenceMode).
void inferCpu(NetState& net, const float* x, float* y, int64_t n, bool predict) {
  torch::NoGradGuard ng;
  std::unique_ptr<c10::InferenceMode> im;
  if (useInferenceMode()) im = std::make_unique<c10::InferenceMode>();
  net.forwardIntoCpuBlocked(x, y, n, predict, predict);
}

// CPU forward/predict calls up to this many multiply-adds run on the calling thread instead of a
// libuv worker ($MALA_TS_SYNC_MACS, default 2^27: the Be net's 8192 points, 84 M, about 1–2 ms on
// 2 cores; a 4096-point chunk of 91→400³→250 is 1.9 G and stays off the event loop). 0: never.
int64_t syncMacs() {
  static const int64_t v = [] { const char* e = std::getenv("MALA_TS_SYNC_MACS"); return e && *e ? std::max<int64_t>(0, std::atoll(e)) : int64_t(1) << 27; }();
  return v;
}

// predictVjp(x, cotangent, out, gradInput, n) off the main thread (NetState::predictVjp).
class VjpWorker : public Napi::AsyncWorker {
 public:
  VjpWorker(Napi::Env env, std::shared_ptr<NetState> net, Napi::Float32Array x, Napi::Float64Array cot, Napi::Float32Array out, Napi::Float64Array grad, int64_t n)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), net_(std::move(net)), n_(n),
        xRef_(Napi::Persistent(x)), cotRef_(Napi::Persistent(cot)), outRef_(Napi::Persistent(out)), gradRef_(Napi::Persistent(grad)),
        x_(x.Data()), cot_(cot.Data()), out_(out.Data()), grad_(grad.Data()) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      at::init_num_threads();
      std::lock_guard<std::mutex> lock(net_->mu);
      net_->predictVjp(x_, cot_, out_, grad_, n_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), 0)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<NetState> net_;
  int64_t n_;
  Napi::Reference<Napi::Float32Array> xRef_;  // keep the JS memory alive while we work
  Napi::Reference<Napi::Float64Array> cotRef_;
  Napi::Reference<Napi::Float32Array> outRef_;
  Napi::Reference<Napi::Float64Array> gradRef_;
  const float* x_;
  const double* cot_;
  float* out_;
  double* grad_;
};

// Worker kinds: forward (x → out), train (x, y → loss), loss (x, y → sum of squared errors).
// Rows per chunk of a CPU training step: the widest activation of a chunk at most 4 MiB, and at
// least 1024 rows. A whole 10^5-row step page-faults fresh 200 MB activations (above glibc's
// largest mmap threshold, 32 MiB) on every step; below that, smaller chunks still ran faster,
// their activations staying in cache between the forward and the backward pass: at 512 wide,
// 2048 rows (4 MiB) 1.80 s per 103,680-row step, 8192 rows (16 MiB) 3.55 s, the whole 8.26 s,
// with 1024 and 4096 rows about best at 1024 and 128 wide (bench/network-train-chunks.ts --chunks).
// MALA_TS_TRAIN_CHUNK_ROWS overrides it.
int64_t trainChunkRows(const NetState& net) {
  const char* e = std::getenv("MALA_TS_TRAIN_CHUNK_ROWS");
  const long long v = e ? std::atoll(e) : 0;
  if (v > 0) return (int64_t)v;
  int64_t widest = 1;
  for (int64_t sz : net.sizes) widest = std::max(widest, sz);
  return std::max<int64_t>(1024, (int64_t(4) << 20) / (4 * widest));
}

class NetWorker : public Napi::AsyncWorker {
 public:
  enum Kind { kForward, kPredict, kTrain, kLossSum };
  NetWorker(Napi::Env env, std::shared_ptr<NetState> net, Kind kind, Napi::Float32Array x, Napi::Float32Array y, int64_t n)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), net_(std::move(net)), kind_(kind), n_(n) {
    xRef_ = Napi::Persistent(x);
    yRef_ = Napi::Persistent(y);
    xData_ = x.Data();
    yData_ = y.Data();
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      at::init_num_threads();  // the pool thread gets the intra-op setting of the main thread
      std::lock_guard<std::mutex> lock(net_->mu);
      auto opts = torch::TensorOptions().dtype(torch::kFloat32);
      torch::Tensor x = torch::from_blob(xData_, {n_, net_->nIn()}, opts);
      torch::Tensor y = torch::from_blob(yData_, {n_, net_->nOut()}, opts);
      const bool onCpu = net_->device.is_cpu();
      if (kind_ == kForward || kind_ == kPredict) {
        if (!onCpu) {
          torch::NoGradGuard ng;  // NoGradGuard, not InferenceMode, unless asked (see useInferenceMode)
          std::unique_ptr<c10::InferenceMode> im;
          if (useInferenceMode()) im = std::make_unique<c10::InferenceMode>();
          forwardCuda(*net_, xData_, yData_, n_, kind_ == kPredict, kind_ == kPredict);
        } else {
          inferCpu(*net_, xData_, yData_, n_, kind_ == kPredict);
        }
      } else if (kind_ == kLossSum) {
        torch::NoGradGuard ng;
        if (!onCpu) x = x.to(net_->device);
        torch::Tensor yt = onCpu ? y : y.to(net_->device);
        torch::Tensor d = net_->forward(x) - yt;
        result_ = (d * d).sum(torch::kFloat64).item<double>();
      } else {
        // The same train step on any device; on CUDA the batch is copied over (pageable memory:
        // a training batch is small next to the step's compute).
        if (!onCpu) x = x.to(net_->device);
        torch::Tensor yt = onCpu ? y : y.to(net_->device);
        for (auto& p : net_->params) p.mutable_grad() = torch::Tensor();
        const int64_t chunk = onCpu ? trainChunkRows(*net_) : n_;
        if (n_ <= chunk) {
          torch::Tensor loss = torch::mse_loss(net_->forward(x), yt);
          loss.backward();
          result_ = loss.item<double>();
        } else {
          // A large step (fine-tuning's: every point of a frame and its displaced copies, 10⁵ rows)
          // in chunks whose gradients add up in the parameters' .grad: the whole batch's mean
          // squared error, summed in another order. One step of 10⁵ rows of a 512-wide net took 3×
          // as long per row as steps of 8192 (the activations of a chunk are reused heap memory;
          // those of the whole batch are fresh pages on every step: bench/network-train-chunks.ts).
          const double count = double(n_) * double(net_->nOut());
          double sum = 0.0;
          for (int64_t r0 = 0; r0 < n_; r0 += chunk) {
            const int64_t m = std::min(chunk, n_ - r0);
            torch::Tensor d = net_->forward(x.narrow(0, r0, m)) - yt.narrow(0, r0, m);
            torch::Tensor part = (d * d).sum() / count;
            part.backward();
            sum += part.item<double>();
          }
          result_ = sum;
        }
        net_->adamStep();
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), result_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<NetState> net_;
  Kind kind_;
  int64_t n_;
  Napi::Reference<Napi::Float32Array> xRef_, yRef_;  // keep the JS memory alive while we work
  float* xData_;
  float* yData_;
  double result_ = 0.0;
};

class Net : public Napi::ObjectWrap<Net> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Net", {
      InstanceMethod("forward", &Net::Forward),
      InstanceMethod("predict", &Net::Predict),
      InstanceMethod("predictVjp", &Net::PredictVjp),
      InstanceMethod("setScaling", &Net::SetScaling),
      InstanceMethod("trainStep", &Net::TrainStep),
      InstanceMethod("lossSum", &Net::LossSum),
      InstanceMethod("getParameters", &Net::GetParameters),
      InstanceMethod("setParameters", &Net::SetParameters),
      InstanceMethod("configureAdam", &Net::ConfigureAdam),
      InstanceMethod("getOptimizerState", &Net::GetOptimizerState),
      InstanceMethod("setOptimizerState", &Net::SetOptimizerState),
      InstanceAccessor("device", &Net::Device, nullptr),
    });
  }

  // new Net(layerSizes: number[], activations: string[] (one per Linear, '' = none), device?: string)
  explicit Net(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Net>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray())
      throw Napi::TypeError::New(env, "Net(layerSizes: number[], activations: string[], device?: string)");
    auto state = std::make_shared<NetState>();
    Napi::Array sizes = info[0].As<Napi::Array>();
    Napi::Array acts = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < sizes.Length(); i++) {
      int64_t s = sizes.Get(i).As<Napi::Number>().Int64Value();
      if (s <= 0) throw Napi::RangeError::New(env, "layer sizes must be positive");
      state->sizes.push_back(s);
    }
    if (state->sizes.size() < 2) throw Napi::RangeError::New(env, "need at least an input and an output size");
    if (acts.Length() != state->sizes.size() - 1) throw Napi::RangeError::New(env, "need one activation entry per Linear layer");
    try {
      for (uint32_t i = 0; i < acts.Length(); i++) state->acts.push_back(parseAct(acts.Get(i).As<Napi::String>().Utf8Value()));
      state->device = pickDevice(info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "auto");
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(state->device);
    for (size_t l = 0; l + 1 < state->sizes.size(); l++) {
      state->params.push_back(torch::zeros({state->sizes[l + 1], state->sizes[l]}, opts).set_requires_grad(true));
      state->params.push_back(torch::zeros({state->sizes[l + 1]}, opts).set_requires_grad(true));
    }
    state->zeroState();
    state_ = state;
  }

 private:
  std::shared_ptr<NetState> state_;

  Napi::Value Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), state_->device.str()); }

  Napi::Value Run(const Napi::CallbackInfo& info, NetWorker::Kind kind) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[2].IsNumber()) throw Napi::TypeError::New(env, "expected (x: Float32Array, y: Float32Array, nPoints: number)");
    int64_t n = info[2].As<Napi::Number>().Int64Value();
    if (n <= 0) throw Napi::RangeError::New(env, "nPoints must be positive");
    checkArray(env, info[0], (size_t)(n * state_->nIn()), "x");
    checkArray(env, info[1], (size_t)(n * state_->nOut()), kind == NetWorker::kForward ? "out" : "y");
    if ((kind == NetWorker::kForward || kind == NetWorker::kPredict) && state_->device.is_cpu() && n * state_->macsPerPoint() <= syncMacs()) {
      // A small CPU inference runs here, on the calling thread (with the block pool), and returns a
      // settled promise: the hand-off to a libuv thread and back to the event loop cost tens of
      // microseconds against ~1 ms of work. Not while another call holds this net (then queued).
      std::unique_lock<std::mutex> lock(state_->mu, std::try_to_lock);
      if (lock.owns_lock()) {
        auto deferred = Napi::Promise::Deferred::New(env);
        try {
          inferCpu(*state_, info[0].As<Napi::Float32Array>().Data(), info[1].As<Napi::Float32Array>().Data(), n, kind == NetWorker::kPredict);
          deferred.Resolve(Napi::Number::New(env, 0));
        } catch (const std::exception& e) {
          deferred.Reject(Napi::Error::New(env, e.what()).Value());
        }
        return deferred.Promise();
      }
    }
    auto* w = new NetWorker(env, state_, kind, info[0].As<Napi::Float32Array>(), info[1].As<Napi::Float32Array>(), n);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }
  // forward(x, out, n): Promise<number>  (resolves 0 when out holds the n×nOut result)
  Napi::Value Forward(const Napi::CallbackInfo& info) { return Run(info, NetWorker::kForward); }
  // predict(x, out, n): like forward, with the scaling and restriction set by setScaling; rejects
  // non-finite inputs ("non-finite input value").
  Napi::Value Predict(const Napi::CallbackInfo& info) { return Run(info, NetWorker::kPredict); }

  // predictVjp(x, cotangent, out, gradInput, n): Promise<number>  (resolves 0 when out holds
  // predict(x) and gradInput (Float64Array, n×nIn) the cotangent (Float64Array, n×nOut) pulled back)
  Napi::Value PredictVjp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[4].IsNumber()) throw Napi::TypeError::New(env, "expected (x: Float32Array, cotangent: Float64Array, out: Float32Array, gradInput: Float64Array, nPoints: number)");
    int64_t n = info[4].As<Napi::Number>().Int64Value();
    if (n <= 0) throw Napi::RangeError::New(env, "nPoints must be positive");
    checkArray(env, info[0], (size_t)(n * state_->nIn()), "x");
    checkArray64(env, info[1], (size_t)(n * state_->nOut()), "cotangent");
    checkArray(env, info[2], (size_t)(n * state_->nOut()), "out");
    checkArray64(env, info[3], (size_t)(n * state_->nIn()), "gradInput");
    auto* w = new VjpWorker(env, state_, info[0].As<Napi::Float32Array>(), info[1].As<Napi::Float64Array>(), info[2].As<Napi::Float32Array>(), info[3].As<Napi::Float64Array>(), n);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // setScaling(inShift, inScale, outShift, outScale, restrict): Float32Arrays of length 0 (none),
  // 1 (global) or the feature count; restrict 0 none, 1 negatives → 0, 2 absolute value.
  Napi::Value SetScaling(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::lock_guard<std::mutex> lock(state_->mu);
    auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    auto get = [&](int i, int64_t nFeat, const char* what) -> torch::Tensor {
      checkArray(env, info[i], 0, what);
      auto a = info[i].As<Napi::Float32Array>();
      int64_t n = (int64_t)a.ElementLength();
      if (n == 0) return torch::Tensor();
      if (n != 1 && n != nFeat) throw Napi::RangeError::New(env, std::string(what) + ": expected 1 or " + std::to_string(nFeat) + " values");
      return torch::from_blob(a.Data(), {1, n}, opts).clone().to(state_->device);
    };
    torch::Tensor a = get(0, state_->nIn(), "inShift"), b = get(1, state_->nIn(), "inScale");
    torch::Tensor c = get(2, state_->nOut(), "outShift"), d = get(3, state_->nOut(), "outScale");
    if (a.defined() != b.defined() || c.defined() != d.defined()) throw Napi::RangeError::New(env, "shift and scale must both be given or both be empty");
    state_->inShift = a;
    state_->inScale = b;
    state_->outShift = c;
    state_->outScale = d;
    state_->restrict = info[4].As<Napi::Number>().Int32Value();
    return env.Undefined();
  }
  // trainStep(x, y, n): Promise<number> = MSE loss of this batch before the update
  Napi::Value TrainStep(const Napi::CallbackInfo& info) { return Run(info, NetWorker::kTrain); }
  // lossSum(x, y, n): Promise<number> = Σ (net(x) − y)² in float64
  Napi::Value LossSum(const Napi::CallbackInfo& info) { return Run(info, NetWorker::kLossSum); }

  static Napi::Float32Array toJs(Napi::Env env, const torch::Tensor& t) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    auto out = Napi::Float32Array::New(env, (size_t)c.numel());
    std::memcpy(out.Data(), c.data_ptr<float>(), (size_t)c.numel() * sizeof(float));
    return out;
  }
  static void fromJs(Napi::Env env, torch::Tensor& t, const Napi::Value& v, const std::string& what) {
    checkArray(env, v, (size_t)t.numel(), what.c_str());
    auto a = v.As<Napi::Float32Array>();
    if (a.ElementLength() != (size_t)t.numel()) throw Napi::RangeError::New(env, what + ": expected " + std::to_string(t.numel()) + " values, got " + std::to_string(a.ElementLength()));
    torch::NoGradGuard ng;
    t.copy_(torch::from_blob(a.Data(), t.sizes(), torch::kFloat32));
  }
  static Napi::Array listToJs(Napi::Env env, const std::vector<torch::Tensor>& ts) {
    Napi::Array arr = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); i++) arr.Set((uint32_t)i, toJs(env, ts[i]));
    return arr;
  }
  static void listFromJs(Napi::Env env, std::vector<torch::Tensor>& ts, const Napi::Value& v, const char* what) {
    if (!v.IsArray() || v.As<Napi::Array>().Length() != ts.size())
      throw Napi::TypeError::New(env, std::string(what) + ": expected an array of " + std::to_string(ts.size()) + " Float32Arrays");
    Napi::Array arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) fromJs(env, ts[i], arr.Get(i), std::string(what) + "[" + std::to_string(i) + "]");
  }

  // The calls below are synchronous; they take the lock so they wait for a running worker.
  Napi::Value GetParameters(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(state_->mu);
    return listToJs(info.Env(), state_->params);
  }
  Napi::Value SetParameters(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(state_->mu);
    listFromJs(info.Env(), state_->params, info[0], "parameters");
    return info.Env().Undefined();
  }
  // configureAdam({lr, beta1, beta2, eps, weightDecay}) — any subset; state is kept.
  Napi::Value ConfigureAdam(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "configureAdam({lr, beta1, beta2, eps, weightDecay})");
    Napi::Object o = info[0].As<Napi::Object>();
    auto get = [&](const char* k, double& dst) { if (o.Has(k) && o.Get(k).IsNumber()) dst = o.Get(k).As<Napi::Number>().DoubleValue(); };
    get("lr", state_->lr);
    get("beta1", state_->beta1);
    get("beta2", state_->beta2);
    get("eps", state_->eps);
    get("weightDecay", state_->weightDecay);
    return info.Env().Undefined();
  }
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(state_->mu);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("step", Napi::Number::New(info.Env(), (double)state_->step));
    o.Set("expAvg", listToJs(info.Env(), state_->expAvg));
    o.Set("expAvgSq", listToJs(info.Env(), state_->expAvgSq));
    return o;
  }
  // setOptimizerState({step, expAvg, expAvgSq})
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "setOptimizerState({step, expAvg, expAvgSq})");
    Napi::Object o = info[0].As<Napi::Object>();
    listFromJs(info.Env(), state_->expAvg, o.Get("expAvg"), "expAvg");
    listFromJs(info.Env(), state_->expAvgSq, o.Get("expAvgSq"), "expAvgSq");
    state_->step = o.Get("step").As<Napi::Number>().Int64Value();
    return info.Env().Undefined();
  }
};

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  o.Set("cudaAvailable", Napi::Boolean::New(env, torch::cuda::is_available()));
  o.Set("cudaDeviceCount", Napi::Number::New(env, (double)torch::cuda::device_count()));
  o.Set("intraOpThreads", Napi::Number::New(env, at::get_num_threads()));
  o.Set("builtWithCuda", Napi::Boolean::New(env, kBuiltWithCuda));
  o.Set("cudaBatchPoints", Napi::Number::New(env, (double)cudaBatchPoints()));
  o.Set("inferenceMode", Napi::String::New(env, useInferenceMode() ? "InferenceMode" : "NoGradGuard"));
  o.Set("blasThreads", Napi::Number::New(env, BlasThreads::get().count()));  // threads of blocked CPU inference
  return o;
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  torch::manual_seed((uint64_t)info[0].As<Napi::Number>().Int64Value());
  return info.Env().Undefined();
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  // Intra-op threads. Debian's libtorch does its matmuls in OpenBLAS (pthreads), which uses the
  // cores by itself: one intra-op thread, or the two thread pools fight. A libtorch with MKL (pip
  // wheels) threads its BLAS through the intra-op pool: keep libtorch's own default there (the
  // cores, or OMP_NUM_THREADS, which the MPI launcher sets to 1 per rank); with one thread, the
  // H200 machine's 16-core predict ran its network on one core (docs/gpu-check-h200).
  // MALA_TS_TORCH_THREADS overrides both.
  const char* t = std::getenv("MALA_TS_TORCH_THREADS");
  if (t) at::set_num_threads(std::max(1, std::atoi(t)));
  else if (!at::hasMKL()) at::set_num_threads(1);
  exports.Set("Net", Net::Init(env));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  return exports;
}

}  // namespace

NODE_API_MODULE(mala_torch, InitModule)
