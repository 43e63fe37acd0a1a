// Tensors across the JS/TF boundary.
//
// SharedBuffer: one refcounted piece of memory that a JS ArrayBuffer and any number of TF_Tensors
// may hold at once — either a 64-byte aligned block from allocAligned() or the buffer of a TF
// output tensor. The JS finalizer and TF's deallocator each drop one reference; the memory goes
// when the last does. Refcounts are atomic because TF calls deallocators on its own threads;
// no N-API call ever happens there.
//
// The registry maps each live JS-visible buffer's data pointer to its SharedBuffer, so a typed
// array passed as input is recognised as ours (→ TF adopts it without copying) and V8 never sees
// two external ArrayBuffers over the same memory.
#pragma once

#include <napi.h>
#include <tensorflow/c/c_api.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "status.h"

namespace jetserve {

constexpr size_t kAlignment = 64;

class SharedBuffer {
 public:
  static SharedBuffer* NewAligned(size_t size);        // refs = 1
  static SharedBuffer* AdoptTensor(TF_Tensor* tensor);  // refs = 1, owns the tensor
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref();
  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  SharedBuffer() = default;
  ~SharedBuffer();
  std::atomic<int> refs_{1};
  void* data_ = nullptr;
  size_t size_ = 0;
  TF_Tensor* tensor_ = nullptr;  // set when the memory belongs to a TF tensor
};

// Wraps a SharedBuffer as a JS ArrayBuffer (taking over one reference) and registers it.
// Falls back to a copy when the memory is already exposed to JS or externals are not allowed.
Napi::ArrayBuffer ExposeToJs(Napi::Env env, SharedBuffer* buffer);

// Owner of a TF_Tensor created or received by the addon (keeps the live-tensor counter true).
struct TensorDeleter {
  void operator()(TF_Tensor* t) const;
};
using TensorPtr = std::unique_ptr<TF_Tensor, TensorDeleter>;
TensorPtr OwnTensor(TF_Tensor* t);

// Converts one JS tensor (TF dtype, dims — read from the run buffer by the caller — and its data)
// into a TF_Tensor. Runs on the JS thread. Numeric data in an aligned jetserve buffer is adopted
// without a copy; anything else is copied once into TF-allocated memory.
TensorPtr TensorFromJs(Napi::Env env, TF_DataType dtype, const int64_t* dims, int rank, Napi::Value data, size_t index,
                       Failure* failure);

// Writes a TF output tensor as dtype number, shape array and data into out[at..at+2], taking
// ownership of it. Numeric outputs larger than OutputCopyLimit() bytes stay in TF's memory (an
// external ArrayBuffer that owns the tensor); smaller ones are copied into a V8-owned ArrayBuffer.
void TensorToJs(Napi::Env env, TensorPtr tensor, Napi::Array out, uint32_t at);

// Outputs up to this many bytes are copied: creating an external ArrayBuffer (registry entry,
// backing store with a deleter, external-memory accounting) and finalizing it later costs more
// than copying a kilobyte (src/engine/README.md has the numbers). JETSERVE_COPY_OUTPUTS_UP_TO
// (bytes) overrides it; 0 keeps every output zero-copy.
constexpr size_t kCopyOutputsUpTo = 1024;
size_t OutputCopyLimit();

// Bytes per element (complex counts both parts); 0 for strings / unsupported.
size_t ElementSize(TF_DataType dtype);

}  // namespace jetserve
