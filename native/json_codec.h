// Native REST JSON codec: TF Serving predict and KServe v2 infer requests decoded straight into
// tensor memory TF adopts, and their responses encoded into byte chunks. The JS codec in
// src/wire/json/ is the reference: same tensors, same error codes and texts (test/wire/
// json-native-differential.test.ts feeds both the same generated and mutated bodies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "json_reader.h"

namespace Napi {
class Env;
class Object;
}  // namespace Napi

namespace jetserve {

class SharedBuffer;

namespace json {

// One input or output of a signature, as the JS side describes it (src/wire/json/native.ts).
struct TensorSpec {
  std::string name;
  int tf_dtype = 0;
  bool supported = false;     // jetserve has a dtype for it (spec.dtype !== undefined)
  std::string type_string;    // TF_TYPE_STRING[dtype] or tfEnumName(tfDtype)
  std::string kserve_datatype;  // "" when KServe cannot express the dtype
  bool rank_known = false;
  std::vector<int64_t> shape;  // -1 = unknown dim
};

struct Signature {
  std::string key;
  std::vector<TensorSpec> inputs;  // Object.keys order
  std::vector<int> sorted;         // input indices in sorted-name order
  std::vector<TensorSpec> outputs;
  int FindInput(const std::string& name) const {
    for (size_t i = 0; i < inputs.size(); i++)
      if (inputs[i].name == name) return static_cast<int>(i);
    return -1;
  }
};

struct SignatureTable {
  std::vector<Signature> signatures;
  int Find(const std::string& key) const {
    for (size_t i = 0; i < signatures.size(); i++)
      if (signatures[i].key == key) return static_cast<int>(i);
    return -1;
  }
};

// Memory for one numeric tensor: a region of an aligned SharedBuffer (its own block, or the
// shared slab for small tensors).
struct Block {
  SharedBuffer* owner = nullptr;  // one reference held while the Block is owned
  size_t offset = 0;
  uint8_t* data = nullptr;
  size_t bytes = 0;  // bytes in use
  bool slab = false;
  uint64_t slab_generation = 0;  // which slab, when `slab`
};

// Where numeric tensors are allocated (the binding implements it with the slab and SharedBuffer).
class Allocator {
 public:
  virtual ~Allocator() = default;
  // A zero-filled block of `bytes` (64-byte aligned).
  virtual Block Alloc(size_t bytes) = 0;
  virtual void Release(Block* block) = 0;
};

struct DecodedTensor {
  int input = -1;  // index into the signature's inputs
  std::vector<int64_t> shape;
  Block block;  // numeric
  bool is_string = false;
  StringData strings;
};

struct Limits {
  double max_tensor_elements = 4194304;
  int max_json_depth = 256;
  // string literals (static storage): a decode copies no flag name unless it reports a limit
  const char* elements_flag = "--rest_api_max_tensor_elements";
  const char* depth_flag = "--rest_api_max_json_depth";
};

struct PredictRequest {
  int signature = -1;
  bool row = true;
  std::vector<DecodedTensor> tensors;  // the JS reference's key order
};

// Raised when the request names a signature the table lacks: the JS side resolves the name to
// produce the model's own error.
struct UnknownSignature {
  std::string name;
};

// TF Serving predict JSON → tensors. Throws DecodeError or UnknownSignature. Tensors handed back
// own their blocks (release them with the allocator when not used). padding: bytes readable after
// body + length (their values are not part of the body; number parsing may look at up to 32).
void DecodePredict(const uint8_t* body, size_t length, const SignatureTable& table, const Limits& limits,
                   Allocator& alloc, PredictRequest* out, size_t padding = 0);

struct RequestedOutput {
  std::string name;
  bool binary = false;
  bool has_parameters = false;
  std::vector<std::pair<std::string, Value>> parameters;
};

struct InferRequest {
  bool has_id = false;
  std::string id;
  std::vector<DecodedTensor> tensors;
  std::vector<RequestedOutput> outputs;
  bool outputs_requested = false;
  bool binary_data_output = false;
  std::vector<std::pair<std::string, Value>> parameters;
};

// KServe v2 infer JSON (all JSON: no binary tensor extension) for `signature` → tensors.
void DecodeInfer(const uint8_t* body, size_t length, const Signature& signature, const Limits& limits, Allocator& alloc,
                 InferRequest* out, size_t padding = 0);

void ReleaseTensors(Allocator& alloc, std::vector<DecodedTensor>* tensors);

// Adds the jsonXxx exports (native/json_binding.cc) to the addon.
void RegisterJsonCodec(Napi::Env env, Napi::Object exports);

// "[1,2,3]" (formatShape).
std::string FormatShape(const std::vector<int64_t>& shape);
bool ShapeCompatible(const TensorSpec& spec, const std::vector<int64_t>& shape);

}  // namespace json
}  // namespace jetserve
