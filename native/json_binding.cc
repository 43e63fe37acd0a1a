// N-API surface of the native JSON codec (src/wire/json/native.ts is its JS side):
//   jsonMeta()                                    → the shared Float64Array results are described in
//   jsonSlab()                                    → the current 64 KiB slab small tensors live in
//   jsonSignatures(desc)                          → a signature table handle (one per model)
//   jsonDecodePredict(body, table, maxElements, maxDepth)
//   jsonDecodeInfer(body, table, signature, maxElements, maxDepth)
//       write a result descriptor into `meta` and return the few JS values it refers to (own
//       blocks, string bytes, error messages), or undefined when there are none — the usual case
//       for small requests, whose tensors are 64-byte aligned regions of the slab, as allocTensor's.
//   jsonEncode(kind, prefix, keys, dtypes, shapes, datas, b64, limit)
//       → a Buffer when the response fits in `limit` bytes, else [first chunk, encoder handle];
//   jsonEncoderNext(encoder, limit) → the next chunk, or null when the response is complete.
//
// meta: [0] status (0 ok, 1 error, 2 unknown signature, 3 meta grown: fetch jsonMeta() and read
// that), [1] slab generation, [2] descriptor length, [3…] descriptor.
// A tensor in a descriptor: input index, rank, dims…, where, offset, length —
//   where -1: the current slab (offset, byte length); -2: no data; -3: DT_STRING, offset = extras
//   index of the bytes (Buffer), length = extras index of the element ends (Float64Array, n + 1);
//   k ≥ 0: extras[k] is the ArrayBuffer (offset, byte length).
#include <napi.h>

#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "json_body.h"
#include "json_codec.h"
#include "json_encode.h"
#include "tensor.h"

namespace jetserve {
namespace json {

namespace {

constexpr size_t kSlabBytes = 64 * 1024;
constexpr size_t kSlabMaxBytes = 1024;
constexpr size_t kInitialMeta = 4096;

struct CodecState {
  SharedBuffer* slab = nullptr;  // owned by the slab's ArrayBuffer
  napi_ref slab_ref = nullptr;
  size_t slab_used = kSlabBytes;
  uint64_t slab_generation = 0;
  napi_ref meta_ref = nullptr;
  double* meta = nullptr;
  size_t meta_capacity = 0;
  // Text of small responses, kept between calls (its block is reused, never handed to JS).
  TextBuffer scratch;
  // A decode's descriptor before WriteMeta copies it out; kept so a call allocates none.
  std::vector<double> desc;
  // Reuse blocks of finished streamed responses, each with its ArrayBuffer (see EnsureBlock).
  struct IdleBlock {
    char* block;
    size_t half;
    napi_ref ref;
  };
  std::vector<IdleBlock> idle_blocks;
  // Small bodies are decoded from a copy here (json_body.h).
  PaddedBody padded_body;
};

// Idle reuse blocks kept: one per response streamed at the same time, up to this many.
constexpr size_t kIdleBlocks = 4;

void FreeState(void* arg) {
  auto* state = static_cast<CodecState*>(arg);
  // references die with the environment
  delete state;
}

// Small tensors come from the shared slab (an external ArrayBuffer per tensor costs more than the
// decoding of a small request), the rest from aligned blocks of their own.
class SlabAllocator : public Allocator {
 public:
  SlabAllocator(napi_env env, CodecState& state) : env_(env), state_(state) {}
  ~SlabAllocator() override {
    for (auto& r : retired_) napi_delete_reference(env_, r.second);
  }

  Block Alloc(size_t bytes) override {
    Block b;
    b.bytes = bytes;
    if (bytes == 0) return b;
    if (bytes <= kSlabMaxBytes) {
      const size_t size = (bytes + 63) & ~static_cast<size_t>(63);
      if (state_.slab == nullptr || state_.slab_used + size > kSlabBytes) NewSlab();
      b.slab = true;
      b.slab_generation = state_.slab_generation;
      b.owner = state_.slab;
      b.offset = state_.slab_used;
      b.data = static_cast<uint8_t*>(state_.slab->data()) + state_.slab_used;
      state_.slab_used += size;
      return b;
    }
    SharedBuffer* own = SharedBuffer::NewAligned(bytes);
    if (own == nullptr) throw std::bad_alloc();
    b.owner = own;
    b.data = static_cast<uint8_t*>(own->data());
    return b;
  }

  void Release(Block* block) override {
    if (block->owner != nullptr && !block->slab) block->owner->Unref();
    *block = Block();
  }

