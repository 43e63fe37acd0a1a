// TF's profiler gRPC server (tensorflow.ProfilerService), which jetserve's gRPC port proxies so
// that tf.profiler.experimental.client.trace('grpc://host:port', …) works against jetserve as it
// does against TF Serving (which registers the same service on its own gRPC server).
//
// The TF C API has no profiler entry point. The TF library exports the C++ class
// tsl::profiler::ProfilerServer, whose StartProfilerServer(int port) builds a gRPC server with
// TF's profiler service on [::]:port inside TF (TF links its own gRPC; its builder is not exported,
// so the bind address cannot be narrowed), and whose destructor shuts that server down. ABI
// handling:
//   - both functions are looked up with dlsym at run time, never linked: a TF build without them
//     (e.g. the C-only libtensorflow tarball) leaves the addon loadable and profilerAvailable()
//     false, so the server refuses the service explicitly;
//   - they are called as the Itanium C++ ABI defines member functions (`this` first) on storage
//     jetserve owns. In TF 2.21 the object is 16 bytes (the service's and the server's
//     unique_ptrs, at offsets 0 and 8: read from the disassembly of both functions); the storage
//     is 256 zeroed bytes, so a grown class in a later TF cannot overrun it, and zero is what the
//     implicit constructor of unique_ptr members leaves. jetserve never reads the members.
//
// One profiler server per process (the profiler session itself is process-wide in TF): start()
// fails while one runs. stop() runs the destructor — which waits for a Profile call in flight, up
// to its duration — on a libuv worker thread and resolves when it is done. Still running at exit:
// shutdown() (process 'exit') or the cleanup hook of the environment that started it stops it, so
// TF's gRPC threads are gone before TF's static state is destroyed.
#include <dlfcn.h>
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "status.h"

namespace jetserve {
namespace {

// Itanium-mangled names of tsl::profiler::ProfilerServer::StartProfilerServer(int) and of its
// complete-object destructor.
constexpr const char* kStartSymbol = "_ZN3tsl8profiler14ProfilerServer19StartProfilerServerEi";
constexpr const char* kDestructorSymbol = "_ZN3tsl8profiler14ProfilerServerD1Ev";
constexpr size_t kStorageBytes = 256;

using StartFn = void (*)(void* self, int port);
using DestructorFn = void (*)(void* self);

struct ProfilerAbi {
  StartFn start = nullptr;
  DestructorFn destroy = nullptr;
  bool available() const { return start != nullptr && destroy != nullptr; }
};

const ProfilerAbi& Abi() {
  static const ProfilerAbi abi = [] {
    ProfilerAbi a;
    a.start = reinterpret_cast<StartFn>(dlsym(RTLD_DEFAULT, kStartSymbol));
    a.destroy = reinterpret_cast<DestructorFn>(dlsym(RTLD_DEFAULT, kDestructorSymbol));
    return a;
  }();
  return abi;
}

// Owns the storage of one started tsl::profiler::ProfilerServer.
class ProfilerServerOwner {
 public:
  explicit ProfilerServerOwner(int port) : storage_(std::calloc(1, kStorageBytes)) {
    if (storage_ != nullptr) Abi().start(storage_, port);
  }
  ~ProfilerServerOwner() {
    if (storage_ == nullptr) return;
    Abi().destroy(storage_);  // shuts TF's gRPC server down and frees its members
    std::free(storage_);
  }
  ProfilerServerOwner(const ProfilerServerOwner&) = delete;
  ProfilerServerOwner& operator=(const ProfilerServerOwner&) = delete;
  bool ok() const { return storage_ != nullptr; }

 private:
  void* storage_;
};

std::mutex g_mutex;
ProfilerServerOwner* g_server = nullptr;  // guarded by g_mutex
napi_env g_owner = nullptr;               // the environment that started g_server (guarded by g_mutex)
std::set<napi_env> g_hooked;              // environments with OnEnvCleanup registered (guarded by g_mutex)

// Takes the running server out of the global slot (nullptr when none).
ProfilerServerOwner* TakeServer() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ProfilerServerOwner* server = g_server;
  g_server = nullptr;
  g_owner = nullptr;
  return server;
}

// Stops the server `env` started, if it runs, on the calling thread.
void StopOwnedBy(napi_env env) {
  ProfilerServerOwner* server = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_owner != env) return;
    g_owner = nullptr;
    server = g_server;
    g_server = nullptr;
  }
  delete server;
}

// An environment ending with the server it started still running stops it.
void OnEnvCleanup(void* arg) {
  auto env = static_cast<napi_env>(arg);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_hooked.erase(env);  // Node drops a hook once it has run
  }
  StopOwnedBy(env);
}

Napi::Value ProfilerAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Abi().available()); }

// startProfilerServer(port): starts TF's profiler server on [::]:port. Whether it bound is for the
// caller to check (a connect): TF only logs a failed bind.
Napi::Value StartProfilerServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Abi().available()) {
    NAPI_THROW(MakeError(env, Failure{TF_UNIMPLEMENTED, "this TensorFlow library does not export tsl::profiler::ProfilerServer"}),
               Napi::Value());
  }
  double port = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(port >= 1 && port <= 65535) || port != static_cast<int>(port)) {
    NAPI_THROW(Napi::RangeError::New(env, "startProfilerServer(port): port must be an integer from 1 to 65535"), Napi::Value());
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_server != nullptr) {
    NAPI_THROW(MakeError(env, Failure{TF_ALREADY_EXISTS, "a profiler server is already running in this process"}), Napi::Value());
  }
  auto* server = new ProfilerServerOwner(static_cast<int>(port));
  if (!server->ok()) {
    delete server;
    NAPI_THROW(Napi::Error::New(env, "startProfilerServer: out of memory"), Napi::Value());
  }
  g_server = server;
  g_owner = env;
  if (g_hooked.insert(env).second) napi_add_env_cleanup_hook(env, OnEnvCleanup, static_cast<napi_env>(env));
  return env.Undefined();
}

class StopWorker : public Napi::AsyncWorker {
 public:
  StopWorker(Napi::Env env, ProfilerServerOwner* server)
      : Napi::AsyncWorker(env, "jetserve:stopProfilerServer"), server_(server), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override {
    delete server_;
    server_ = nullptr;
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

 private:
  ProfilerServerOwner* server_;
  Napi::Promise::Deferred deferred_;
};

// stopProfilerServer(): Promise<void>, resolved once TF's server has shut down (at once when none runs).
Napi::Value StopProfilerServer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerServerOwner* server = TakeServer();
  if (server == nullptr) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  auto* worker = new StopWorker(env, server);  // deletes itself after OnOK
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

// The server this environment started, stopped on this thread (process exit).
void StopProfilerServerNow(napi_env env) { StopOwnedBy(env); }

void RegisterProfiler(Napi::Env env, Napi::Object exports) {
  exports.Set("profilerAvailable", Napi::Function::New<ProfilerAvailable>(env, "profilerAvailable"));
  exports.Set("startProfilerServer", Napi::Function::New<StartProfilerServer>(env, "startProfilerServer"));
  exports.Set("stopProfilerServer", Napi::Function::New<StopProfilerServer>(env, "stopProfilerServer"));
}

}  // namespace jetserve
