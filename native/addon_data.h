// Per-environment state of the addon (one per Node main thread or worker): the executor and the
// Session constructor. Created on first use so setExecutorThreads() can run before.
#pragma once

#include <napi.h>

#include <memory>

#include "executor.h"

namespace jetserve {

struct AddonData {
  std::unique_ptr<Executor> executor;
  Napi::FunctionReference session_constructor;
  size_t executor_threads = 0;  // 0 = one per CPU

  static AddonData& Get(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }
  Executor& GetExecutor(Napi::Env env);
};

}  // namespace jetserve
