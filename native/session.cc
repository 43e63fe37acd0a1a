#include "session.h"

#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>

#include "addon_data.h"
#include "counters.h"
#include "run.h"
#include "status.h"
#include "tensor.h"

namespace jetserve {

// ---- LoadedModel -----------------------------------------------------------------------------

LoadedModel::~LoadedModel() {
  if (session != nullptr) {
    StatusPtr status = NewStatus();
    TF_CloseSession(session, status.get());
    TF_DeleteSession(session, status.get());
    counters().live_sessions--;
  }
}

int LoadedModel::Resolve(const std::string& tensor_name) {
  auto known = endpoint_by_name.find(tensor_name);
  if (known != endpoint_by_name.end()) return known->second;
  std::string op_name = tensor_name;
  int index = 0;
  const size_t colon = tensor_name.rfind(':');
  if (colon != std::string::npos) {
    op_name = tensor_name.substr(0, colon);
    try {
      index = std::stoi(tensor_name.substr(colon + 1));
    } catch (...) {
      return -1;
    }
  }
  TF_Operation* op = TF_GraphOperationByName(graph.get(), op_name.c_str());
  if (op == nullptr || index < 0 || index >= TF_OperationNumOutputs(op)) return -1;
  endpoints.push_back(TF_Output{op, index});
  const int endpoint = static_cast<int>(endpoints.size() - 1);
  endpoint_by_name[tensor_name] = endpoint;
  return endpoint;
}

namespace {

void ResolveSignatureEndpoints(LoadedModel* model) {
  for (auto& [key, signature] : model->signatures) {
    for (auto& [name, info] : signature.inputs) model->Resolve(info.name);
    for (auto& [name, info] : signature.outputs) model->Resolve(info.name);
  }
}

SessionOptionsPtr MakeSessionOptions(const std::string& config, Failure* failure) {
  SessionOptionsPtr options(TF_NewSessionOptions());
  if (!config.empty()) {
    StatusPtr status = NewStatus();
    TF_SetConfig(options.get(), config.data(), config.size(), status.get());
    if (TF_GetCode(status.get()) != TF_OK) *failure = Failure::From(status.get());
  }
  return options;
}

std::string BytesArg(const Napi::Value& value) {
  if (!value.IsTypedArray()) return std::string();
  Napi::TypedArray view = value.As<Napi::TypedArray>();
  return std::string(static_cast<const char*>(view.ArrayBuffer().Data()) + view.ByteOffset(), view.ByteLength());
}

std::vector<std::string> StringsArg(const Napi::Value& value) {
  std::vector<std::string> result;
  if (!value.IsArray()) return result;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) result.push_back(array.Get(i).ToString().Utf8Value());
  return result;
}

// ---- jobs ------------------------------------------------------------------------------------

class LoadJob : public Job {
 public:
  explicit LoadJob(Napi::Env env) : deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Complete(Napi::Env env) override {
    if (!failure_.ok()) {
      deferred_.Reject(MakeError(env, failure_).Value());
      return;
    }
    deferred_.Resolve(Session::NewInstance(env, std::move(model_)));
  }

 protected:
  Napi::Promise::Deferred deferred_;
  Failure failure_;
  std::unique_ptr<LoadedModel> model_;
};

class LoadSavedModelJob : public LoadJob {
 public:
  LoadSavedModelJob(Napi::Env env, std::string dir, std::vector<std::string> tags, std::string config)
      : LoadJob(env), dir_(std::move(dir)), tags_(std::move(tags)), config_(std::move(config)) {}

  void Execute() override {
    SessionOptionsPtr options = MakeSessionOptions(config_, &failure_);
    if (!failure_.ok()) return;
    auto model = std::make_unique<LoadedModel>();
    model->graph.reset(TF_NewGraph());
    BufferPtr meta_graph(TF_NewBuffer());
    std::vector<const char*> tags;
    for (const auto& tag : tags_) tags.push_back(tag.c_str());
    StatusPtr status = NewStatus();
    model->session = TF_LoadSessionFromSavedModel(options.get(), nullptr, dir_.c_str(), tags.data(),
                                                  static_cast<int>(tags.size()), model->graph.get(),
                                                  meta_graph.get(), status.get());
    if (TF_GetCode(status.get()) != TF_OK) {
      failure_ = Failure::From(status.get());
      model->session = nullptr;
      return;
    }
    counters().live_sessions++;
    std::string error;
    if (!ParseSignatures(static_cast<const uint8_t*>(meta_graph->data), meta_graph->length, &model->signatures,
                         &error)) {
      failure_ = Failure{TF_DATA_LOSS, dir_ + ": " + error};
      return;  // model's destructor closes the session
    }
    ResolveSignatureEndpoints(model.get());
    model_ = std::move(model);
  }

