#include "tensor.h"

#include <tensorflow/c/tf_tstring.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "counters.h"

namespace jetserve {

Counters& counters() {
  static Counters instance;
  return instance;
}

// ---- SharedBuffer ---------------------------------------------------------------------------

SharedBuffer* SharedBuffer::NewAligned(size_t size) {
  size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded);
  if (data == nullptr) return nullptr;
  std::memset(data, 0, rounded);
  auto* buffer = new SharedBuffer();
  buffer->data_ = data;
  buffer->size_ = size;
  counters().live_blocks++;
  return buffer;
}

SharedBuffer* SharedBuffer::AdoptTensor(TF_Tensor* tensor) {
  auto* buffer = new SharedBuffer();
  buffer->tensor_ = tensor;
  buffer->data_ = TF_TensorData(tensor);
  buffer->size_ = TF_TensorByteSize(tensor);
  counters().live_blocks++;
  return buffer;
}

void SharedBuffer::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

SharedBuffer::~SharedBuffer() {
  if (tensor_ != nullptr) {
    TensorDeleter()(tensor_);
  } else {
    std::free(data_);
  }
  counters().live_blocks--;
}

// ---- registry of buffers visible to JS ------------------------------------------------------

namespace {

std::mutex registry_mutex;
std::unordered_map<const void*, SharedBuffer*>& registry() {
  static std::unordered_map<const void*, SharedBuffer*> map;
  return map;
}

// Returns the SharedBuffer behind a JS ArrayBuffer's data pointer, with a new reference, or null.
SharedBuffer* LookupAndRef(const void* base) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().find(base);
  if (it == registry().end()) return nullptr;
  it->second->Ref();
  return it->second;
}

void FinalizeExposed(napi_env /*env*/, void* data, void* hint) {
  auto* buffer = static_cast<SharedBuffer*>(hint);
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry().erase(data);
  }
  buffer->Unref();
}

// TF deallocator for adopted SharedBuffers: only drops a reference (runs on TF threads).
void ReleaseShared(void* /*data*/, size_t /*len*/, void* arg) { static_cast<SharedBuffer*>(arg)->Unref(); }

}  // namespace

Napi::ArrayBuffer ExposeToJs(Napi::Env env, SharedBuffer* buffer) {
  const size_t size = buffer->size();
  bool fresh = false;
  if (size > 0) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    fresh = registry().emplace(buffer->data(), buffer).second;
  }
  if (fresh) {
    napi_value value;
    napi_status status =
        napi_create_external_arraybuffer(env, buffer->data(), size, FinalizeExposed, buffer, &value);
    if (status == napi_ok) {
      // No napi_adjust_external_memory here: V8 already counts an ArrayBuffer's backing store in
      // its GC heuristics. Telling it again made the memory count twice and pushed V8's
      // external-memory limit into a major GC every ~13 requests of 262,144 floats (87 → 55
      // Mark-Compacts per 8 s of bench:rest's largest row; peak RSS about the same).
      return Napi::ArrayBuffer(env, value);
    }
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry().erase(buffer->data());
  }
  // Empty, already exposed (TF returned memory JS can already see), or externals not allowed.
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, size);
  if (size > 0) std::memcpy(copy.Data(), buffer->data(), size);
  counters().bytes_copied_out += static_cast<int64_t>(size);
  buffer->Unref();
  return copy;
}

// ---- TF_Tensor ownership --------------------------------------------------------------------

void TensorDeleter::operator()(TF_Tensor* t) const {
  if (t == nullptr) return;
  TF_DeleteTensor(t);
  counters().live_tensors--;
}

TensorPtr OwnTensor(TF_Tensor* t) {
  if (t != nullptr) counters().live_tensors++;
  return TensorPtr(t);
}

size_t ElementSize(TF_DataType dtype) {
  switch (dtype) {
    case TF_FLOAT:
    case TF_INT32:
    case TF_UINT32:
      return 4;
    case TF_DOUBLE:
    case TF_INT64:
    case TF_UINT64:
    case TF_COMPLEX64:
      return 8;
    case TF_COMPLEX128:
      return 16;
    case TF_HALF:
    case TF_BFLOAT16:
    case TF_INT16:
    case TF_UINT16:
      return 2;
    case TF_INT8:
    case TF_UINT8:
    case TF_BOOL:
      return 1;
    default:
      return 0;
  }
}

