// Reads the SignatureDefs out of the serialized MetaGraphDef that TF_LoadSessionFromSavedModel
// returns. A small protobuf wire-format reader for just the fields needed, so the addon never
// links a second protobuf next to the one hidden inside libtensorflow.
//
// Field numbers (tensorflow/core/protobuf/meta_graph.proto):
//   MetaGraphDef.signature_def = 5 (map<string, SignatureDef>: entry key = 1, value = 2)
//   SignatureDef: inputs = 1, outputs = 2 (map<string, TensorInfo>), method_name = 3
//   TensorInfo: name = 1, dtype = 2, tensor_shape = 3 (coo_sparse = 4, composite_tensor = 5)
//   TensorShapeProto: dim = 2 (Dim: size = 1, name = 2), unknown_rank = 3
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace jetserve {

struct TensorInfoDesc {
  std::string name;  // graph tensor name "op:index"; empty for sparse/composite tensors
  int dtype = 0;
  bool unknown_rank = true;
  std::vector<int64_t> dims;
};

struct SignatureDesc {
  std::string method_name;
  std::map<std::string, TensorInfoDesc> inputs;
  std::map<std::string, TensorInfoDesc> outputs;
};

// Returns false (with a reason) when the bytes are not a well-formed MetaGraphDef.
bool ParseSignatures(const uint8_t* data, size_t size, std::map<std::string, SignatureDesc>* out,
                     std::string* error);

}  // namespace jetserve
