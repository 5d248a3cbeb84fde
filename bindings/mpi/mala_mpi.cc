// MPI for mala-ts: the few collectives `mpirun -np N mala-ts predict` needs, on MPI_COMM_WORLD,
// and FFTW's MPI interface (3-D complex transforms distributed in x-slabs). No physics. Every
// call is synchronous and collective calls must be made by all ranks in the same order (the
// TypeScript side, src/parallel/comm.ts, keeps to that).
#include <dlfcn.h>
#include <mpi.h>
#include <fftw3-mpi.h>
#include <napi.h>

#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

void check(const Napi::Env& env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Napi::Error::New(env, std::string(what) + " failed: " + std::string(msg, len));
}

bool isInitialized() {
  int flag = 0;
  MPI_Initialized(&flag);
  return flag != 0;
}

bool isFinalized() {
  int flag = 0;
  MPI_Finalized(&flag);
  return flag != 0;
}

void requireLive(const Napi::Env& env) {
  if (!isInitialized() || isFinalized()) throw Napi::Error::New(env, "MPI is not initialised (call init first) or already finalised");
}

Napi::Float64Array float64Arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(info.Env(), "expected a Float64Array");
  }
  return info[i].As<Napi::Float64Array>();
}

int intArg(const Napi::CallbackInfo& info, size_t i, int def) {
  return info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : def;
}

// Open MPI loads its components with dlopen; they resolve symbols of libmpi/libopen-pal through
// the global namespace, which a library pulled in by a Node addon (RTLD_LOCAL) is not in.
void promoteMpiToGlobal() {
  Dl_info dl;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init), &dl) && dl.dli_fname) dlopen(dl.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

bool fftwMpiReady = false;

// fftw_mpi_init once, after MPI_Init (also when MPI was initialised by someone else, e.g. LAMMPS).
void ensureFftwMpi() {
  if (fftwMpiReady) return;
  fftw_mpi_init();
  fftwMpiReady = true;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (isFinalized()) throw Napi::Error::New(env, "MPI was already finalised");
  if (!isInitialized()) {
    promoteMpiToGlobal();
    int provided = 0;
    check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  ensureFftwMpi();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", rank);
  o.Set("size", size);
  return o;
}

Napi::Value Initialized(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), isInitialized()); }
Napi::Value Finalized(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), isFinalized()); }

void destroyFftPlans();

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  destroyFftPlans();
  if (fftwMpiReady && isInitialized() && !isFinalized()) {
    fftw_mpi_cleanup();
    fftwMpiReady = false;
  }
  if (isInitialized() && !isFinalized()) check(info.Env(), MPI_Finalize(), "MPI_Finalize");
  return info.Env().Undefined();
}

Napi::Value Rank(const Napi::CallbackInfo& info) {
  requireLive(info.Env());
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return Napi::Number::New(info.Env(), rank);
}

Napi::Value Size(const Napi::CallbackInfo& info) {
  requireLive(info.Env());
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return Napi::Number::New(info.Env(), size);
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  requireLive(info.Env());
  check(info.Env(), MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return info.Env().Undefined();
}

Napi::Value Allreduce(const Napi::CallbackInfo& info, MPI_Op op, const char* what) {
  Napi::Env env = info.Env();
  requireLive(env);
  Napi::Float64Array a = float64Arg(info, 0);
  check(env, MPI_Allreduce(MPI_IN_PLACE, a.Data(), static_cast<int>(a.ElementLength()), MPI_DOUBLE, op, MPI_COMM_WORLD), what);
  return a;
}

Napi::Value AllreduceSum(const Napi::CallbackInfo& info) { return Allreduce(info, MPI_SUM, "MPI_Allreduce(SUM)"); }
Napi::Value AllreduceMax(const Napi::CallbackInfo& info) { return Allreduce(info, MPI_MAX, "MPI_Allreduce(MAX)"); }
Napi::Value AllreduceMin(const Napi::CallbackInfo& info) { return Allreduce(info, MPI_MIN, "MPI_Allreduce(MIN)"); }

Napi::Value Bcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireLive(env);
  Napi::Float64Array a = float64Arg(info, 0);
  int root = intArg(info, 1, 0);
  check(env, MPI_Bcast(a.Data(), static_cast<int>(a.ElementLength()), MPI_DOUBLE, root, MPI_COMM_WORLD), "MPI_Bcast");
  return a;
}