  // The ArrayBuffer of a slab replaced during this call.
  napi_value RetiredSlab(uint64_t generation) {
    for (auto& r : retired_) {
      if (r.first == generation) {
        napi_value value;
        napi_get_reference_value(env_, r.second, &value);
        return value;
      }
    }
    return nullptr;
  }

 private:
  void NewSlab() {
    SharedBuffer* fresh = SharedBuffer::NewAligned(kSlabBytes);
    if (fresh == nullptr) throw std::bad_alloc();
    Napi::ArrayBuffer ab = ExposeToJs(Napi::Env(env_), fresh);
    if (ab.Data() != fresh->data()) throw std::bad_alloc();  // externals refused: no slab to share
    if (state_.slab_ref != nullptr) retired_.emplace_back(state_.slab_generation, state_.slab_ref);
    napi_create_reference(env_, ab, 1, &state_.slab_ref);
    state_.slab = fresh;
    state_.slab_used = 0;
    state_.slab_generation++;
  }

  napi_env env_;
  CodecState& state_;
  std::vector<std::pair<uint64_t, napi_ref>> retired_;
};

CodecState& StateOf(const Napi::CallbackInfo& info) { return *static_cast<CodecState*>(info.Data()); }

Napi::Float64Array NewMeta(Napi::Env env, CodecState& state, size_t capacity) {
  Napi::Float64Array meta = Napi::Float64Array::New(env, capacity);
  if (state.meta_ref != nullptr) napi_delete_reference(env, state.meta_ref);
  napi_create_reference(env, meta, 1, &state.meta_ref);
  state.meta = meta.Data();
  state.meta_capacity = capacity;
  return meta;
}

void WriteMeta(Napi::Env env, CodecState& state, double status, const std::vector<double>& desc) {
  if (state.meta == nullptr) NewMeta(env, state, kInitialMeta);
  if (desc.size() + 3 > state.meta_capacity) {
    state.meta[0] = 3;
    NewMeta(env, state, std::max(state.meta_capacity * 2, desc.size() + 3));
  }
  state.meta[0] = status;
  state.meta[1] = static_cast<double>(state.slab_generation);
  state.meta[2] = static_cast<double>(desc.size());
  std::copy(desc.begin(), desc.end(), state.meta + 3);
}

Napi::Value MetaJs(const Napi::CallbackInfo& info) {
  CodecState& state = StateOf(info);
  if (state.meta_ref == nullptr) return NewMeta(info.Env(), state, kInitialMeta);
  napi_value value;
  napi_get_reference_value(info.Env(), state.meta_ref, &value);
  return Napi::Value(info.Env(), value);
}

Napi::Value SlabJs(const Napi::CallbackInfo& info) {
  CodecState& state = StateOf(info);
  if (state.slab_ref == nullptr) return info.Env().Undefined();
  napi_value value;
  napi_get_reference_value(info.Env(), state.slab_ref, &value);
  return Napi::Value(info.Env(), value);
}

// ---- signature tables ----

TensorSpec SpecFromJs(Napi::Value value) {
  Napi::Array a = value.As<Napi::Array>();
  TensorSpec s;
  s.name = a.Get(0u).As<Napi::String>().Utf8Value();
  s.tf_dtype = a.Get(1u).As<Napi::Number>().Int32Value();
  s.supported = a.Get(2u).ToBoolean().Value();
  s.type_string = a.Get(3u).As<Napi::String>().Utf8Value();
  s.kserve_datatype = a.Get(4u).As<Napi::String>().Utf8Value();
  Napi::Value shape = a.Get(5u);
  s.rank_known = shape.IsArray();
  if (s.rank_known) {
    Napi::Array dims = shape.As<Napi::Array>();
    for (uint32_t i = 0; i < dims.Length(); i++) s.shape.push_back(dims.Get(i).As<Napi::Number>().Int64Value());
  }
  return s;
}

// desc: [[key, inputs: spec[], sorted: number[], outputs: spec[]], …]; spec = [name, tfDtype,
// supported, typeString, kserveDatatype, shape | null].
Napi::Value SignaturesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    NAPI_THROW(Napi::TypeError::New(env, "jsonSignatures(desc): an array is required"), Napi::Value());
  }
  auto table = std::make_unique<SignatureTable>();
  Napi::Array sigs = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < sigs.Length(); i++) {
    Napi::Array d = sigs.Get(i).As<Napi::Array>();
    Signature sig;
    sig.key = d.Get(0u).As<Napi::String>().Utf8Value();
    Napi::Array inputs = d.Get(1u).As<Napi::Array>();
    for (uint32_t k = 0; k < inputs.Length(); k++) sig.inputs.push_back(SpecFromJs(inputs.Get(k)));
    Napi::Array sorted = d.Get(2u).As<Napi::Array>();
    for (uint32_t k = 0; k < sorted.Length(); k++) sig.sorted.push_back(sorted.Get(k).As<Napi::Number>().Int32Value());
    Napi::Array outputs = d.Get(3u).As<Napi::Array>();
    for (uint32_t k = 0; k < outputs.Length(); k++) sig.outputs.push_back(SpecFromJs(outputs.Get(k)));
    table->signatures.push_back(std::move(sig));
  }
  return Napi::External<SignatureTable>::New(env, table.release(), [](Napi::Env, SignatureTable* t) { delete t; });
}