 private:
  std::string dir_;
  std::vector<std::string> tags_;
  std::string config_;
};

class LoadGraphDefJob : public LoadJob {
 public:
  LoadGraphDefJob(Napi::Env env, std::string path, std::vector<std::string> inputs, std::vector<std::string> outputs,
                  std::string config)
      : LoadJob(env),
        path_(std::move(path)),
        inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        config_(std::move(config)) {}

  void Execute() override {
    std::ifstream file(path_, std::ios::binary);
    if (!file) {
      failure_ = Failure{TF_NOT_FOUND, "cannot open GraphDef file " + path_};
      return;
    }
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    SessionOptionsPtr options = MakeSessionOptions(config_, &failure_);
    if (!failure_.ok()) return;
    auto model = std::make_unique<LoadedModel>();
    model->graph.reset(TF_NewGraph());
    BufferPtr graph_def(TF_NewBufferFromString(bytes.data(), bytes.size()));
    ImportOptionsPtr import_options(TF_NewImportGraphDefOptions());
    StatusPtr status = NewStatus();
    TF_GraphImportGraphDef(model->graph.get(), graph_def.get(), import_options.get(), status.get());
    if (TF_GetCode(status.get()) != TF_OK) {
      failure_ = Failure{TF_GetCode(status.get()), path_ + ": " + TF_Message(status.get())};
      return;
    }
    SignatureDesc signature;
    signature.method_name = "tensorflow/serving/predict";
    if (!Describe(model.get(), inputs_, &signature.inputs) || !Describe(model.get(), outputs_, &signature.outputs)) {
      return;
    }
    model->signatures["serving_default"] = std::move(signature);
    model->session = TF_NewSession(model->graph.get(), options.get(), status.get());
    if (TF_GetCode(status.get()) != TF_OK) {
      failure_ = Failure::From(status.get());
      model->session = nullptr;
      return;
    }
    counters().live_sessions++;
    model_ = std::move(model);
  }

 private:
  // Fills tensor descriptions (dtype and shape from the graph), keyed by the names given.
  bool Describe(LoadedModel* model, const std::vector<std::string>& names, std::map<std::string, TensorInfoDesc>* out) {
    for (const auto& name : names) {
      const int endpoint = model->Resolve(name);
      if (endpoint < 0) {
        failure_ = Failure{TF_NOT_FOUND, "tensor '" + name + "' is not in the graph " + path_};
        return false;
      }
      const TF_Output output = model->endpoints[endpoint];
      TensorInfoDesc info;
      info.name = name.find(':') == std::string::npos ? name + ":0" : name;
      info.dtype = TF_OperationOutputType(output);
      StatusPtr status = NewStatus();
      const int rank = TF_GraphGetTensorNumDims(model->graph.get(), output, status.get());
      info.unknown_rank = rank < 0;
      if (rank > 0) {
        info.dims.resize(rank);
        TF_GraphGetTensorShape(model->graph.get(), output, info.dims.data(), rank, status.get());
      }
      model->endpoint_by_name[info.name] = endpoint;
      (*out)[name] = std::move(info);
    }
    return true;
  }

  std::string path_;
  std::vector<std::string> inputs_;
  std::vector<std::string> outputs_;
  std::string config_;
};

class RunJob : public Job {
 public:
  RunJob(Napi::Env env, Session* owner, TF_Session* session, RunCall call, CostSlot* cost)
      : deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), session_(session), call_(std::move(call)), cost_(cost) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override { call_.Execute(session_, cost_, false); }

