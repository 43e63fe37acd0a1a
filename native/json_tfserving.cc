// TF Serving predict JSON → tensors: a port of decodePredictRequest (src/wire/json/tfserving.ts,
// the reference), step for step, so its error texts and their order are the same: pass 1 walks
// the top-level members (instances / inputs take the single-pass path when the signature is known
// there), pass 2 runs TF Serving's checks in its order, allocates exactly and fills.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "json_codec.h"
#include "json_numbers.h"
#include "tensor.h"

namespace jetserve {
namespace json {

namespace {

const char* const kDefaultSignature = "serving_default";

DecodeError WithCode(const DecodeError& err, std::string message) {
  return DecodeError{err.kind, err.code, std::move(message)};
}

struct RowEntry {
  std::string key;
  Measured m;
};
struct RowInfo {
  size_t start = 0;
  std::vector<RowEntry> entries;
};

struct InstancesInfo {
  enum Kind { kNotArray, kEmpty, kValues, kObjects, kError } kind = kNotArray;
  size_t start = 0;
  std::vector<Measured> elements;
  std::vector<RowInfo> rows;
  std::optional<DecodeError> error;
  bool first_is_object = false;
};

struct InputsInfo {
  enum Kind { kValue, kObject, kError } kind = kValue;
  Measured m;
  // first occurrence of each key: a measured value or the error measuring it
  std::vector<std::pair<std::string, std::variant<Measured, DecodeError>>> entries;
  std::unordered_map<std::string, size_t> index;  // key → entries position
  std::optional<DecodeError> error;
};

class WrapFn : public FillContext {
 public:
  template <typename F>
  WrapFn(std::string dtype, F f) : fn_(std::move(f)) {
    dtype_name = std::move(dtype);
  }
  DecodeError Wrap(const std::string& message, int64_t leaf) const override { return fn_(message, leaf); }

 private:
  std::function<DecodeError(const std::string&, int64_t)> fn_;
};

class PredictDecoder {
 public:
  PredictDecoder(const uint8_t* body, size_t length, const SignatureTable& table, const Limits& limits, Allocator& alloc, size_t padding)
      : budget_(limits.max_tensor_elements, limits.elements_flag),
        reader_(body, length, limits.max_json_depth, limits.depth_flag, &budget_, padding),
        table_(table),
        alloc_(alloc) {}

  void Decode(PredictRequest* out);

 private:
  size_t OpenDocument();
  bool TryFastPath(bool instances, size_t start, const Signature& sig, std::vector<DecodedTensor>* out, size_t* end);
  bool FastTensor(size_t start, const Signature& sig, int input, DecodedTensor* out, size_t* end);
  size_t MeasureOrDefer(size_t start, bool instances);
  size_t MeasureInstances(size_t start);
  size_t MeasureInputs(size_t start);
  DecodeError RowError(const DecodeError& err, int64_t row, const std::string* key);
  void DecodeRows(const Signature& sig, std::vector<DecodedTensor>* out);
  void DecodeColumns(const Signature& sig, std::vector<DecodedTensor>* out);
  DecodedTensor AllocInput(const Signature& sig, int input, const std::vector<int64_t>& shape, size_t value_start);
  void Fill(size_t start, DecodedTensor& tensor, const TensorSpec& spec, int64_t offset, double count,
            const FillContext& ctx);
  std::string FirstLeafText(size_t p);

