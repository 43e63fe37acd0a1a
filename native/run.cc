#include "run.h"

#include "counters.h"

#include <chrono>
#include <cstring>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace jetserve {

namespace {

// FTZ | DAZ in MXCSR for one scope, restoring the caller's mode after (the JS thread's must not
// change).
class FlushDenormals {
 public:
#if defined(__SSE__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned int saved_;
#endif
};

}  // namespace

// One TF_Status per thread, reset by every TF call that takes it: no allocation per run.
TF_Status* ThreadStatus() {
  thread_local StatusPtr status = NewStatus();
  return status.get();
}

void RunCall::Clear() {
  input_endpoints.clear();
  inputs.clear();
  output_endpoints.clear();
  outputs.clear();
  failure = Failure();
}

void RunCall::Execute(TF_Session* session, CostSlot* cost, bool inline_run) {
  // Up to kInline feeds and fetches live on the stack (the common case: no allocation).
  constexpr size_t kInline = 8;
  TF_Tensor* input_stack[kInline];
  TF_Tensor* output_stack[kInline] = {};
  std::vector<TF_Tensor*> input_heap;
  std::vector<TF_Tensor*> output_heap;
  TF_Tensor** input_values = input_stack;
  TF_Tensor** output_values = output_stack;
  if (inputs.size() > kInline) {
    input_heap.resize(inputs.size());
    input_values = input_heap.data();
  }
  if (output_endpoints.size() > kInline) {
    output_heap.assign(output_endpoints.size(), nullptr);
    output_values = output_heap.data();
  }
  for (size_t i = 0; i < inputs.size(); i++) input_values[i] = inputs[i].get();
  TF_Status* status = ThreadStatus();
  {
    FlushDenormals flush;
    const auto start = std::chrono::steady_clock::now();
    TF_SessionRun(session, nullptr, input_endpoints.data(), input_values, static_cast<int>(inputs.size()),
                  output_endpoints.data(), output_values, static_cast<int>(output_endpoints.size()), nullptr, 0,
                  nullptr, status);
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    if (cost != nullptr && TF_GetCode(status) == TF_OK) cost->Record(took.count(), inline_run);
  }
  inputs.clear();  // TF keeps what it still needs; adopted buffers drop our reference
  outputs.reserve(output_endpoints.size());
  for (size_t i = 0; i < output_endpoints.size(); i++) outputs.push_back(OwnTensor(output_values[i]));
  if (TF_GetCode(status) != TF_OK) failure = Failure::From(status);
}

Napi::Array RunCall::OutputsToJs(Napi::Env env) {
  Napi::Array results = Napi::Array::New(env, outputs.size() * 3);
  for (size_t i = 0; i < outputs.size(); i++) {
    TensorToJs(env, std::move(outputs[i]), results, static_cast<uint32_t>(i * 3));
  }
  outputs.clear();
  return results;
}

bool RunCall::OutputsToRunIo(const RunIo& io) {
  constexpr size_t kAlign = 16;  // every typed-array element size divides it
  const size_t limit = OutputCopyLimit();
  size_t slots = 0;
  size_t bytes = 0;
  for (const TensorPtr& tensor : outputs) {
    if (tensor == nullptr) return false;
    const TF_DataType dtype = TF_TensorType(tensor.get());
    if (dtype == TF_STRING || ElementSize(dtype) == 0) return false;
    const size_t size = TF_TensorByteSize(tensor.get());
    if (size > limit) return false;
    slots += 4 + static_cast<size_t>(TF_NumDims(tensor.get()));
    bytes += (size + kAlign - 1) / kAlign * kAlign;
  }
  if (slots > io.head_slots || bytes > io.data_bytes) return false;
  double* head = io.head;
  size_t offset = 0;
  int64_t copied = 0;
  for (const TensorPtr& tensor : outputs) {
    const int rank = TF_NumDims(tensor.get());
    const size_t size = TF_TensorByteSize(tensor.get());
    *head++ = static_cast<double>(TF_TensorType(tensor.get()));
    *head++ = rank;
    *head++ = static_cast<double>(offset);
    *head++ = static_cast<double>(size);
    for (int i = 0; i < rank; i++) *head++ = static_cast<double>(TF_Dim(tensor.get(), i));
    if (size > 0) std::memcpy(io.data + offset, TF_TensorData(tensor.get()), size);
    offset += (size + kAlign - 1) / kAlign * kAlign;
    copied += static_cast<int64_t>(size);
  }
  counters().bytes_copied_out += copied;
  outputs.clear();
  return true;
}

}  // namespace jetserve
