// MPI for mala-ts: the few collectives `mpirun -np N mala-ts predict` needs, on MPI_COMM_WORLD.
// No physics. Every call is synchronous and collective calls must be made by all ranks in the
// same order (the TypeScript side, src/parallel/comm.ts, keeps to that).
#include <dlfcn.h>
#include <mpi.h>
#include <napi.h>

#include <string>
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

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (isFinalized()) throw Napi::Error::New(env, "MPI was already finalised");
  if (!isInitialized()) {
    promoteMpiToGlobal();
    int provided = 0;
    check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
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

Napi::Value Finalize(const Napi::CallbackInfo& info) {
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
  exports.Set("commSelfFortran", Napi::Function::New(env, CommSelfFortran));
  exports.Set("commWorldFortran", Napi::Function::New(env, CommWorldFortran));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("libraryVersion", Napi::Function::New(env, LibraryVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(mala_mpi, Register)
