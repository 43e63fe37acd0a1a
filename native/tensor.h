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

// Converts one JS tensor object {dtype, shape, data} into a TF_Tensor. Runs on the JS thread.
// Numeric data in an aligned jetserve buffer is adopted without a copy; anything else is copied
// once into TF-allocated memory.
TensorPtr TensorFromJs(Napi::Env env, Napi::Value value, size_t index, Failure* failure);

// Converts a TF output tensor into a JS {dtype, shape, data} object, taking ownership of it.
Napi::Object TensorToJs(Napi::Env env, TensorPtr tensor);

// Bytes per element (complex counts both parts); 0 for strings / unsupported.
size_t ElementSize(TF_DataType dtype);

}  // namespace jetserve
