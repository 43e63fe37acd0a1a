// KServe v2 infer JSON → tensors: a port of decodeInferRequest (src/wire/json/kserve.ts, the
// reference) for all-JSON bodies. "data" (flat or nested) is written straight into the tensor's
// block once name, datatype and shape are known; the declared element count is checked against
// the budget and against what the rest of the body could hold before the block is allocated.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <unordered_set>

#include "json_codec.h"
#include "json_numbers.h"

namespace jetserve {
namespace json {

namespace {

const char* const kShmKeys[] = {"shared_memory_region", "shared_memory_byte_size", "shared_memory_offset"};

using Parameters = std::vector<std::pair<std::string, Value>>;

const Value* FindParameter(const Parameters& params, const std::string& key) {
  for (const auto& p : params)
    if (p.first == key) return &p.second;
  return nullptr;
}

struct RawInput {
  int64_t index = 0;
  bool has_name = false, has_datatype = false, has_shape = false, has_parameters = false;
  std::string name, datatype;
  std::vector<int64_t> shape;
  Parameters parameters;
  size_t data_start = Reader::npos;
  bool has_tensor = false;
  DecodedTensor tensor;
};

class LeafWrap : public FillContext {
 public:
  LeafWrap(std::string datatype, std::function<DecodeError(const std::string&, int64_t)> fn) : fn_(std::move(fn)) {
    dtype_name = std::move(datatype);
  }
  DecodeError Wrap(const std::string& message, int64_t leaf) const override { return fn_(message, leaf); }

 private:
  std::function<DecodeError(const std::string&, int64_t)> fn_;
};

class InferDecoder {
 public:
  InferDecoder(const uint8_t* body, size_t length, const Signature& sig, const Limits& limits, Allocator& alloc, size_t padding)
      : budget_(limits.max_tensor_elements, limits.elements_flag),
        value_budget_(limits.max_tensor_elements, limits.elements_flag,
                      "values in its inputs, outputs and parameters entries"),
        reader_(body, length, limits.max_json_depth, limits.depth_flag, &budget_, padding),
        sig_(sig),
        alloc_(alloc) {
    reader_.set_value_budget(&value_budget_);
  }
  ~InferDecoder() {
    for (auto& raw : raw_inputs_) alloc_.Release(&raw.tensor.block);
  }

  void Decode(InferRequest* out);

 private:
  Parameters ParametersOf(const Value& value, const std::string& where);
  std::string ReadStringField(size_t start, const char* field, const std::string& where);
  std::vector<int64_t> ReadShape(size_t start, const std::string& where);
  void ReadInput(size_t start, int64_t index, RawInput* raw);
  const TensorSpec& Check(RawInput& raw, bool* checked);
  RequestedOutput ReadOutput(size_t start, int64_t index);
  DecodedTensor FillData(size_t start, const std::string& name, const TensorSpec& spec, const std::string& datatype,
                         const std::vector<int64_t>& shape);
  std::string InputNames() const {
    std::string s;
    for (size_t i = 0; i < sig_.inputs.size(); i++) s += (i > 0 ? ", " : "") + sig_.inputs[i].name;
    return s;
  }