// Concatenation of every rank's array, in rank order, on `root` (undefined elsewhere).
Napi::Value Gatherv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireLive(env);
  Napi::Float64Array a = float64Arg(info, 0);
  int root = intArg(info, 1, 0);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (a.ElementLength() > static_cast<size_t>(INT32_MAX)) throw Napi::RangeError::New(env, "gatherv: more than 2^31 values on one rank");
  int n = static_cast<int>(a.ElementLength());
  std::vector<int> counts(size), displs(size);
  check(env, MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather(counts)");
  Napi::Value result = env.Undefined();
  double* recv = nullptr;
  if (rank == root) {
    long long total = 0;
    for (int r = 0; r < size; r++) {
      if (total > INT32_MAX) throw Napi::RangeError::New(env, "gatherv: more than 2^31 values in all");
      displs[r] = static_cast<int>(total);
      total += counts[r];
    }
    Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(total));
    recv = out.Data();
    result = out;
  }
  check(env, MPI_Gatherv(a.Data(), n, MPI_DOUBLE, recv, counts.data(), displs.data(), MPI_DOUBLE, root, MPI_COMM_WORLD), "MPI_Gatherv");
  return result;
}

// Personalised all-to-all: sendCounts[r] values of `send` (consecutive, in rank order) go to rank
// r; the receive counts are exchanged with MPI_Alltoall. Returns what every rank sent here,
// concatenated in rank order.
Napi::Value Alltoallv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireLive(env);
  Napi::Float64Array a = float64Arg(info, 0);
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, "alltoallv: expected sendCounts as an Int32Array");
  }
  Napi::Int32Array counts = info[1].As<Napi::Int32Array>();
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (counts.ElementLength() != static_cast<size_t>(size)) {
    throw Napi::RangeError::New(env, "alltoallv: sendCounts has " + std::to_string(counts.ElementLength()) + " entries, the communicator " + std::to_string(size) + " ranks");
  }
  std::vector<int> sendCounts(size), sendDispls(size), recvCounts(size), recvDispls(size);
  long long total = 0;
  for (int r = 0; r < size; r++) {
    if (counts[r] < 0) throw Napi::RangeError::New(env, "alltoallv: negative send count");
    if (total > INT32_MAX) throw Napi::RangeError::New(env, "alltoallv: more than 2^31 values sent by one rank");
    sendCounts[r] = counts[r];
    sendDispls[r] = static_cast<int>(total);
    total += counts[r];
  }
  if (total != static_cast<long long>(a.ElementLength())) {
    throw Napi::RangeError::New(env, "alltoallv: the send counts add up to " + std::to_string(total) + " but the array has " + std::to_string(a.ElementLength()) + " values");
  }
  check(env, MPI_Alltoall(sendCounts.data(), 1, MPI_INT, recvCounts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Alltoall(counts)");
  long long rtotal = 0;
  for (int r = 0; r < size; r++) {
    if (rtotal > INT32_MAX) throw Napi::RangeError::New(env, "alltoallv: more than 2^31 values received by one rank");
    recvDispls[r] = static_cast<int>(rtotal);
    rtotal += recvCounts[r];
  }
  if (rtotal > INT32_MAX) throw Napi::RangeError::New(env, "alltoallv: more than 2^31 values received by one rank");
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(rtotal));
  check(env,
        MPI_Alltoallv(a.Data(), sendCounts.data(), sendDispls.data(), MPI_DOUBLE, out.Data(), recvCounts.data(), recvDispls.data(), MPI_DOUBLE, MPI_COMM_WORLD),
        "MPI_Alltoallv");
  return out;
}

