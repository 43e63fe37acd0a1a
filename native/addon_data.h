// Per-environment state of the addon (one per Node main thread or worker): the executor (created
// on first use, one thread per core), the Session constructor, the run buffer shared with JS and
// the call object every inline run reuses.
#pragma once

#include <napi.h>

#include <memory>

#include "executor.h"
#include "run.h"
#include "run_io.h"

namespace jetserve {

struct AddonData {
  std::unique_ptr<Executor> executor;
  Napi::FunctionReference session_constructor;
  bool shutting_down = false;  // shutdown() ran: no new executor work
  RunIo run_io;
  RunCall inline_call;  // empty between runs (Session::Run clears it on every way out)

  static AddonData& Get(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }
  // The executor, created on first use; nullptr once it has stopped (shutdown() or env teardown),
  // when nothing may be submitted any more.
  Executor* RunningExecutor(Napi::Env env);
};

}  // namespace jetserve