  void Complete(Napi::Env env) override {
    if (call_.failure.ok()) {
      try {
        deferred_.Resolve(call_.OutputsToJs(env));
      } catch (const Napi::Error& error) {
        deferred_.Reject(error.Value());
      }
    } else {
      deferred_.Reject(MakeError(env, call_.failure).Value());
    }
    call_.outputs.clear();
    owner_->RunSettled(env);
  }

 private:
  Napi::Promise::Deferred deferred_;
  Session* owner_;
  TF_Session* session_;
  RunCall call_;
  CostSlot* cost_;
};

class CloseJob : public Job {
 public:
  CloseJob(Session* owner, std::unique_ptr<LoadedModel> model) : owner_(owner), model_(std::move(model)) {}
  void Execute() override { model_.reset(); }
  void Complete(Napi::Env env) override { owner_->CloseSettled(env); }

 private:
  Session* owner_;
  std::unique_ptr<LoadedModel> model_;
};

Napi::Object DescribeTensors(Napi::Env env, const std::map<std::string, TensorInfoDesc>& tensors, LoadedModel* model) {
  Napi::Object result = Napi::Object::New(env);
  for (const auto& [key, info] : tensors) {
    Napi::Object tensor = Napi::Object::New(env);
    tensor.Set("name", info.name);
    tensor.Set("dtype", Napi::Number::New(env, info.dtype));
    if (info.unknown_rank) {
      tensor.Set("shape", env.Null());
    } else {
      Napi::Array dims = Napi::Array::New(env, info.dims.size());
      for (size_t i = 0; i < info.dims.size(); i++) dims.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(info.dims[i])));
      tensor.Set("shape", dims);
    }
    auto endpoint = model->endpoint_by_name.find(info.name);
    tensor.Set("endpoint", Napi::Number::New(env, endpoint == model->endpoint_by_name.end() ? -1 : endpoint->second));
    result.Set(key, tensor);
  }
  return result;
}

Failure ShuttingDown() { return Failure{TF_UNAVAILABLE, "jetserve is shutting down (the process is exiting)"}; }

Napi::Value RejectWith(Napi::Env env, const Failure& failure) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(MakeError(env, failure).Value());
  return deferred.Promise();
}

}  // namespace

// ---- Session ---------------------------------------------------------------------------------

Napi::Function Session::Define(Napi::Env env) {
  return DefineClass(env, "NativeSession",
                     {
                         InstanceMethod<&Session::Signatures>("signatures"),
                         InstanceMethod<&Session::Run>("run"),
                         InstanceMethod<&Session::CostStats>("costStats"),
                         InstanceMethod<&Session::GraphDef>("graphDef"),
                         InstanceMethod<&Session::DeviceTypes>("deviceTypes"),
                         InstanceMethod<&Session::ResetCostStats>("resetCostStats"),
                         InstanceMethod<&Session::Close>("close"),
                         InstanceAccessor<&Session::InFlight>("inFlight"),
                     });
}

Napi::Object Session::NewInstance(Napi::Env env, std::unique_ptr<LoadedModel> model) {
  auto external = Napi::External<LoadedModel>::New(env, model.release());
  return AddonData::Get(env).session_constructor.New({external});
}

Session::Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    NAPI_THROW_VOID(Napi::TypeError::New(info.Env(), "NativeSession is created by loadSavedModel/loadGraphDef"));
  }
  model_.reset(info[0].As<Napi::External<LoadedModel>>().Data());
  costs_ = std::make_unique<CostModel>(std::max<size_t>(1, model_->signatures.size()));
}

Session::~Session() = default;  // an unclosed session is closed by LoadedModel's destructor

Napi::Value Session::Signatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) return Napi::Object::New(env);
  Napi::Object result = Napi::Object::New(env);
  for (const auto& [key, signature] : model_->signatures) {
    Napi::Object sig = Napi::Object::New(env);
    sig.Set("methodName", signature.method_name);
    sig.Set("inputs", DescribeTensors(env, signature.inputs, model_.get()));
    sig.Set("outputs", DescribeTensors(env, signature.outputs, model_.get()));
    result.Set(key, sig);
  }
  return result;
}