// ---- decoding ----

class Extras {
 public:
  explicit Extras(Napi::Env env) : env_(env) {}
  double Add(Napi::Value value) {
    if (array_.IsEmpty()) array_ = Napi::Array::New(env_);
    array_.Set(count_, value);
    return count_++;
  }
  Napi::Value Result() const { return array_.IsEmpty() ? env_.Undefined() : Napi::Value(array_); }

 private:
  Napi::Env env_;
  Napi::Array array_;
  uint32_t count_ = 0;
};

// Appends one tensor's descriptor (input, rank, dims…, where, offset, length), handing its memory
// to JS (see the file comment).
void DescribeTensor(Napi::Env env, SlabAllocator& alloc, DecodedTensor& t, Extras& extras, std::vector<double>* desc) {
  desc->push_back(t.input);
  desc->push_back(static_cast<double>(t.shape.size()));
  for (int64_t d : t.shape) desc->push_back(static_cast<double>(d));
  if (t.is_string) {
    const auto& items = t.strings.items;
    Napi::Buffer<char> bytes = Napi::Buffer<char>::Copy(env, t.strings.bytes.data(), t.strings.bytes.size());
    Napi::Float64Array ends = Napi::Float64Array::New(env, items.size() + 1);
    double* e = ends.Data();
    e[0] = 0;
    for (size_t i = 0; i < items.size(); i++) e[i + 1] = static_cast<double>(items[i].first + items[i].second);
    desc->push_back(-3);
    desc->push_back(extras.Add(bytes));
    desc->push_back(extras.Add(ends));
    t.strings = StringData();
    return;
  }
  Block& b = t.block;
  if (b.owner == nullptr || b.bytes == 0) {
    alloc.Release(&b);
    desc->push_back(-2);
    desc->push_back(0);
    desc->push_back(0);
    return;
  }
  if (b.slab) {
    napi_value retired = alloc.RetiredSlab(b.slab_generation);
    desc->push_back(retired == nullptr ? -1 : extras.Add(Napi::Value(env, retired)));
    desc->push_back(static_cast<double>(b.offset));
  } else {
    SharedBuffer* owner = b.owner;
    b.owner = nullptr;  // the ArrayBuffer takes over the reference
    desc->push_back(extras.Add(ExposeToJs(env, owner)));
    desc->push_back(0);
  }
  desc->push_back(static_cast<double>(b.bytes));
  b = Block();
}

Limits LimitsOf(const Napi::CallbackInfo& info, size_t at) {
  Limits limits;
  limits.max_tensor_elements = info[at].As<Napi::Number>().DoubleValue();
  limits.max_json_depth = info[at + 1].As<Napi::Number>().Int32Value();
  return limits;
}

Napi::Value Failed(Napi::Env env, CodecState& state, const DecodeError& err) {
  WriteMeta(env, state, 1, {static_cast<double>(err.code), static_cast<double>(err.kind)});
  Napi::Array extras = Napi::Array::New(env, 1);
  extras.Set(0u, Napi::Buffer<char>::Copy(env, err.message.data(), err.message.size()));
  return extras;
}

Napi::Value Unknown(Napi::Env env, CodecState& state, const UnknownSignature& u) {
  WriteMeta(env, state, 2, {});
  Napi::Array extras = Napi::Array::New(env, 1);
  extras.Set(0u, Napi::Buffer<char>::Copy(env, u.name.data(), u.name.size()));
  return extras;
}

