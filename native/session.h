// Session: the JS-visible owner of one TF_Session and its TF_Graph (from a SavedModel or a frozen
// GraphDef), with signatures parsed and their endpoints resolved to TF_Outputs once at load.
// run() converts inputs on the JS thread and places the TF_SessionRun by the placement policy:
// inline on the JS thread (returning the outputs) when its cost slot's estimate is below the
// caller's threshold and no run of this session is on the executor, else on the executor
// (returning a promise). close() waits for in-flight runs before closing and deleting the session.
#pragma once

#include <napi.h>
#include <tensorflow/c/c_api.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cost_model.h"
#include "metagraph.h"
#include "tf_owners.h"

namespace jetserve {

class Executor;

// Everything a load produces; owned by exactly one Session (or by the load job until then).
struct LoadedModel {
  TF_Session* session = nullptr;
  GraphPtr graph;
  std::map<std::string, SignatureDesc> signatures;
  std::vector<TF_Output> endpoints;              // resolved signature tensors
  std::map<std::string, int> endpoint_by_name;   // "op:index" -> endpoints[i]
  ~LoadedModel();                                // closes and deletes the session if still open
  // Resolves a "op" or "op:index" name against the graph, remembering it; -1 when absent.
  int Resolve(const std::string& tensor_name);
};

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, std::unique_ptr<LoadedModel> model);

  explicit Session(const Napi::CallbackInfo& info);
  ~Session() override;

  // Called by a run job on the JS thread when it settles.
  void RunSettled(Napi::Env env);
  // Called by the close job on the JS thread.
  void CloseSettled(Napi::Env env);

 private:
  Napi::Value Signatures(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value CostStats(const Napi::CallbackInfo& info);
  Napi::Value GraphDef(const Napi::CallbackInfo& info);
  Napi::Value DeviceTypes(const Napi::CallbackInfo& info);
  Napi::Value ResetCostStats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value InFlight(const Napi::CallbackInfo& info);
  void StartClose(Napi::Env env);

  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<CostModel> costs_;
  int in_flight_ = 0;
  bool closing_ = false;
  bool closed_ = false;
  std::vector<Napi::Promise::Deferred> close_waiters_;
};

// Promise-returning loaders exported by the addon.
Napi::Value LoadSavedModel(const Napi::CallbackInfo& info);
Napi::Value LoadGraphDef(const Napi::CallbackInfo& info);

}  // namespace jetserve