namespace {

// Reads the integers JS wrote into the run buffer's head, refusing anything out of range.
class HeadReader {
 public:
  explicit HeadReader(const RunIo& io) : head_(io.head), size_(io.head_slots) {}
  bool Next(int64_t min, int64_t max, int64_t* out) {
    if (at_ >= size_) return false;
    const double v = head_[at_++];
    if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max)) || v != static_cast<double>(static_cast<int64_t>(v))) {
      return false;
    }
    *out = static_cast<int64_t>(v);
    return true;
  }
  double NextDouble() { return at_ < size_ ? head_[at_++] : 0; }

 private:
  const double* head_;
  size_t size_;
  size_t at_ = 0;
};

// Empties a call on every way out of Session::Run, so the reused inline call never keeps tensors
// (and the buffers they adopted) alive between runs.
struct ClearOnExit {
  RunCall* call;
  ~ClearOnExit() {
    if (call != nullptr) call->Clear();
  }
};

Failure BadRunBuffer(const char* what) {
  return Failure::Invalid(std::string("run buffer: ") + what + " (the call is written by src/engine/run-io.ts)");
}

}  // namespace

// run(inputData[]): the rest of the call is in the run buffer's head (native/run_io.h): slot,
// placement, the input endpoints with each input's dtype and dims, the output endpoints.
// placement -1 runs inline always (runSync), 0 always on the executor, n > 0 inline when the
// slot's estimate is below n µs and no run of this session is on the executor. Returns, when it
// ran inline, undefined with the outputs in the run buffer, or the flat [dtype, shape, data, …]
// outputs when they do not fit there (strings, large or many outputs); else a promise of the flat
// outputs. TF's errors and malformed arguments throw.
Napi::Value Session::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closing_ || !model_) NAPI_THROW(MakeError(env, Failure{TF_FAILED_PRECONDITION, "session is closed"}), Napi::Value());
  AddonData& addon = AddonData::Get(env);
  const RunIo& io = addon.run_io;
  if (info.Length() != 1 || !info[0].IsArray() || io.head == nullptr) {
    NAPI_THROW(MakeError(env, Failure::Invalid("run(inputData[]) expected, with the call in the run buffer")), Napi::Value());
  }
  Napi::Array input_data = info[0].As<Napi::Array>();
  HeadReader head(io);
  constexpr int64_t kMaxCount = 1 << 20;
  int64_t slot = 0;
  int64_t input_count = 0;
  int64_t output_count = 0;
  if (!head.Next(-1, INT32_MAX, &slot)) NAPI_THROW(MakeError(env, BadRunBuffer("bad cost slot")), Napi::Value());
  const double placement = head.NextDouble();
  if (!head.Next(0, kMaxCount, &input_count) || !head.Next(0, kMaxCount, &output_count) ||
      input_data.Length() != static_cast<uint32_t>(input_count)) {
    NAPI_THROW(MakeError(env, BadRunBuffer("input and output counts do not match the data given")), Napi::Value());
  }
  CostSlot* cost = costs_->slot(slot);
  bool run_inline = placement < 0;
  if (placement > 0 && in_flight_ == 0 && cost != nullptr) {
    const double estimate = cost->estimate();
    run_inline = estimate >= 0 && estimate < placement;
  }

  RunCall offloaded;
  RunCall* call = run_inline ? &addon.inline_call : &offloaded;
  ClearOnExit clear{run_inline ? call : nullptr};
  const int64_t endpoint_max = static_cast<int64_t>(model_->endpoints.size()) - 1;
  call->input_endpoints.reserve(static_cast<size_t>(input_count));
  call->inputs.reserve(static_cast<size_t>(input_count));
  constexpr int kMaxRank = 254;  // TF's TensorShape limit
  int64_t dims[kMaxRank];
  for (int64_t i = 0; i < input_count; i++) {
    int64_t endpoint = 0;
    if (!head.Next(0, INT64_MAX, &endpoint) || endpoint > endpoint_max) {
      NAPI_THROW(MakeError(env, Failure{TF_FAILED_PRECONDITION, "input #" + std::to_string(i) + " is not a tensor of this graph"}),
                 Napi::Value());
    }
    int64_t dtype = 0;
    int64_t rank = 0;
    if (!head.Next(0, INT32_MAX, &dtype)) {
      NAPI_THROW(MakeError(env, Failure::Invalid("input #" + std::to_string(i) + ": dtype must be a TF DataType number")),
                 Napi::Value());
    }
    if (!head.Next(0, kMaxRank, &rank)) NAPI_THROW(MakeError(env, BadRunBuffer("bad rank")), Napi::Value());
    for (int64_t d = 0; d < rank; d++) {
      if (!head.Next(0, INT64_MAX, &dims[d])) {
        NAPI_THROW(MakeError(env, Failure::Invalid("input #" + std::to_string(i) + ": shape dimension " + std::to_string(d) +
                                                   " must be a non-negative integer")),
                   Napi::Value());
      }
    }
    call->input_endpoints.push_back(model_->endpoints[static_cast<size_t>(endpoint)]);
    Failure failure;
    TensorPtr tensor = TensorFromJs(env, static_cast<TF_DataType>(dtype), dims, static_cast<int>(rank),
                                    input_data.Get(static_cast<uint32_t>(i)), static_cast<size_t>(i), &failure);
    if (!failure.ok()) NAPI_THROW(MakeError(env, failure), Napi::Value());
    call->inputs.push_back(std::move(tensor));
  }
  call->output_endpoints.reserve(static_cast<size_t>(output_count));
  for (int64_t i = 0; i < output_count; i++) {
    int64_t endpoint = 0;
    if (!head.Next(0, INT64_MAX, &endpoint) || endpoint > endpoint_max) {
      NAPI_THROW(MakeError(env, Failure{TF_FAILED_PRECONDITION, "output #" + std::to_string(i) + " is not a tensor of this graph"}),
                 Napi::Value());
    }
    call->output_endpoints.push_back(model_->endpoints[static_cast<size_t>(endpoint)]);
  }

  if (run_inline) {
    call->Execute(model_->session, cost, true);
    if (!call->failure.ok()) NAPI_THROW(MakeError(env, call->failure), Napi::Value());
    if (call->OutputsToRunIo(io)) return env.Undefined();
    return call->OutputsToJs(env);
  }
  Executor* executor = addon.RunningExecutor(env);
  if (executor == nullptr) NAPI_THROW(MakeError(env, ShuttingDown()), Napi::Value());
  auto job = std::make_unique<RunJob>(env, this, model_->session, std::move(offloaded), cost);
  Napi::Promise promise = job->promise();
  in_flight_++;
  Ref();  // the JS object (and so this Session) stays alive while the run is out
  executor->Submit(std::move(job));
  return promise;
}

