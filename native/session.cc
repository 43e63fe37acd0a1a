#include "session.h"

#include <fstream>
#include <iterator>
#include <sstream>

#include "addon_data.h"
#include "counters.h"
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
  RunJob(Napi::Env env, Session* owner, TF_Session* session) : deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), session_(session) {}

  Napi::Promise::Deferred deferred_;
  std::vector<TF_Output> input_endpoints;
  std::vector<TensorPtr> inputs;
  std::vector<TF_Output> output_endpoints;

  void Execute() override {
    std::vector<TF_Tensor*> input_values(inputs.size());
    for (size_t i = 0; i < inputs.size(); i++) input_values[i] = inputs[i].get();
    std::vector<TF_Tensor*> output_values(output_endpoints.size(), nullptr);
    StatusPtr status = NewStatus();
    TF_SessionRun(session_, nullptr, input_endpoints.data(), input_values.data(), static_cast<int>(inputs.size()),
                  output_endpoints.data(), output_values.data(), static_cast<int>(output_endpoints.size()), nullptr, 0,
                  nullptr, status.get());
    inputs.clear();  // TF keeps what it still needs; adopted buffers drop our reference
    outputs_.reserve(output_values.size());
    for (TF_Tensor* t : output_values) outputs_.push_back(OwnTensor(t));
    if (TF_GetCode(status.get()) != TF_OK) failure_ = Failure::From(status.get());
  }

  void Complete(Napi::Env env) override {
    if (failure_.ok()) {
      try {
        Napi::Array results = Napi::Array::New(env, outputs_.size());
        for (size_t i = 0; i < outputs_.size(); i++) {
          results.Set(static_cast<uint32_t>(i), TensorToJs(env, std::move(outputs_[i])));
        }
        deferred_.Resolve(results);
      } catch (const Napi::Error& error) {
        deferred_.Reject(error.Value());
      }
    } else {
      deferred_.Reject(MakeError(env, failure_).Value());
    }
    outputs_.clear();
    owner_->RunSettled(env);
  }

 private:
  Session* owner_;
  TF_Session* session_;
  std::vector<TensorPtr> outputs_;
  Failure failure_;
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

Napi::Value Session::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closing_ || !model_) return RejectWith(env, Failure{TF_FAILED_PRECONDITION, "session is closed"});
  if (info.Length() != 3 || !info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray()) {
    return RejectWith(env, Failure::Invalid("run(inputEndpoints[], inputs[], outputEndpoints[]) expected"));
  }
  Napi::Array input_endpoints = info[0].As<Napi::Array>();
  Napi::Array inputs = info[1].As<Napi::Array>();
  Napi::Array output_endpoints = info[2].As<Napi::Array>();
  if (input_endpoints.Length() != inputs.Length()) {
    return RejectWith(env, Failure::Invalid("inputEndpoints and inputs differ in length"));
  }
  auto endpoint_at = [&](Napi::Array array, uint32_t i, TF_Output* out) {
    Napi::Value v = array.Get(i);
    const int64_t index = v.IsNumber() ? v.As<Napi::Number>().Int64Value() : -1;
    if (index < 0 || index >= static_cast<int64_t>(model_->endpoints.size())) return false;
    *out = model_->endpoints[static_cast<size_t>(index)];
    return true;
  };

  auto job = std::make_unique<RunJob>(env, this, model_->session);
  job->input_endpoints.resize(inputs.Length());
  job->inputs.reserve(inputs.Length());
  for (uint32_t i = 0; i < inputs.Length(); i++) {
    if (!endpoint_at(input_endpoints, i, &job->input_endpoints[i])) {
      return RejectWith(env, Failure{TF_FAILED_PRECONDITION, "input #" + std::to_string(i) + " is not a tensor of this graph"});
    }
    Failure failure;
    TensorPtr tensor = TensorFromJs(env, inputs.Get(i), i, &failure);
    if (!failure.ok()) return RejectWith(env, failure);
    job->inputs.push_back(std::move(tensor));
  }
  job->output_endpoints.resize(output_endpoints.Length());
  for (uint32_t i = 0; i < output_endpoints.Length(); i++) {
    if (!endpoint_at(output_endpoints, i, &job->output_endpoints[i])) {
      return RejectWith(env, Failure{TF_FAILED_PRECONDITION, "output #" + std::to_string(i) + " is not a tensor of this graph"});
    }
  }
  Napi::Promise promise = job->deferred_.Promise();
  in_flight_++;
  Ref();  // the JS object (and so this Session) stays alive while the run is out
  AddonData::Get(env).GetExecutor(env).Submit(std::move(job));
  return promise;
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
  AddonData::Get(env).GetExecutor(env).SubmitDedicated(std::make_unique<CloseJob>(this, std::move(model_)));
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
  Napi::Promise promise = job->promise();
  AddonData::Get(env).GetExecutor(env).SubmitDedicated(std::move(job));
  return promise;
}

Napi::Value LoadGraphDef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString()) {
    return RejectWith(env, Failure::Invalid("loadGraphDef(path, inputs, outputs, config): path must be a string"));
  }
  auto job = std::make_unique<LoadGraphDefJob>(env, info[0].As<Napi::String>().Utf8Value(), StringsArg(info[1]),
                                               StringsArg(info[2]), BytesArg(info[3]));
  Napi::Promise promise = job->promise();
  AddonData::Get(env).GetExecutor(env).SubmitDedicated(std::move(job));
  return promise;
}

}  // namespace jetserve