// ---- FFTW-MPI: 3-D complex transforms of an (n0, n1, n2) array (n2 fastest) distributed in
// x-slabs: rank r holds planes [local_0_start, local_0_start + local_n0). Plans are made with
// FFTW_ESTIMATE (which never touches the arrays) on a scratch buffer, cached per shape and sign,
// and executed on a buffer of alloc_local complex values (FFTW may need more than the slab).

struct FftShape {
  ptrdiff_t n0, n1, n2;
};

std::map<std::tuple<ptrdiff_t, ptrdiff_t, ptrdiff_t, int>, fftw_plan> fftPlans;

void destroyFftPlans() {
  for (auto& kv : fftPlans) fftw_destroy_plan(kv.second);
  fftPlans.clear();
}

FftShape shapeArgs(const Napi::CallbackInfo& info, size_t first) {
  Napi::Env env = info.Env();
  FftShape s{};
  ptrdiff_t* dims[3] = {&s.n0, &s.n1, &s.n2};
  for (size_t d = 0; d < 3; d++) {
    if (info.Length() <= first + d || !info[first + d].IsNumber()) throw Napi::TypeError::New(env, "expected the grid shape n0, n1, n2");
    double v = info[first + d].As<Napi::Number>().DoubleValue();
    if (!(v >= 1) || v != static_cast<double>(static_cast<long long>(v)) || v > 1e9) throw Napi::RangeError::New(env, "invalid FFT grid dimension " + std::to_string(v));
    *dims[d] = static_cast<ptrdiff_t>(v);
  }
  return s;
}

Napi::Value FftLocalSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireLive(env);
  ensureFftwMpi();
  FftShape s = shapeArgs(info, 0);
  ptrdiff_t localN0 = 0, start = 0;
  ptrdiff_t alloc = fftw_mpi_local_size_3d(s.n0, s.n1, s.n2, MPI_COMM_WORLD, &localN0, &start);
  Napi::Object o = Napi::Object::New(env);
  o.Set("localN0", static_cast<double>(localN0));
  o.Set("localStart", static_cast<double>(start));
  o.Set("allocLocal", static_cast<double>(alloc));
  return o;
}

// fftSlab(buf, n0, n1, n2, sign): in place on this rank's slab, buf complex interleaved, sign −1
// forward, +1 backward, unscaled (as FFTW). buf holds either exactly local_n0·n1·n2 complex values
// (copied through an FFTW buffer of alloc_local values), or at least alloc_local complex values
// with the slab first: then, when its alignment matches the plan's, FFTW works in it directly.
Napi::Value FftSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireLive(env);
  ensureFftwMpi();
  Napi::Float64Array a = float64Arg(info, 0);
  FftShape s = shapeArgs(info, 1);
  int sign = intArg(info, 4, 0);
  if (sign != FFTW_FORWARD && sign != FFTW_BACKWARD) throw Napi::RangeError::New(env, "fftSlab: sign must be -1 (forward) or +1 (backward)");
  ptrdiff_t localN0 = 0, start = 0;
  ptrdiff_t alloc = fftw_mpi_local_size_3d(s.n0, s.n1, s.n2, MPI_COMM_WORLD, &localN0, &start);
  size_t local = static_cast<size_t>(localN0 * s.n1 * s.n2);
  size_t n = static_cast<size_t>(alloc > 0 ? alloc : 1);
  bool roomy = a.ElementLength() >= 2 * n;
  if (a.ElementLength() != 2 * local && !roomy) {
    throw Napi::RangeError::New(env, "fftSlab: the slab has " + std::to_string(local) + " complex values (" + std::to_string(localN0) + " planes; FFTW needs room for " +
                                         std::to_string(n) + ") but the array holds " + std::to_string(a.ElementLength()) + " doubles");
  }
  auto key = std::make_tuple(s.n0, s.n1, s.n2, sign);
  auto it = fftPlans.find(key);
  fftw_plan plan;
  if (it == fftPlans.end()) {
    // FFTW_ESTIMATE never touches the arrays: plan on a scratch buffer of the right size
    fftw_complex* scratch = fftw_alloc_complex(n);
    if (!scratch) throw Napi::Error::New(env, "fftSlab: cannot allocate " + std::to_string(n * 16) + " bytes");
    plan = fftw_mpi_plan_dft_3d(s.n0, s.n1, s.n2, scratch, scratch, MPI_COMM_WORLD, sign, FFTW_ESTIMATE);
    fftw_free(scratch);
    if (!plan) throw Napi::Error::New(env, "fftw_mpi_plan_dft_3d failed for " + std::to_string(s.n0) + "x" + std::to_string(s.n1) + "x" + std::to_string(s.n2));
    fftPlans[key] = plan;
  } else {
    plan = it->second;
  }
  // fftw_malloc'd memory has alignment 0; new-array execution needs the same alignment. The
  // decision is collective-safe: every rank executes the same plan either way.
  double* js = a.Data();
  if (roomy && fftw_alignment_of(js) == 0) {
    fftw_complex* c = reinterpret_cast<fftw_complex*>(js);
    fftw_mpi_execute_dft(plan, c, c);
    return env.Undefined();
  }
  fftw_complex* data = fftw_alloc_complex(n);
  if (!data) throw Napi::Error::New(env, "fftSlab: cannot allocate " + std::to_string(n * 16) + " bytes");
  if (local > 0) std::memcpy(data, js, local * sizeof(fftw_complex));
  fftw_mpi_execute_dft(plan, data, data);
  if (local > 0) std::memcpy(js, data, local * sizeof(fftw_complex));
  fftw_free(data);
  return env.Undefined();
}