Napi::Value DecodePredictJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CodecState& state = StateOf(info);
  const Body body = BodyOf(env, info[0], state.padded_body);
  const SignatureTable& table = *info[1].As<Napi::External<SignatureTable>>().Data();
  const Limits limits = LimitsOf(info, 2);
  SlabAllocator alloc(env, state);
  PredictRequest req;
  try {
    DecodePredict(body.data, body.length, table, limits, alloc, &req, body.padding);
  } catch (const DecodeError& err) {
    return Failed(env, state, err);
  } catch (const UnknownSignature& u) {
    return Unknown(env, state, u);
  } catch (const std::bad_alloc&) {
    NAPI_THROW(Napi::Error::New(env, "jsonDecodePredict: out of memory"), Napi::Value());
  }
  std::vector<double>& desc = state.desc;
  desc.assign({static_cast<double>(req.signature), req.row ? 1.0 : 0.0, static_cast<double>(req.tensors.size())});
  Extras extras(env);
  try {
    for (auto& t : req.tensors) DescribeTensor(env, alloc, t, extras, &desc);
  } catch (...) {
    ReleaseTensors(alloc, &req.tensors);
    throw;
  }
  WriteMeta(env, state, 0, desc);
  return extras.Result();
}

Napi::Value ParametersJs(Napi::Env env, const std::vector<std::pair<std::string, Value>>& params) {
  Napi::Array out = Napi::Array::New(env, params.size() * 2);
  uint32_t k = 0;
  for (const auto& p : params) {
    out.Set(k++, Napi::String::New(env, p.first));
    const Value& v = p.second;
    if (v.type == Value::kString)
      out.Set(k++, Napi::String::New(env, v.text));
    else if (v.type == Value::kNumber)
      out.Set(k++, Napi::Number::New(env, v.number));
    else
      out.Set(k++, Napi::Boolean::New(env, v.type == Value::kTrue));
  }
  return out;
}

// descriptor: [id (extras index | -1), parameters (extras index of [k, v, …] | -1), outputsRequested,
// binaryDataOutput, tensor count, tensors…, output count, per output: signature output index,
// binary, parameters (extras index | -1)]
Napi::Value DecodeInferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CodecState& state = StateOf(info);
  const Body body = BodyOf(env, info[0], state.padded_body);
  const SignatureTable& table = *info[1].As<Napi::External<SignatureTable>>().Data();
  const int index = info[2].As<Napi::Number>().Int32Value();
  if (index < 0 || static_cast<size_t>(index) >= table.signatures.size()) {
    NAPI_THROW(Napi::RangeError::New(env, "jsonDecodeInfer: no such signature"), Napi::Value());
  }
  const Signature& sig = table.signatures[index];
  const Limits limits = LimitsOf(info, 3);
  SlabAllocator alloc(env, state);
  InferRequest req;
  try {
    DecodeInfer(body.data, body.length, sig, limits, alloc, &req, body.padding);
  } catch (const DecodeError& err) {
    return Failed(env, state, err);
  } catch (const std::bad_alloc&) {
    NAPI_THROW(Napi::Error::New(env, "jsonDecodeInfer: out of memory"), Napi::Value());
  }
  Extras extras(env);
  std::vector<double>& desc = state.desc;
  desc.clear();
  try {
    desc.push_back(req.has_id ? extras.Add(Napi::Buffer<char>::Copy(env, req.id.data(), req.id.size())) : -1);
    desc.push_back(req.parameters.empty() ? -1 : extras.Add(ParametersJs(env, req.parameters)));
    desc.push_back(req.outputs_requested ? 1 : 0);
    desc.push_back(req.binary_data_output ? 1 : 0);
    desc.push_back(static_cast<double>(req.tensors.size()));
    for (auto& t : req.tensors) DescribeTensor(env, alloc, t, extras, &desc);
    desc.push_back(static_cast<double>(req.outputs.size()));
    for (const auto& o : req.outputs) {
      int found = -1;
      for (size_t k = 0; k < sig.outputs.size(); k++)
        if (sig.outputs[k].name == o.name) found = static_cast<int>(k);
      desc.push_back(found);
      desc.push_back(o.binary ? 1 : 0);
      desc.push_back(o.has_parameters ? extras.Add(ParametersJs(env, o.parameters)) : -1);
    }
  } catch (...) {
    ReleaseTensors(alloc, &req.tensors);
    throw;
  }
  WriteMeta(env, state, 0, desc);
  return extras.Result();
}

// ---- encoding ----

