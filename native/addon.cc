// Module init: registers the exports of jetserve_native.node. The TS side (src/engine/native.ts)
// describes this interface.
#include <napi.h>
#include <tensorflow/c/c_api.h>

#include <thread>

#include "addon_data.h"
#include "counters.h"
#include "json_codec.h"
#include "listen_guard.h"
#include "session.h"
#include "tf_owners.h"
#include "tensor.h"

namespace jetserve {

// native/profiler.cc
void RegisterProfiler(Napi::Env env, Napi::Object exports);
void StopProfilerServerNow(napi_env env);

Executor* AddonData::RunningExecutor(Napi::Env env) {
  if (shutting_down) return nullptr;
  if (!executor) executor = std::make_unique<Executor>(env, std::max(1u, std::thread::hardware_concurrency()));
  return executor->stopped() ? nullptr : executor.get();
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

// Detaches an ArrayBuffer JS no longer needs (a batch's gathered inputs once TF has run them):
// its memory goes back as soon as TF holds no reference, instead of at the next GC. V8 counts a
// live external backing store toward its next major GC, so ResNet50's 4.8 MB batch inputs left
// to the GC set off a mark-compact every ~0.5 s of serving (--trace-gc, bench:resnet50).
Napi::Value ReleaseAligned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    NAPI_THROW(Napi::TypeError::New(env, "releaseAligned(buffer): an ArrayBuffer is required"), Napi::Value());
  }
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  bool detached = false;
  NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, buffer, &detached), Napi::Value());
  if (!detached) buffer.Detach();
  return env.Undefined();
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

// Every op this TF library registers, as a serialized OpList: the engine reads which are stateful.
Napi::Value OpList(const Napi::CallbackInfo& info) {
  BufferPtr list(TF_GetAllOpList());
  return Napi::Buffer<uint8_t>::Copy(info.Env(), static_cast<const uint8_t*>(list->data), list->length);
}

// Stops this environment's executor: waits for the runs and loads executing now, drops queued
// ones, and rejects later ones. The JS layer calls it on process 'exit' (see executor.h).
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = AddonData::Get(env);
  data.shutting_down = true;
  if (data.executor) data.executor->Stop();
  StopProfilerServerNow(env);
  return env.Undefined();
}

}  // namespace

Napi::Value SetRunIo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double head_bytes = info.Length() == 2 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (info.Length() != 2 || !info[0].IsArrayBuffer() || !(head_bytes >= 16) ||
      head_bytes != static_cast<double>(static_cast<size_t>(head_bytes)) || static_cast<size_t>(head_bytes) % 16 != 0) {
    NAPI_THROW(Napi::TypeError::New(env, "setRunIo(buffer: ArrayBuffer, headBytes: multiple of 16) expected"), Napi::Value());
  }
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  auto* base = static_cast<uint8_t*>(buffer.Data());
  const size_t size = buffer.ByteLength();
  const auto head = static_cast<size_t>(head_bytes);
  if (head > size || reinterpret_cast<uintptr_t>(base) % 16 != 0) {
    NAPI_THROW(Napi::RangeError::New(env, "setRunIo: the buffer must be 16-byte aligned and hold headBytes"), Napi::Value());
  }
  RunIo& io = AddonData::Get(env).run_io;
  io.buffer = Napi::Persistent(buffer);
  io.head = reinterpret_cast<double*>(base);
  io.head_slots = head / sizeof(double);
  io.data = base + head;
  io.data_bytes = size - head;
  return env.Undefined();
}

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  data->session_constructor = Napi::Persistent(Session::Define(env));
  exports.Set("tfVersion", Napi::Function::New<TfVersion>(env, "tfVersion"));
  exports.Set("allocAligned", Napi::Function::New<AllocAligned>(env, "allocAligned"));
  exports.Set("releaseAligned", Napi::Function::New<ReleaseAligned>(env, "releaseAligned"));
  exports.Set("addressOf", Napi::Function::New<AddressOf>(env, "addressOf"));
  exports.Set("stats", Napi::Function::New<Stats>(env, "stats"));
  exports.Set("opList", Napi::Function::New<OpList>(env, "opList"));
  exports.Set("shutdown", Napi::Function::New<Shutdown>(env, "shutdown"));
  exports.Set("loadSavedModel", Napi::Function::New<LoadSavedModel>(env, "loadSavedModel"));
  exports.Set("loadGraphDef", Napi::Function::New<LoadGraphDef>(env, "loadGraphDef"));
  exports.Set("setRunIo", Napi::Function::New<SetRunIo>(env, "setRunIo"));
  json::RegisterJsonCodec(env, exports);
  RegisterListenGuard(env, exports);
  RegisterProfiler(env, exports);
  return exports;
}

}  // namespace
}  // namespace jetserve

static Napi::Object InitJetserve(Napi::Env env, Napi::Object exports) { return jetserve::Init(env, exports); }

NODE_API_MODULE(jetserve_native, InitJetserve)