// The session's graph as a serialized GraphDef (its function library included): the engine reads
// which ops a signature reaches before it runs the signature on made-up inputs.
Napi::Value Session::GraphDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_ || !model_->graph) NAPI_THROW(Napi::Error::New(env, "graphDef: the session is closed"), Napi::Value());
  BufferPtr buffer(TF_NewBuffer());
  StatusPtr status = NewStatus();
  TF_GraphToGraphDef(model_->graph.get(), buffer.get(), status.get());
  if (TF_GetCode(status.get()) != TF_OK) {
    NAPI_THROW(MakeError(env, Failure::From(status.get())), Napi::Value());
  }
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(buffer->data), buffer->length);
}

// The type of each device the session can place ops on ("CPU", "GPU", …): the engine offers
// TF's single-threaded executor only to sessions without accelerators, whose graphs TF never
// partitions into send/receive pairs (which that executor cannot run).
Napi::Value Session::DeviceTypes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_ || !model_->session) NAPI_THROW(Napi::Error::New(env, "deviceTypes: the session is closed"), Napi::Value());
  StatusPtr status = NewStatus();
  DeviceListPtr devices(TF_SessionListDevices(model_->session, status.get()));
  if (TF_GetCode(status.get()) != TF_OK) {
    NAPI_THROW(MakeError(env, Failure::From(status.get())), Napi::Value());
  }
  const int count = TF_DeviceListCount(devices.get());
  Napi::Array types = Napi::Array::New(env, count);
  for (int i = 0; i < count; i++) {
    const char* type = TF_DeviceListType(devices.get(), i, status.get());
    if (TF_GetCode(status.get()) != TF_OK) {
      NAPI_THROW(MakeError(env, Failure::From(status.get())), Napi::Value());
    }
    types.Set(static_cast<uint32_t>(i), Napi::String::New(env, type));
  }
  return types;
}