// Drop the cached plans (collective: every rank at the same point).
Napi::Value FftForgetPlans(const Napi::CallbackInfo& info) {
  destroyFftPlans();
  return info.Env().Undefined();
}

// Fortran handles (MPI_Fint) of the communicators, for lammps_open_fortran.
Napi::Value CommSelfFortran(const Napi::CallbackInfo& info) {
  requireLive(info.Env());
  return Napi::Number::New(info.Env(), MPI_Comm_c2f(MPI_COMM_SELF));
}

Napi::Value CommWorldFortran(const Napi::CallbackInfo& info) {
  requireLive(info.Env());
  return Napi::Number::New(info.Env(), MPI_Comm_c2f(MPI_COMM_WORLD));
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  if (isInitialized() && !isFinalized()) MPI_Abort(MPI_COMM_WORLD, intArg(info, 0, 1));
  return info.Env().Undefined();
}

Napi::Value LibraryVersion(const Napi::CallbackInfo& info) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  std::string s(v, len);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return Napi::String::New(info.Env(), s);
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("initialized", Napi::Function::New(env, Initialized));
  exports.Set("finalized", Napi::Function::New(env, Finalized));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("rank", Napi::Function::New(env, Rank));
  exports.Set("size", Napi::Function::New(env, Size));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("allreduceSum", Napi::Function::New(env, AllreduceSum));
  exports.Set("allreduceMax", Napi::Function::New(env, AllreduceMax));
  exports.Set("allreduceMin", Napi::Function::New(env, AllreduceMin));
  exports.Set("bcast", Napi::Function::New(env, Bcast));
  exports.Set("gatherv", Napi::Function::New(env, Gatherv));
  exports.Set("alltoallv", Napi::Function::New(env, Alltoallv));
  exports.Set("fftLocalSize", Napi::Function::New(env, FftLocalSize));
  exports.Set("fftSlab", Napi::Function::New(env, FftSlab));
  exports.Set("fftForgetPlans", Napi::Function::New(env, FftForgetPlans));
  exports.Set("commSelfFortran", Napi::Function::New(env, CommSelfFortran));
  exports.Set("commWorldFortran", Napi::Function::New(env, CommWorldFortran));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("libraryVersion", Napi::Function::New(env, LibraryVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(mala_mpi, Register)