  Budget budget_;
  Reader reader_;
  const SignatureTable& table_;
  Allocator& alloc_;
  InstancesInfo instances_;
  InputsInfo inputs_;
  bool have_instances_ = false;
  bool have_inputs_ = false;
};

std::string ShapeMismatch(const Measured& m, const Measured& first) {
  if (m.count != first.count) {
    return "Expecting tensor size: " + FormatCount(first.count) + " but got: " + FormatCount(m.count);
  }
  if (m.shape != first.shape) return "Expecting shape " + FormatShape(first.shape) + " but got: " + FormatShape(m.shape);
  return std::string();
}

}  // namespace

std::string FormatShape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) {
    if (i > 0) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool ShapeCompatible(const TensorSpec& spec, const std::vector<int64_t>& shape) {
  if (!spec.rank_known) return true;
  if (spec.shape.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); i++) {
    if (spec.shape[i] >= 0 && spec.shape[i] != shape[i]) return false;
  }
  return true;
}

void ReleaseTensors(Allocator& alloc, std::vector<DecodedTensor>* tensors) {
  for (auto& t : *tensors) alloc.Release(&t.block);
  tensors->clear();
}

namespace {

size_t PredictDecoder::OpenDocument() {
  if (reader_.size() == 0) throw DecodeError{DecodeError::kParse, kInvalidArgument, "JSON Parse error: The document is empty"};
  const size_t p = reader_.Ws(0);
  if (p >= reader_.size()) throw reader_.ParseError("The document is empty.", p);
  if (reader_.at(p) != '{') {
    reader_.SkipValue(p);
    throw Invalid("JSON Value: " + reader_.ValueText(p) + " Is not object");
  }
  return p;
}

void PredictDecoder::Decode(PredictRequest* out) {
  const size_t doc_start = OpenDocument();
  size_t signature_at = Reader::npos;
  size_t instances_start = Reader::npos;
  size_t inputs_start = Reader::npos;
  struct Fast {
    bool instances;
    std::string signature_name;
    int signature;
    std::vector<DecodedTensor> tensors;
    double budget_mark;
  };
  std::optional<Fast> fast;
  // the signature guessed when instances / inputs is reached: -2 not tried, -1 could not resolve
  int guess = -2;
  std::string guess_name;
  auto guess_signature = [&]() -> int {
    if (guess != -2) return guess;
    guess = -1;
    if (signature_at != Reader::npos && reader_.at(signature_at) != '"') return guess;
    std::string n;
    if (signature_at != Reader::npos) reader_.ReadString(signature_at, &n);
    guess_name = n.empty() ? kDefaultSignature : n;
    guess = table_.Find(guess_name);
    return guess;
  };
  bool seen_signature = false, seen_instances = false, seen_inputs = false;
  struct Cleanup {
    Allocator& alloc;
    std::optional<Fast>& fast;
    ~Cleanup() {
      if (fast) ReleaseTensors(alloc, &fast->tensors);
    }
  } cleanup{alloc_, fast};

  reader_.Members(doc_start, [&](const std::string& key, size_t start) -> size_t {
    const bool is_sig = KeyIs(key, "signature_name"), is_instances = KeyIs(key, "instances"), is_inputs = KeyIs(key, "inputs");
    // only the keys read are remembered: other members are skipped, however many there are
    if (!is_sig && !is_instances && !is_inputs) return reader_.SkipValue(start);
    bool& seen = is_sig ? seen_signature : is_instances ? seen_instances : seen_inputs;
    if (seen) return reader_.SkipValue(start);  // first occurrence wins (rapidjson FindMember)
    seen = true;
    if (is_sig) {
      signature_at = start;
      return reader_.SkipValue(start);
    }
    if (is_instances)
      instances_start = start;
    else
      inputs_start = start;
    if (!fast && (is_instances ? inputs_start : instances_start) == Reader::npos) {
      const int g = guess_signature();
      const double mark = budget_.taken();
      if (g >= 0) {
        std::vector<DecodedTensor> tensors;
        size_t end = 0;
        if (TryFastPath(is_instances, start, table_.signatures[g], &tensors, &end)) {
          fast = Fast{is_instances, guess_name, g, std::move(tensors), mark};
          return end;
        }
      }
      budget_.rewind(mark);  // the precise path measures (and counts) again
    }
    return MeasureOrDefer(start, is_instances);
  });

  // ---- pass 2: signature, format checks, allocation, fill ----
  std::string requested;
  if (signature_at != Reader::npos) {
    if (reader_.at(signature_at) != '"') {
      throw Invalid("JSON Value: " + reader_.ValueText(signature_at) +
                    " not formatted correctly. 'signature_name' key must be a string value.");
    }
    reader_.ReadString(signature_at, &requested);
  }
  const std::string signature_name = requested.empty() ? kDefaultSignature : requested;
  const int sig_index = guess >= 0 && guess_name == signature_name ? guess : table_.Find(signature_name);
  if (sig_index < 0) throw UnknownSignature{signature_name};
  const Signature& sig = table_.signatures[sig_index];
  if (sig.inputs.empty()) {
    throw Invalid("Failed to get input map for signature: " + (requested.empty() ? std::string("DEFAULT") : requested));
  }
  if (instances_start != Reader::npos && inputs_start != Reader::npos) {
    throw Invalid("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist");
  }
  out->signature = sig_index;
  if (fast) {
    if (fast->signature_name == signature_name) {
      out->row = fast->instances;
      out->tensors = std::move(fast->tensors);
      fast.reset();
      return;
    }
    // signature_name came after the values and named another signature: measure now
    budget_.rewind(fast->budget_mark);
    const bool instances = fast->instances;
    ReleaseTensors(alloc_, &fast->tensors);
    fast.reset();
    MeasureOrDefer(instances ? instances_start : inputs_start, instances);
  }
  if (have_instances_) {
    out->row = true;
    DecodeRows(sig, &out->tensors);
    return;
  }
  if (have_inputs_) {
    out->row = false;
    DecodeColumns(sig, &out->tensors);
    return;
  }
  throw Invalid("Missing 'inputs' or 'instances' key");
}

size_t PredictDecoder::MeasureOrDefer(size_t start, bool instances) {
  try {
    return instances ? MeasureInstances(start) : MeasureInputs(start);
  } catch (const DecodeError& err) {
    if (err.fatal()) throw;
    const size_t end = reader_.SkipValue(start);
    if (!instances) {
      inputs_ = InputsInfo();
      inputs_.kind = InputsInfo::kError;
      inputs_.error = err;
      have_inputs_ = true;
      return end;
    }
    const size_t first = reader_.Ws(start + 1);
    instances_ = InstancesInfo();
    instances_.kind = InstancesInfo::kError;
    instances_.error = err;
    instances_.first_is_object = reader_.IsPlainObject(first);
    have_instances_ = true;
    return end;
  }
}

bool PredictDecoder::TryFastPath(bool instances, size_t start, const Signature& sig, std::vector<DecodedTensor>* out,
                                 size_t* end) {
  try {
    if (instances) {
      if (sig.inputs.size() != 1 || reader_.at(start) != '[') return false;
      const size_t first = reader_.Ws(start + 1);
      if (reader_.at(first) == ']' || reader_.IsPlainObject(first)) return false;
      DecodedTensor t;
      if (!FastTensor(start, sig, 0, &t, end)) return false;
      out->push_back(std::move(t));
      return true;
    }
    if (!reader_.IsPlainObject(start)) {
      if (sig.inputs.size() != 1) return false;
      DecodedTensor t;
      if (!FastTensor(start, sig, 0, &t, end)) return false;
      out->push_back(std::move(t));
      return true;
    }
    bool ok = true;
    const size_t stop = reader_.Members(start, [&](const std::string& k, size_t v) -> size_t {
      const int input = ok ? sig.FindInput(k) : -1;
      if (input < 0) return reader_.SkipValue(v);
      for (const auto& t : *out)
        if (t.input == input) return reader_.SkipValue(v);
      DecodedTensor t;
      size_t value_end = 0;
      if (!FastTensor(v, sig, input, &t, &value_end)) {
        ok = false;
        return reader_.SkipValue(v);
      }
      out->push_back(std::move(t));
      return value_end;
    });
    if (!ok || out->size() != sig.inputs.size()) {
      ReleaseTensors(alloc_, out);
      return false;
    }
    *end = stop;
    return true;
  } catch (const FastPathMiss&) {
    ReleaseTensors(alloc_, out);
    return false;
  } catch (...) {
    ReleaseTensors(alloc_, out);
    throw;
  }
}

bool PredictDecoder::FastTensor(size_t start, const Signature& sig, int input, DecodedTensor* out, size_t* end) {
  const TensorSpec& spec = sig.inputs[input];
  if (!spec.supported) return false;
  const LeafModeInfo mode = LeafModeOf(spec.tf_dtype, true);
  if (!mode.ok) return false;
  out->input = input;
  Measured m;
  if (mode.element_size == 0) {
    out->is_string = true;
    m = reader_.MeasureAndFill(start, mode, [](int64_t, int64_t) -> uint8_t* { return nullptr; }, &out->strings);
  } else {
    // small storage grows in a scratch buffer; past 1 KiB in aligned blocks handed on as they are
    // on the stack: a heap scratch vector was 2 of the ~20 allocations of a tiny predict's decode
    alignas(16) uint8_t scratch[1024];
    Block block;
    auto grow = [&](int64_t capacity, int64_t used) -> uint8_t* {
      const size_t bytes = static_cast<size_t>(capacity) * mode.element_size;
      const size_t keep = static_cast<size_t>(used) * mode.element_size;
      if (bytes <= sizeof(scratch)) return scratch;
      Block next = alloc_.Alloc(bytes);
      if (keep > 0) std::memcpy(next.data, block.data ? block.data : scratch, keep);
      alloc_.Release(&block);
      block = next;
      return block.data;
    };
    try {
      m = reader_.MeasureAndFill(start, mode, grow, nullptr);
    } catch (...) {
      alloc_.Release(&block);
      throw;
    }
    const size_t used = static_cast<size_t>(m.count) * mode.element_size;
    if (block.data == nullptr && used > 0) {
      block = alloc_.Alloc(used);
      std::memcpy(block.data, scratch, used);
    }
    block.bytes = used;
    out->block = block;
  }
  budget_.take(m.count);
  out->shape = std::move(m.shape);
  *end = m.end;
  return true;
}

DecodeError PredictDecoder::RowError(const DecodeError& err, int64_t row, const std::string* key) {
  if (err.fatal()) return err;
  const std::string where = key == nullptr ? std::to_string(row) : std::to_string(row) + " key: " + *key;
  return WithCode(err, "Failed to process element: " + where + " of 'instances' list. Error: " + err.message);
}

size_t PredictDecoder::MeasureInstances(size_t start) {
  have_instances_ = true;
  instances_ = InstancesInfo();
  if (reader_.at(start) != '[') {
    instances_.kind = InstancesInfo::kNotArray;
    return reader_.SkipValue(start);
  }
  const size_t first = reader_.Ws(start + 1);
  if (reader_.at(first) == ']') {
    instances_.kind = InstancesInfo::kEmpty;
    return first + 1;
  }
  if (reader_.IsPlainObject(first)) {
    std::vector<RowInfo> rows;
    const size_t end = reader_.Elements(start, [&](int64_t i, size_t p) -> size_t {
      if (!reader_.IsPlainObject(p)) {
        reader_.SkipValue(p);
        throw Invalid("Expecting object but got list at item " + std::to_string(i) + " of input list");
      }
      RowInfo row;
      row.start = p;
      std::unordered_set<std::string> keys;
      const size_t obj_end = reader_.Members(p, [&](const std::string& key, size_t v) -> size_t {
        if (!keys.insert(key).second) {
          throw Invalid("Failed to process element: " + std::to_string(i) + " of 'instances' list. Error: duplicate key '" +
                        key + "'");
        }
        try {
          Measured m = reader_.MeasureTensor(v);
          budget_.take(std::max(1.0, m.count));  // an empty list still costs a row
          const size_t value_end = m.end;
          row.entries.push_back(RowEntry{key, std::move(m)});
          return value_end;
        } catch (const DecodeError& err) {
          throw RowError(err, i, &key);
        }
      });
      rows.push_back(std::move(row));
      return obj_end;
    });
    instances_.kind = InstancesInfo::kObjects;
    instances_.rows = std::move(rows);
    return end;
  }
  std::vector<Measured> elements;
  const size_t end = reader_.Elements(start, [&](int64_t i, size_t p) -> size_t {
    if (reader_.IsPlainObject(p)) {
      reader_.SkipValue(p);
      throw Invalid("Expecting value/list but got object at item " + std::to_string(i) + " of input list");
    }
    try {
      Measured m = reader_.MeasureTensor(p);
      budget_.take(std::max(1.0, m.count));
      const size_t value_end = m.end;
      elements.push_back(std::move(m));
      return value_end;
    } catch (const DecodeError& err) {
      throw RowError(err, i, nullptr);
    }
  });
  instances_.kind = InstancesInfo::kValues;
  instances_.start = start;
  instances_.elements = std::move(elements);
  return end;
}

size_t PredictDecoder::MeasureInputs(size_t start) {
  have_inputs_ = true;
  inputs_ = InputsInfo();
  if (!reader_.IsPlainObject(start)) {
    Measured m = reader_.MeasureTensor(start);
    budget_.take(m.count);
    inputs_.kind = InputsInfo::kValue;
    const size_t end = m.end;
    inputs_.m = std::move(m);
    return end;
  }
  inputs_.kind = InputsInfo::kObject;
  return reader_.Members(start, [&](const std::string& key, size_t v) -> size_t {
    if (inputs_.index.count(key) != 0) return reader_.SkipValue(v);
    try {
      Measured m = reader_.MeasureTensor(v);
      budget_.take(std::max(1.0, m.count));
      const size_t end = m.end;
      inputs_.index.emplace(key, inputs_.entries.size());
      inputs_.entries.emplace_back(key, std::move(m));
      return end;
    } catch (const DecodeError& err) {
      if (err.fatal()) throw;
      inputs_.index.emplace(key, inputs_.entries.size());
      inputs_.entries.emplace_back(key, err);
      return reader_.SkipValue(v);
    }
  });
}

std::string PredictDecoder::FirstLeafText(size_t p) {
  p = reader_.Ws(p);
  while (reader_.at(p) == '[') p = reader_.Ws(p + 1);
  return reader_.at(p) == ']' ? "[]" : reader_.ValueText(p);
}

DecodedTensor PredictDecoder::AllocInput(const Signature& sig, int input, const std::vector<int64_t>& shape,
                                         size_t value_start) {
  const TensorSpec& spec = sig.inputs[input];
  const LeafModeInfo mode = LeafModeOf(spec.tf_dtype, true);
  if (!spec.supported || !mode.ok) {
    throw Unimplemented("Conversion of JSON Value: " + FirstLeafText(value_start) + " to type: " + spec.type_string +
                        " (input '" + spec.name + "')");
  }
  // like TF Serving (and tfserving.ts), the shape is never checked against the signature: the
  // engine checks it when the model validates shapes, otherwise TF decides
  DecodedTensor t;
  t.input = input;
  t.shape = shape;
  double count = 1;
  for (int64_t d : shape) count *= static_cast<double>(d);
  if (mode.element_size == 0) {
    t.is_string = true;
    t.strings.items.reserve(static_cast<size_t>(std::min(count, 1e6)));
  } else {
    t.block = alloc_.Alloc(static_cast<size_t>(count) * mode.element_size);
  }
  return t;
}

void PredictDecoder::Fill(size_t start, DecodedTensor& tensor, const TensorSpec& spec, int64_t offset, double count,
                          const FillContext& ctx) {
  if (count == 0) return;
  const LeafModeInfo mode = LeafModeOf(spec.tf_dtype, true);
  const int64_t n = static_cast<int64_t>(count);
  const int64_t written = reader_.FillLeaves(start, mode, tensor.block.data, tensor.is_string ? &tensor.strings : nullptr,
                                             offset, n, ctx);
  if (written != n) {
    // cannot happen after MeasureTensor; kept as a guard against a reader bug
    throw Invalid("input '" + spec.name + "': expected " + std::to_string(n) + " values but found " + std::to_string(written));
  }
}

void PredictDecoder::DecodeRows(const Signature& sig, std::vector<DecodedTensor>* out) {
  const InstancesInfo& info = instances_;
  if (info.kind == InstancesInfo::kNotArray) throw Invalid("Excepting 'instances' to be an list/array");
  if (info.kind == InstancesInfo::kEmpty) throw Invalid("No values in 'instances' array");
  const bool first_is_object = info.kind == InstancesInfo::kError ? info.first_is_object : info.kind == InstancesInfo::kObjects;
  if (sig.inputs.size() > 1 && !first_is_object) {
    throw Invalid(
        "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map");
  }
  if (info.kind == InstancesInfo::kError) throw *info.error;

  struct Guard {
    Allocator& alloc;
    std::vector<DecodedTensor>* out;
    bool done = false;
    ~Guard() {
      if (!done) ReleaseTensors(alloc, out);
    }
  } guard{alloc_, out};

  if (info.kind == InstancesInfo::kValues) {
    const int input = sig.sorted[0];
    const TensorSpec& spec = sig.inputs[input];
    const Measured& first = info.elements[0];
    for (size_t i = 1; i < info.elements.size(); i++) {
      const std::string mismatch = ShapeMismatch(info.elements[i], first);
      if (!mismatch.empty()) {
        throw Invalid("Failed to process element: " + std::to_string(i) + " of 'instances' list. Error: " + mismatch);
      }
    }
    const double n = static_cast<double>(info.elements.size());
    const double row_count = first.count;
    std::vector<int64_t> shape{static_cast<int64_t>(n)};
    shape.insert(shape.end(), first.shape.begin(), first.shape.end());
    out->push_back(AllocInput(sig, input, shape, first.start));
    WrapFn ctx(spec.type_string, [row_count](const std::string& msg, int64_t leaf) {
      const int64_t row = row_count > 0 ? static_cast<int64_t>(std::floor(static_cast<double>(leaf) / row_count)) : 0;
      return Invalid("Failed to process element: " + std::to_string(row) + " of 'instances' list. Error: " + msg);
    });
    Fill(info.start, out->back(), spec, 0, n * row_count, ctx);
    guard.done = true;
    return;
  }

  // rows of objects: every row's key set must equal the signature's inputs
  const auto& rows = info.rows;
  std::vector<const Measured*> first_of(sig.inputs.size(), nullptr);
  for (size_t i = 0; i < rows.size(); i++) {
    const RowInfo& row = rows[i];
    for (const RowEntry& e : row.entries) {
      const int input = sig.FindInput(e.key);
      if (input < 0) {
        throw Invalid("Failed to process element: " + std::to_string(i) + " key: " + e.key +
                      " of 'instances' list. Error: JSON object: does not have named input: " + e.key);
      }
      if (first_of[input] == nullptr) {
        first_of[input] = &e.m;
      } else {
        const std::string mismatch = ShapeMismatch(e.m, *first_of[input]);
        if (!mismatch.empty()) {
          throw Invalid("Failed to process element: " + std::to_string(i) + " key: " + e.key +
                        " of 'instances' list. Error: " + mismatch);
        }
      }
    }
    if (row.entries.size() != sig.inputs.size()) {
      std::string names;
      for (size_t k = 0; k < sig.sorted.size(); k++) {
        if (k > 0) names += ',';
        names += sig.inputs[sig.sorted[k]].name;
      }
      throw Invalid("Failed to process element: " + std::to_string(i) + " of 'instances' list. JSON object: " +
                    reader_.ValueText(row.start) + " must only have keys: " + names);
    }
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  std::vector<int> slot(sig.inputs.size(), -1);
  for (int input : sig.sorted) {
    const Measured* first = first_of[input];
    std::vector<int64_t> shape{n};
    shape.insert(shape.end(), first->shape.begin(), first->shape.end());
    slot[input] = static_cast<int>(out->size());
    out->push_back(AllocInput(sig, input, shape, first->start));
  }
  for (int64_t i = 0; i < n; i++) {
    for (const RowEntry& e : rows[i].entries) {
      const int input = sig.FindInput(e.key);
      const TensorSpec& spec = sig.inputs[input];
      WrapFn ctx(spec.type_string, [i, &e](const std::string& msg, int64_t) {
        return Invalid("Failed to process element: " + std::to_string(i) + " key: " + e.key +
                       " of 'instances' list. Error: " + msg);
      });
      Fill(e.m.start, (*out)[slot[input]], spec, i * static_cast<int64_t>(e.m.count), e.m.count, ctx);
    }
  }
  guard.done = true;
}

void PredictDecoder::DecodeColumns(const Signature& sig, std::vector<DecodedTensor>* out) {
  const InputsInfo& info = inputs_;
  const char* const kPlain =
      "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map";
  if (info.kind == InputsInfo::kError) {
    if (sig.inputs.size() > 1) throw Invalid(kPlain);
    throw WithCode(*info.error, info.error->message + " (input '" + sig.inputs[sig.sorted[0]].name + "')");
  }
  struct Guard {
    Allocator& alloc;
    std::vector<DecodedTensor>* out;
    bool done = false;
    ~Guard() {
      if (!done) ReleaseTensors(alloc, out);
    }
  } guard{alloc_, out};
  if (info.kind == InputsInfo::kValue) {
    if (sig.inputs.size() > 1) throw Invalid(kPlain);
    const int input = sig.sorted[0];
    const TensorSpec& spec = sig.inputs[input];
    out->push_back(AllocInput(sig, input, info.m.shape, info.m.start));
    WrapFn ctx(spec.type_string,
               [&spec](const std::string& msg, int64_t) { return Invalid(msg + " (input '" + spec.name + "')"); });
    Fill(info.m.start, out->back(), spec, 0, info.m.count, ctx);
    guard.done = true;
    return;
  }
  for (int input : sig.sorted) {
    const TensorSpec& spec = sig.inputs[input];
    const auto found = info.index.find(spec.name);
    const std::variant<Measured, DecodeError>* entry = found == info.index.end() ? nullptr : &info.entries[found->second].second;
    if (entry == nullptr) throw Invalid("Missing named input: " + spec.name + " in 'inputs' object.");
    if (const DecodeError* err = std::get_if<DecodeError>(entry)) {
      throw WithCode(*err, err->message + " (input '" + spec.name + "')");
    }
    const Measured& m = std::get<Measured>(*entry);
    out->push_back(AllocInput(sig, input, m.shape, m.start));
    WrapFn ctx(spec.type_string,
               [&spec](const std::string& msg, int64_t) { return Invalid(msg + " (input '" + spec.name + "')"); });
    Fill(m.start, out->back(), spec, 0, m.count, ctx);
  }
  guard.done = true;
}

}  // namespace

void DecodePredict(const uint8_t* body, size_t length, const SignatureTable& table, const Limits& limits,
                   Allocator& alloc, PredictRequest* out, size_t padding) {
  PredictDecoder decoder(body, length, table, limits, alloc, padding);
  decoder.Decode(out);
}

}  // namespace json
}  // namespace jetserve