// Forgets every measured cost. Run jobs point into the cost model, so only while none is in flight.
Napi::Value Session::ResetCostStats(const Napi::CallbackInfo& info) {
  if (in_flight_ > 0) NAPI_THROW(Napi::Error::New(info.Env(), "resetCostStats: runs are in flight"), Napi::Value());
  costs_ = std::make_unique<CostModel>(costs_->size() / CostModel::kBatchBuckets);
  return info.Env().Undefined();
}

// [{slot, runs, inlineRuns, offloadedRuns, ewmaMicros, p99Micros, lastMicros, maxMicros,
//   estimateMicros}] for every slot that has run.
Napi::Value Session::CostStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array result = Napi::Array::New(env);
  uint32_t n = 0;
  for (size_t i = 0; i < costs_->size(); i++) {
    const CostSlot::Snapshot s = costs_->slot(static_cast<int64_t>(i))->Read();
    if (s.runs == 0) continue;
    Napi::Object o = Napi::Object::New(env);
    auto set = [&](const char* key, double value) { o.Set(key, Napi::Number::New(env, value)); };
    set("slot", static_cast<double>(i));
    set("runs", static_cast<double>(s.runs));
    set("inlineRuns", static_cast<double>(s.inline_runs));
    set("offloadedRuns", static_cast<double>(s.offloaded_runs));
    set("ewmaMicros", s.ewma);
    set("p99Micros", s.p99);
    set("lastMicros", s.last);
    set("maxMicros", s.max);
    set("estimateMicros", s.estimate);
    result.Set(n++, o);
  }
  return result;
}

void Session::RunSettled(Napi::Env env) {
  in_flight_--;
  Unref();
  if (closing_ && in_flight_ == 0 && model_) StartClose(env);
}

Napi::Value Session::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (closed_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  close_waiters_.push_back(deferred);
  if (!closing_) {
    closing_ = true;
    if (in_flight_ == 0) StartClose(env);
  }
  return deferred.Promise();
}

void Session::StartClose(Napi::Env env) {
  Ref();
  auto job = std::make_unique<CloseJob>(this, std::move(model_));
  Executor* executor = AddonData::Get(env).RunningExecutor(env);
  if (executor == nullptr) {
    // The executor has stopped (process exit): no run is out any more, close right here.
    job->Execute();
    job->Complete(env);
    return;
  }
  executor->SubmitDedicated(std::move(job));
}

void Session::CloseSettled(Napi::Env env) {
  closed_ = true;
  for (auto& waiter : close_waiters_) waiter.Resolve(env.Undefined());
  close_waiters_.clear();
  Unref();
}

Napi::Value Session::InFlight(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), in_flight_); }

// ---- loaders ---------------------------------------------------------------------------------

Napi::Value LoadSavedModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    return RejectWith(env, Failure::Invalid("loadSavedModel(dir, tags, config): dir must be a string"));
  }
  std::vector<std::string> tags = StringsArg(info[1]);
  if (tags.empty()) tags.push_back("serve");
  auto job = std::make_unique<LoadSavedModelJob>(env, info[0].As<Napi::String>().Utf8Value(), std::move(tags), BytesArg(info[2]));
  Executor* executor = AddonData::Get(env).RunningExecutor(env);
  if (executor == nullptr) return RejectWith(env, ShuttingDown());
  Napi::Promise promise = job->promise();
  executor->SubmitDedicated(std::move(job));
  return promise;
}

Napi::Value LoadGraphDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString()) {
    return RejectWith(env, Failure::Invalid("loadGraphDef(path, inputs, outputs, config): path must be a string"));
  }
  auto job = std::make_unique<LoadGraphDefJob>(env, info[0].As<Napi::String>().Utf8Value(), StringsArg(info[1]),
                                               StringsArg(info[2]), BytesArg(info[3]));
  Executor* executor = AddonData::Get(env).RunningExecutor(env);
  if (executor == nullptr) return RejectWith(env, ShuttingDown());
  Napi::Promise promise = job->promise();
  executor->SubmitDedicated(std::move(job));
  return promise;
}

}  // namespace jetserve
