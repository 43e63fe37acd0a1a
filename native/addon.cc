// Module init: registers the exports of jetserve_native.node. The TS side (src/engine/native.ts)
// describes this interface.
#include <napi.h>
#include <tensorflow/c/c_api.h>

#include <thread>

#include "addon_data.h"
#include "counters.h"
#include "session.h"
#include "tensor.h"

namespace jetserve {

Executor& AddonData::GetExecutor(Napi::Env env) {
  if (!executor) {
    size_t threads = executor_threads;
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    executor = std::make_unique<Executor>(env, threads);
  }
  return *executor;
}

namespace {

Napi::Value TfVersion(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), TF_Version()); }

Napi::Value AllocAligned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double requested = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(requested >= 0) || requested > 1e12) {
    NAPI_THROW(Napi::RangeError::New(env, "allocAligned(byteLength): byteLength must be a non-negative size"), Napi::Value());
  }
  SharedBuffer* buffer = SharedBuffer::NewAligned(static_cast<size_t>(requested));
  if (buffer == nullptr) NAPI_THROW(Napi::Error::New(env, "allocAligned: out of memory"), Napi::Value());
  return ExposeToJs(env, buffer);
}

Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    NAPI_THROW(Napi::TypeError::New(env, "addressOf(view): a typed array is required"), Napi::Value());
  }
  Napi::TypedArray view = info[0].As<Napi::TypedArray>();
  auto address = reinterpret_cast<uintptr_t>(view.ArrayBuffer().Data()) + view.ByteOffset();
  return Napi::BigInt::New(env, static_cast<uint64_t>(address));
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Counters& c = counters();
  Napi::Object stats = Napi::Object::New(env);
  auto set = [&](const char* key, int64_t value) { stats.Set(key, Napi::Number::New(env, static_cast<double>(value))); };
  set("liveSessions", c.live_sessions.load());
  set("liveTensors", c.live_tensors.load());
  set("liveBlocks", c.live_blocks.load());
  set("bytesCopiedIn", c.bytes_copied_in.load());
  set("bytesCopiedOut", c.bytes_copied_out.load());
  set("zeroCopyInputs", c.zero_copy_inputs.load());
  set("zeroCopyOutputs", c.zero_copy_outputs.load());
  AddonData& data = AddonData::Get(env);
  set("executorThreads", data.executor ? static_cast<int64_t>(data.executor->thread_count()) : 0);
  return stats;
}

Napi::Value SetExecutorThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = AddonData::Get(env);
  if (data.executor) {
    NAPI_THROW(Napi::Error::New(env, "setExecutorThreads must be called before the first load"), Napi::Value());
  }
  const int64_t threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : 0;
  if (threads < 1 || threads > 1024) {
    NAPI_THROW(Napi::RangeError::New(env, "setExecutorThreads(count): count must be 1..1024"), Napi::Value());
  }
  data.executor_threads = static_cast<size_t>(threads);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  data->session_constructor = Napi::Persistent(Session::Define(env));
  exports.Set("tfVersion", Napi::Function::New<TfVersion>(env, "tfVersion"));
  exports.Set("allocAligned", Napi::Function::New<AllocAligned>(env, "allocAligned"));
  exports.Set("addressOf", Napi::Function::New<AddressOf>(env, "addressOf"));
  exports.Set("stats", Napi::Function::New<Stats>(env, "stats"));
  exports.Set("setExecutorThreads", Napi::Function::New<SetExecutorThreads>(env, "setExecutorThreads"));
  exports.Set("loadSavedModel", Napi::Function::New<LoadSavedModel>(env, "loadSavedModel"));
  exports.Set("loadGraphDef", Napi::Function::New<LoadGraphDef>(env, "loadGraphDef"));
  return exports;
}

}  // namespace
}  // namespace jetserve

static Napi::Object InitJetserve(Napi::Env env, Napi::Object exports) { return jetserve::Init(env, exports); }

NODE_API_MODULE(jetserve_native, InitJetserve)