namespace {

napi_typedarray_type TypedArrayTypeOf(TF_DataType dtype, size_t* component_size) {
  switch (dtype) {
    case TF_FLOAT:
    case TF_COMPLEX64:
      *component_size = 4;
      return napi_float32_array;
    case TF_DOUBLE:
    case TF_COMPLEX128:
      *component_size = 8;
      return napi_float64_array;
    case TF_INT8:
      *component_size = 1;
      return napi_int8_array;
    case TF_INT16:
      *component_size = 2;
      return napi_int16_array;
    case TF_INT32:
      *component_size = 4;
      return napi_int32_array;
    case TF_INT64:
      *component_size = 8;
      return napi_bigint64_array;
    case TF_UINT16:
    case TF_HALF:
    case TF_BFLOAT16:
      *component_size = 2;
      return napi_uint16_array;
    case TF_UINT32:
      *component_size = 4;
      return napi_uint32_array;
    case TF_UINT64:
      *component_size = 8;
      return napi_biguint64_array;
    default:  // TF_UINT8, TF_BOOL
      *component_size = 1;
      return napi_uint8_array;
  }
}

size_t TypedArrayElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:  // as node-addon-api's TypedArray::ElementSize(): the data is refused as mismatched
      return 0;
  }
}

std::string InputName(size_t index) { return "input #" + std::to_string(index); }

TensorPtr StringTensorFromJs(const int64_t* dims, int rank, int64_t count, Napi::Value data, size_t index,
                             Failure* failure) {
  if (!data.IsArray() || data.As<Napi::Array>().Length() != static_cast<uint32_t>(count)) {
    *failure = Failure::Invalid(InputName(index) + ": string tensor data must be an array of " +
                                std::to_string(count) + " byte strings");
    return nullptr;
  }
  Napi::Array items = data.As<Napi::Array>();
  TensorPtr tensor =
      OwnTensor(TF_AllocateTensor(TF_STRING, dims, rank, static_cast<size_t>(count) * sizeof(TF_TString)));
  auto* strings = static_cast<TF_TString*>(TF_TensorData(tensor.get()));
  // Every element is initialised first so deleting a half-filled tensor is safe.
  for (int64_t i = 0; i < count; i++) TF_StringInit(&strings[i]);
  int64_t copied = 0;
  for (int64_t i = 0; i < count; i++) {
    Napi::Value item = items.Get(static_cast<uint32_t>(i));
    if (item.IsTypedArray()) {
      Napi::TypedArray view = item.As<Napi::TypedArray>();
      const char* bytes = static_cast<const char*>(view.ArrayBuffer().Data()) + view.ByteOffset();
      TF_StringCopy(&strings[i], bytes, view.ByteLength());
      copied += static_cast<int64_t>(view.ByteLength());
    } else if (item.IsString()) {
      std::string utf8 = item.As<Napi::String>().Utf8Value();
      TF_StringCopy(&strings[i], utf8.data(), utf8.size());
      copied += static_cast<int64_t>(utf8.size());
    } else {
      *failure = Failure::Invalid(InputName(index) + ": string element " + std::to_string(i) +
                                  " must be a Uint8Array or string");
      return nullptr;
    }
  }
  counters().bytes_copied_in += copied;
  return tensor;
}

}  // namespace