// A response being encoded in chunks. With reuse (the HTTP route writes each chunk to the socket,
// which copies it, before it asks for the chunk after the next one), chunks are views of two
// halves of one block used in turn: one allocation per response instead of one per chunk.
struct EncoderHandle {
  ResponseEncoder encoder;
  napi_ref block_ref = nullptr;  // the block's ArrayBuffer
  char* block = nullptr;
  size_t half = 0;
  int turn = 0;
};

void DeleteEncoder(napi_env env, EncoderHandle* h) {
  if (h->block_ref != nullptr) napi_delete_reference(env, h->block_ref);
  delete h;
}

// Chunks from this size on are handed to JS as the encoder's own block (no copy; the block is
// freed when the Buffer is collected); smaller ones are copied and the block reused.
constexpr size_t kHandOverBytes = 64 * 1024;

// A chunk of response text as a Buffer; `text` is empty afterwards.
Napi::Buffer<char> ChunkOf(Napi::Env env, TextBuffer& text) {
  const size_t size = text.size();
  if (size < kHandOverBytes) {
    Napi::Buffer<char> copy = Napi::Buffer<char>::Copy(env, text.data(), size);
    text.clear();
    return copy;
  }
  char* block = text.Release();
  return Napi::Buffer<char>::NewOrCopy(env, block, size, [](Napi::Env, char* p) { std::free(p); });
}

bool EnsureBlock(Napi::Env env, CodecState& state, EncoderHandle* h, size_t limit);
Napi::Value BlockView(Napi::Env env, EncoderHandle* h, size_t size);

// (kind, prefix, keys: string[], dtypes: number[], shapes: Float64Array [rank, dims…]…,
//  datas: (TypedArray | Uint8Array[])[], b64: boolean[], limit, reuse)
Napi::Value EncodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto kind = static_cast<ResponseEncoder::Kind>(info[0].As<Napi::Number>().Int32Value());
  std::string prefix = info[1].As<Napi::String>().Utf8Value();
  Napi::Array keys = info[2].As<Napi::Array>();
  Napi::Array dtypes = info[3].As<Napi::Array>();
  Napi::Float64Array shapes = info[4].As<Napi::Float64Array>();
  Napi::Array datas = info[5].As<Napi::Array>();
  Napi::Array b64 = info[6].As<Napi::Array>();
  const size_t limit = static_cast<size_t>(info[7].As<Napi::Number>().Int64Value());
  std::vector<OutputTensor> outputs(dtypes.Length());
  const double* s = shapes.Data();
  size_t at = 0;
  size_t elements = 0;
  for (uint32_t k = 0; k < dtypes.Length(); k++) {
    OutputTensor& t = outputs[k];
    t.key = keys.Get(k).As<Napi::String>().Utf8Value();
    t.tf_dtype = dtypes.Get(k).As<Napi::Number>().Int32Value();
    const size_t rank = static_cast<size_t>(s[at++]);
    size_t count = 1;
    for (size_t d = 0; d < rank; d++) {
      t.shape.push_back(static_cast<int64_t>(s[at++]));
      count *= static_cast<size_t>(t.shape.back());
    }
    elements += count;
    t.b64 = b64.Get(k).ToBoolean().Value();
    Napi::Value data = datas.Get(k);
    if (data.IsTypedArray()) {
      Napi::TypedArray view = data.As<Napi::TypedArray>();
      t.data = static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    } else {
      Napi::Array items = data.As<Napi::Array>();
      t.strings.reserve(items.Length());
      for (uint32_t i = 0; i < items.Length(); i++) {
        Napi::TypedArray view = items.Get(i).As<Napi::TypedArray>();
        t.strings.emplace_back(static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset(),
                               view.ByteLength());
      }
    }
  }
  const bool reuse = info.Length() > 8 && info[8].ToBoolean().Value();
  auto handle = std::make_unique<EncoderHandle>(EncoderHandle{ResponseEncoder(kind, std::move(prefix), std::move(outputs))});
  CodecState& state = StateOf(info);
  TextBuffer& text = state.scratch;
  text.clear();
  const bool more = handle->encoder.Next(&text, limit);
  Napi::Value chunk;
  if (more && reuse && EnsureBlock(env, state, handle.get(), limit) && text.size() <= handle->half) {
    // a streamed response's first chunk goes to the reuse block too (copied: whether there is
    // more is known only once it is encoded), so the scratch block stays for the next response
    std::memcpy(handle->block, text.data(), text.size());
    chunk = BlockView(env, handle.get(), text.size());
    text.clear();
  } else {
    chunk = ChunkOf(env, text);
  }
  if (!more) return chunk;
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, chunk);
  pair.Set(1u, Napi::External<EncoderHandle>::New(env, handle.release(), [](Napi::Env e, EncoderHandle* h) { DeleteEncoder(e, h); }));
  return pair;
}