  Budget budget_;
  Budget value_budget_;
  Reader reader_;
  const Signature& sig_;
  Allocator& alloc_;
  std::vector<RawInput> raw_inputs_;
};

Parameters InferDecoder::ParametersOf(const Value& value, const std::string& where) {
  if (value.type != Value::kObject) throw Invalid(where + ": 'parameters' must be an object");
  Parameters out;
  for (const auto& m : value.members) {
    const Value::Type t = m.second.type;
    if (t == Value::kString || t == Value::kTrue || t == Value::kFalse || t == Value::kNumber) {
      out.push_back(m);
    } else {
      throw Invalid(where + ": parameter '" + m.first + "' must be a string, number or boolean");
    }
  }
  return out;
}

std::string InferDecoder::ReadStringField(size_t start, const char* field, const std::string& where) {
  if (reader_.at(start) != '"') throw Invalid(where + ": '" + field + "' must be a string");
  std::string s;
  reader_.ReadString(start, &s);
  return s;
}

std::vector<int64_t> InferDecoder::ReadShape(size_t start, const std::string& where) {
  auto not_shape = [&]() { return Invalid(where + ": 'shape' must be a list of non-negative integers"); };
  if (reader_.at(start) != '[') {
    reader_.SkipValue(start);
    throw not_shape();
  }
  std::vector<int64_t> shape;
  reader_.pos = reader_.Elements(start, [&](int64_t i, size_t p) -> size_t {
    if (i >= kMaxRank) throw Invalid(where + ": 'shape' has more than " + std::to_string(kMaxRank) + " dimensions");
    const Value d = reader_.ReadValue(p);
    if (d.type != Value::kNumber || !d.is_integer || !(d.number >= 0) || d.number > 9007199254740991.0) throw not_shape();
    shape.push_back(static_cast<int64_t>(d.number));
    return reader_.pos;
  });
  return shape;
}

const TensorSpec& InferDecoder::Check(RawInput& raw, bool* checked) {
  const int input = sig_.FindInput(raw.name);
  if (!*checked) {
    *checked = true;
    if (input < 0) {
      throw Invalid("unexpected inference input '" + raw.name + "'; the model's inputs are: " + InputNames());
    }
    const TensorSpec& spec = sig_.inputs[input];
    if (!spec.supported || spec.kserve_datatype.empty()) {
      throw Unimplemented("input '" + raw.name + "' has a dtype KServe v2 cannot express");
    }
    static const char* const kKnown[] = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                         "INT32", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES"};
    bool known = false;
    for (const char* k : kKnown) known = known || raw.datatype == k;
    if (!known) throw Invalid("input '" + raw.name + "': unknown datatype '" + raw.datatype + "'");
    if (raw.datatype != spec.kserve_datatype) {
      throw Invalid("input '" + raw.name + "': datatype '" + raw.datatype + "' does not match the model's '" +
                    spec.kserve_datatype + "'");
    }
    if (!ShapeCompatible(spec, raw.shape)) {
      throw Invalid("input '" + raw.name + "': shape " + FormatShape(raw.shape) + " is not compatible with the model's " +
                    (spec.rank_known ? FormatShape(spec.shape) : std::string("<unknown rank>")));
    }
  }
  return sig_.inputs[input];
}

void InferDecoder::ReadInput(size_t start, int64_t index, RawInput* raw) {
  if (reader_.at(start) != '{') {
    reader_.SkipValue(start);
    throw Invalid("input #" + std::to_string(index) + " must be an object");
  }
  raw->index = index;
  std::string where = "input #" + std::to_string(index);
  bool checked = false;
  std::unordered_set<std::string> seen;
  reader_.pos = reader_.Members(start, [&](const std::string& key, size_t v) -> size_t {
    value_budget_.take(1);  // the duplicate check remembers every key
    if (!seen.insert(key).second) throw Invalid(where + " has a duplicate '" + key + "' field");
    if (KeyIs(key, "name")) {
      raw->name = ReadStringField(v, "name", where);
      raw->has_name = true;
      where = "input '" + raw->name + "'";
      return reader_.pos;
    }
    if (KeyIs(key, "datatype")) {
      raw->datatype = ReadStringField(v, "datatype", where);
      raw->has_datatype = true;
      return reader_.pos;
    }
    if (KeyIs(key, "shape")) {
      raw->shape = ReadShape(v, where);
      raw->has_shape = true;
      return reader_.pos;
    }
    if (KeyIs(key, "parameters")) {
      raw->parameters = ParametersOf(reader_.ReadValue(v), where);
      raw->has_parameters = true;
      for (const char* k : kShmKeys) {
        if (FindParameter(raw->parameters, k)) {
          throw Unimplemented(where + ": shared memory ('" + k + "') is not supported");
        }
      }
      return reader_.pos;
    }
    if (KeyIs(key, "data")) {
      if (raw->has_name && raw->has_datatype && raw->has_shape) {
        const TensorSpec& spec = Check(*raw, &checked);
        raw->tensor = FillData(v, raw->name, spec, raw->datatype, raw->shape);
        raw->tensor.input = sig_.FindInput(raw->name);
        raw->has_tensor = true;
        return reader_.pos;
      }
      raw->data_start = v;
      return reader_.SkipValue(v);
    }
    return reader_.SkipValue(v);
  });
  if (!raw->has_name) throw Invalid(where + " is missing the 'name' field");
  if (!raw->has_datatype) throw Invalid(where + " is missing the 'datatype' field");
  if (!raw->has_shape) throw Invalid(where + " is missing the 'shape' field");
  Check(*raw, &checked);
}

RequestedOutput InferDecoder::ReadOutput(size_t start, int64_t index) {
  const Value v = reader_.ReadValue(start);
  if (v.type != Value::kObject) throw Invalid("output #" + std::to_string(index) + " must be an object");
  const Value* name = v.Find("name");
  if (name == nullptr || name->type != Value::kString) {
    throw Invalid("output #" + std::to_string(index) + " is missing the 'name' field (a string)");
  }
  RequestedOutput out;
  out.name = name->text;
  if (const Value* params = v.Find("parameters")) {
    out.parameters = ParametersOf(*params, "output '" + out.name + "'");
    out.has_parameters = true;
    for (const char* k : kShmKeys) {
      if (FindParameter(out.parameters, k)) {
        throw Unimplemented("output '" + out.name + "': shared memory ('" + k + "') is not supported");
      }
    }
    if (FindParameter(out.parameters, "classification")) {
      throw Unimplemented("output '" + out.name + "': the classification extension is not supported");
    }
  }
  return out;
}

DecodedTensor InferDecoder::FillData(size_t start, const std::string& name, const TensorSpec& spec,
                                     const std::string& datatype, const std::vector<int64_t>& shape) {
  double count = 1;
  for (int64_t d : shape) count *= static_cast<double>(d);
  budget_.take(count, "input '" + name + "' declares shape " + FormatShape(shape));
  // n elements take at least 2n - 1 bytes of JSON ("1,1,…,1")
  const double room = std::floor(static_cast<double>(reader_.size() - start + 1) / 2);
  if (count > room) {
    throw Invalid("input '" + name + "': shape " + FormatShape(shape) + " declares " + FormatCount(count) +
                  " elements but the rest of the request can hold at most " + FormatCount(room));
  }
  const LeafModeInfo mode = LeafModeOf(spec.tf_dtype, false);
  DecodedTensor t;
  t.shape = shape;
  const int64_t n = static_cast<int64_t>(count);
  if (mode.element_size == 0) {
    t.is_string = true;
  } else {
    t.block = alloc_.Alloc(static_cast<size_t>(n) * mode.element_size);
  }
  const std::string shape_text = FormatShape(shape);
  LeafWrap ctx(datatype, [&](const std::string& message, int64_t leaf) {
    if (message.rfind("more values", 0) == 0) {
      return Invalid("input '" + name + "': 'data' has more than the " + std::to_string(n) + " elements shape " + shape_text +
                     " holds");
    }
    return Invalid("input '" + name + "': 'data' element " + std::to_string(leaf) + ": " + message);
  });
  int64_t written;
  try {
    written = reader_.FillLeaves(start, mode, t.block.data, t.is_string ? &t.strings : nullptr, 0, n, ctx);
  } catch (...) {
    alloc_.Release(&t.block);
    throw;
  }
  if (written != n) {
    alloc_.Release(&t.block);
    throw Invalid("input '" + name + "': 'data' has " + std::to_string(written) + " elements but shape " + shape_text +
                  " needs " + std::to_string(n));
  }
  return t;
}

void InferDecoder::Decode(InferRequest* out) {
  size_t p = reader_.Ws(0);
  if (p >= reader_.size()) throw Invalid("inference request: the JSON body is empty");
  if (reader_.at(p) != '{') {
    reader_.SkipValue(p);
    throw Invalid("inference request: the JSON body must be an object");
  }
  Parameters parameters;
  bool have_inputs = false, have_outputs = false;
  std::vector<RequestedOutput> raw_outputs;
  std::unordered_set<std::string> seen;
  reader_.Members(p, [&](const std::string& key, size_t start) -> size_t {
    value_budget_.take(1);  // the duplicate check remembers every key
    if (!seen.insert(key).second) throw Invalid("inference request has a duplicate '" + key + "' field");
    if (KeyIs(key, "id")) {
      if (reader_.at(start) != '"') throw Invalid("inference request field 'id' must be a string");
      reader_.ReadString(start, &out->id);
      out->has_id = true;
      return reader_.pos;
    }
    if (KeyIs(key, "parameters")) {
      parameters = ParametersOf(reader_.ReadValue(start), "inference request");
      return reader_.pos;
    }
    if (KeyIs(key, "inputs")) {
      have_inputs = true;
      if (reader_.at(start) != '[') {
        reader_.SkipValue(start);
        throw Invalid("inference request field 'inputs' must be a list");
      }
      return reader_.Elements(start, [&](int64_t i, size_t q) -> size_t {
        value_budget_.take(1);
        raw_inputs_.emplace_back();
        ReadInput(q, i, &raw_inputs_.back());
        return reader_.pos;
      });
    }
    if (KeyIs(key, "outputs")) {
      have_outputs = true;
      if (reader_.at(start) != '[') {
        reader_.SkipValue(start);
        throw Invalid("inference request field 'outputs' must be a list");
      }
      return reader_.Elements(start, [&](int64_t i, size_t q) -> size_t {
        raw_outputs.push_back(ReadOutput(q, i));
        return reader_.pos;
      });
    }
    return reader_.SkipValue(start);
  });
  if (!have_inputs) throw Invalid("inference request is missing the 'inputs' field");

  const Value* binary_output = FindParameter(parameters, "binary_data_output");
  if (binary_output && binary_output->type != Value::kTrue && binary_output->type != Value::kFalse) {
    throw Invalid("request parameter 'binary_data_output' must be a boolean");
  }
  const bool binary_data_output = binary_output && binary_output->type == Value::kTrue;

  // ---- inputs: JSON data parsed late ----
  std::unordered_set<std::string> names;
  for (RawInput& raw : raw_inputs_) {
    const std::string& name = raw.name;
    if (!names.insert(name).second) throw Invalid("input '" + name + "' appears more than once");
    const TensorSpec& spec = sig_.inputs[sig_.FindInput(name)];
    if (const Value* size = FindParameter(raw.parameters, "binary_data_size")) {
      if (raw.data_start != Reader::npos || raw.has_tensor) {
        throw Invalid("input '" + name + "' has both 'data' and a 'binary_data_size' parameter");
      }
      const bool integral = size->type == Value::kNumber && std::isfinite(size->number) &&
                            size->number == std::floor(size->number) && std::fabs(size->number) <= 9007199254740991.0;
      if (!integral || size->number < 0) {
        throw Invalid("input '" + name + "': parameter 'binary_data_size' must be a non-negative integer");
      }
      throw Invalid("input '" + name +
                    "' has a 'binary_data_size' parameter but the request has no Inference-Header-Content-Length header");
    }
    if (raw.has_tensor) continue;
    if (raw.data_start == Reader::npos) {
      throw Invalid("input '" + name + "' has neither 'data' nor a 'binary_data_size' parameter");
    }
    raw.tensor = FillData(raw.data_start, name, spec, raw.datatype, raw.shape);
    raw.tensor.input = sig_.FindInput(name);
    raw.has_tensor = true;
  }
  std::string missing;
  size_t missing_count = 0;
  for (const auto& spec : sig_.inputs) {
    if (names.count(spec.name) == 0) {
      missing += (missing_count++ > 0 ? ", " : "") + spec.name;
    }
  }
  if (missing_count > 0) {
    throw Invalid("expected " + std::to_string(sig_.inputs.size()) + " inputs but got " + std::to_string(names.size()) +
                  "; missing input(s): " + missing);
  }

  // ---- outputs ----
  if (have_outputs) {
    std::unordered_set<std::string> requested;
    for (RequestedOutput& o : raw_outputs) {
      int found = -1;
      for (size_t k = 0; k < sig_.outputs.size(); k++)
        if (sig_.outputs[k].name == o.name) found = static_cast<int>(k);
      if (found < 0) {
        std::string all;
        for (size_t k = 0; k < sig_.outputs.size(); k++) all += (k > 0 ? ", " : "") + sig_.outputs[k].name;
        throw Invalid("unexpected inference output '" + o.name + "'; the model's outputs are: " + all);
      }
      if (!requested.insert(o.name).second) throw Invalid("output '" + o.name + "' is requested more than once");
      const Value* b = FindParameter(o.parameters, "binary_data");
      if (b && b->type != Value::kTrue && b->type != Value::kFalse) {
        throw Invalid("output '" + o.name + "': parameter 'binary_data' must be a boolean");
      }
      o.binary = b ? b->type == Value::kTrue : binary_data_output;
    }
    out->outputs = std::move(raw_outputs);
  } else {
    for (const auto& spec : sig_.outputs) {
      RequestedOutput o;
      o.name = spec.name;
      o.binary = binary_data_output;
      out->outputs.push_back(std::move(o));
    }
  }
  for (const RequestedOutput& o : out->outputs) {
    for (const auto& spec : sig_.outputs) {
      if (spec.name == o.name && spec.supported && spec.kserve_datatype.empty()) {
        throw Unimplemented("output '" + o.name + "' has dtype " + spec.type_string + ", which KServe v2 cannot express");
      }
    }
  }
  for (RawInput& raw : raw_inputs_) {
    out->tensors.push_back(std::move(raw.tensor));
    raw.tensor = DecodedTensor();
  }
  out->outputs_requested = have_outputs;
  out->binary_data_output = binary_data_output;
  out->parameters = std::move(parameters);
}

}  // namespace

void DecodeInfer(const uint8_t* body, size_t length, const Signature& signature, const Limits& limits, Allocator& alloc,
                 InferRequest* out, size_t padding) {
  InferDecoder decoder(body, length, signature, limits, alloc, padding);
  decoder.Decode(out);
}

}  // namespace json
}  // namespace jetserve