TensorPtr TensorFromJs(Napi::Env env, TF_DataType dtype, const int64_t* dims, int rank, Napi::Value data, size_t index,
                       Failure* failure) {
  int64_t count = 1;
  for (int i = 0; i < rank; i++) count *= dims[i];
  if (dtype == TF_STRING) return StringTensorFromJs(dims, rank, count, data, index, failure);

  const size_t element_size = ElementSize(dtype);
  if (element_size == 0) {
    *failure = Failure{TF_UNIMPLEMENTED, InputName(index) + ": unsupported dtype " + std::to_string(dtype)};
    return nullptr;
  }
  // One napi_get_typedarray_info for everything: node-addon-api's accessors each make their own.
  napi_typedarray_type type = napi_uint8_array;
  size_t length = 0;
  void* view_data = nullptr;
  napi_value array_buffer;
  size_t byte_offset = 0;
  if (!data.IsTypedArray() ||
      napi_get_typedarray_info(env, data, &type, &length, &view_data, &array_buffer, &byte_offset) != napi_ok) {
    *failure = Failure::Invalid(InputName(index) + ": numeric data must be a typed array");
    return nullptr;
  }
  const size_t byte_length = length * TypedArrayElementSize(type);
  const size_t expected = static_cast<size_t>(count) * element_size;
  if (byte_length != expected) {
    *failure = Failure::Invalid(InputName(index) + ": data has " + std::to_string(byte_length) +
                                " bytes but the shape needs " + std::to_string(expected));
    return nullptr;
  }
  char* bytes = static_cast<char*>(view_data);

  if (expected > 0 && reinterpret_cast<uintptr_t>(bytes) % kAlignment == 0) {
    if (SharedBuffer* shared = LookupAndRef(bytes - byte_offset)) {
      // TF adopts our aligned memory; its deallocator drops the reference we just took.
      TF_Tensor* adopted = TF_NewTensor(dtype, dims, rank, bytes, expected, ReleaseShared, shared);
      if (adopted == nullptr) {
        *failure = Failure::Invalid(InputName(index) + ": TF rejected the tensor buffer");
        return nullptr;
      }
      counters().zero_copy_inputs++;
      return OwnTensor(adopted);
    }
  }
  TensorPtr tensor = OwnTensor(TF_AllocateTensor(dtype, dims, rank, expected));
  if (expected > 0) std::memcpy(TF_TensorData(tensor.get()), bytes, expected);
  counters().bytes_copied_in += static_cast<int64_t>(expected);
  return tensor;
}

size_t OutputCopyLimit() {
  static const size_t limit = [] {
    size_t value = kCopyOutputsUpTo;
    if (const char* env = std::getenv("JETSERVE_COPY_OUTPUTS_UP_TO")) {
      char* end = nullptr;
      const long long parsed = std::strtoll(env, &end, 10);
      if (end != env && *end == '\0' && parsed >= 0) value = static_cast<size_t>(parsed);
    }
    return value;
  }();
  return limit;
}

void TensorToJs(Napi::Env env, TensorPtr tensor, Napi::Array out, uint32_t at) {
  const TF_DataType dtype = TF_TensorType(tensor.get());
  const int rank = TF_NumDims(tensor.get());
  Napi::Array shape = Napi::Array::New(env, rank);
  for (int i = 0; i < rank; i++) shape.Set(i, Napi::Number::New(env, static_cast<double>(TF_Dim(tensor.get(), i))));
  out.Set(at, Napi::Number::New(env, dtype));
  out.Set(at + 1, shape);

  if (dtype == TF_STRING) {
    const int64_t count = TF_TensorElementCount(tensor.get());
    const auto* strings = static_cast<const TF_TString*>(TF_TensorData(tensor.get()));
    Napi::Array items = Napi::Array::New(env, static_cast<size_t>(count));
    int64_t copied = 0;
    for (int64_t i = 0; i < count; i++) {
      const size_t size = TF_StringGetSize(&strings[i]);
      items.Set(static_cast<uint32_t>(i),
                Napi::Buffer<char>::Copy(env, TF_StringGetDataPointer(&strings[i]), size));
      copied += static_cast<int64_t>(size);
    }
    counters().bytes_copied_out += copied;
    out.Set(at + 2, items);
    return;
  }

  size_t component_size = 1;
  const napi_typedarray_type array_type = TypedArrayTypeOf(dtype, &component_size);
  const size_t byte_size = TF_TensorByteSize(tensor.get());
  Napi::ArrayBuffer buffer;
  if (byte_size == 0) {
    buffer = Napi::ArrayBuffer::New(env, 0);
  } else if (byte_size <= OutputCopyLimit()) {
    // Small: a V8-owned copy, and the TF tensor goes now (see OutputCopyLimit).
    buffer = Napi::ArrayBuffer::New(env, byte_size);
    std::memcpy(buffer.Data(), TF_TensorData(tensor.get()), byte_size);
    counters().bytes_copied_out += static_cast<int64_t>(byte_size);
  } else {
    const int64_t copied_before = counters().bytes_copied_out.load();
    buffer = ExposeToJs(env, SharedBuffer::AdoptTensor(tensor.release()));
    if (counters().bytes_copied_out.load() == copied_before) counters().zero_copy_outputs++;
  }
  napi_value array;
  napi_status status = napi_create_typedarray(env, array_type, byte_size / component_size, buffer, 0, &array);
  NAPI_THROW_IF_FAILED_VOID(env, status);
  out.Set(at + 2, Napi::Value(env, array));
}

}  // namespace jetserve