// The reuse block: two halves of `limit` plus the slack a chunk may pass it by (one batch of
// floats); false when JS refuses external memory (chunks are then Buffers of their own). A block
// comes from a finished response when one of this size is idle: V8 counts every new ArrayBuffer's
// length toward its next major GC, and at 262,144 floats a fresh 640 KiB block per response was
// a fifth of what each request added (the rest: its input and output tensors).
bool EnsureBlock(Napi::Env env, CodecState& state, EncoderHandle* h, size_t limit) {
  if (h->block != nullptr) return true;
  const size_t half = limit + 64 * 1024;
  for (size_t i = 0; i < state.idle_blocks.size(); i++) {
    if (state.idle_blocks[i].half != half) continue;
    h->block = state.idle_blocks[i].block;
    h->half = half;
    h->block_ref = state.idle_blocks[i].ref;
    h->turn = 0;
    state.idle_blocks.erase(state.idle_blocks.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }
  char* block = static_cast<char*>(std::malloc(2 * half));
  if (block == nullptr) throw std::bad_alloc();
  napi_value ab;
  if (napi_create_external_arraybuffer(env, block, 2 * half, [](napi_env, void* p, void*) { std::free(p); }, nullptr, &ab) !=
      napi_ok) {
    std::free(block);
    return false;
  }
  napi_create_reference(env, ab, 1, &h->block_ref);
  h->block = block;
  h->half = half;
  return true;
}

// The last `size` bytes written to the half whose turn it is, as a view; the turn passes on.
Napi::Value BlockView(Napi::Env env, EncoderHandle* h, size_t size) {
  const size_t offset = h->turn * h->half;
  h->turn ^= 1;
  napi_value ab;
  napi_get_reference_value(env, h->block_ref, &ab);
  return Napi::Uint8Array::New(env, size, Napi::ArrayBuffer(env, ab), offset);
}

// A finished response's block goes idle for the next one: by the reuse contract every chunk in it
// was handed to the socket (which copied it) before the call that found the text finished.
void RetireBlock(napi_env env, CodecState& state, EncoderHandle* h) {
  if (h->block == nullptr) return;
  if (state.idle_blocks.size() < kIdleBlocks) {
    state.idle_blocks.push_back({h->block, h->half, h->block_ref});
  } else {
    napi_delete_reference(env, h->block_ref);  // the ArrayBuffer frees the block when collected
  }
  h->block = nullptr;
  h->block_ref = nullptr;
}

// jsonEncoderNext(encoder, limit, reuse)
Napi::Value EncoderNextJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EncoderHandle* handle = info[0].As<Napi::External<EncoderHandle>>().Data();
  const size_t limit = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  const bool reuse = info.Length() > 2 && info[2].ToBoolean().Value();
  CodecState& state = StateOf(info);
  if (reuse && EnsureBlock(env, state, handle, limit)) {
    TextBuffer text;
    text.Attach(handle->block + handle->turn * handle->half, handle->half);
    handle->encoder.Next(&text, limit);
    if (text.size() == 0) {
      RetireBlock(env, state, handle);
      return env.Null();
    }
    if (!text.attached()) return ChunkOf(env, text);  // outgrew its half (a long string): its own Buffer
    return BlockView(env, handle, text.size());
  }
  TextBuffer& text = StateOf(info).scratch;
  text.clear();
  handle->encoder.Next(&text, limit);
  if (text.size() == 0) return env.Null();
  return ChunkOf(env, text);
}

}  // namespace

void RegisterJsonCodec(Napi::Env env, Napi::Object exports) {
  auto* state = new CodecState();
  napi_add_env_cleanup_hook(env, FreeState, state);
  auto add = [&](const char* name, Napi::Function::Callback fn) {
    exports.Set(name, Napi::Function::New(env, fn, name, state));
  };
  add("jsonMeta", MetaJs);
  add("jsonSlab", SlabJs);
  add("jsonSignatures", SignaturesJs);
  add("jsonDecodePredict", DecodePredictJs);
  add("jsonDecodeInfer", DecodeInferJs);
  add("jsonEncode", EncodeJs);
  add("jsonEncoderNext", EncoderNextJs);
}

}  // namespace json
}  // namespace jetserve
