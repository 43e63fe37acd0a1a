// One TF_SessionRun: the feeds and fetches converted on the JS thread, the run itself (on an
// executor thread or, for inline runs, on the JS thread), and its outputs back as JS tensors.
#pragma once

#include <napi.h>
#include <tensorflow/c/c_api.h>

#include <vector>

#include "cost_model.h"
#include "run_io.h"
#include "status.h"
#include "tensor.h"

namespace jetserve {

struct RunCall {
  std::vector<TF_Output> input_endpoints;
  std::vector<TensorPtr> inputs;
  std::vector<TF_Output> output_endpoints;
  std::vector<TensorPtr> outputs;  // filled by Execute
  Failure failure;                 // set by Execute when TF fails

  // Empties the call for reuse, keeping the vectors' capacity (the JS thread reuses one call for
  // every inline run: no allocation per run).
  void Clear();
  // Runs TF and records the wall time of TF_SessionRun in `cost` (when given). Any thread, no N-API.
  // The calling thread flushes denormals to zero for the duration, as TF's own threads do, so a
  // run gives the same bits wherever it executes.
  void Execute(TF_Session* session, CostSlot* cost, bool inline_run);
  // JS thread: the outputs as a flat [dtype, shape, data, …] array; takes them over.
  Napi::Array OutputsToJs(Napi::Env env);
  // JS thread, inline runs: when every output is numeric, at most OutputCopyLimit() bytes and all
  // fit the run buffer, writes them there (see run_io.h) and returns true; else leaves them alone.
  bool OutputsToRunIo(const RunIo& io);
};

}  // namespace jetserve
