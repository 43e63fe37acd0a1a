// Micro-benchmark of the native JSON codec on bench:rest's large TF-JSON body (262,144 floats
// with 7 decimals in [-1, 1), {"instances": [...]}) and its response ({"predictions": [...]} of
// the model's float32 outputs x/2 + 2): ns per element for the request decode (DecodePredict),
// the number parser alone (ParseJsonNumber over the same tokens, and the FloatRun pairing of
// ParseShortJsonNumber with it), the response encode (ResponseEncoder, 256 KiB chunks as the
// HTTP route asks for) and the float writer alone. Not part of `npm test` (timings); run by hand
// when changing native/json_*:
//
//   g++ -O2 -std=c++17 -Inative -Ideps/libtensorflow/include -Inode_modules/node-addon-api \
//       -Inode_modules/node-api-headers/include native/json_float_text.cc native/json_numbers.cc \
//       native/json_encode.cc native/json_reader.cc native/json_leaves.cc native/json_tfserving.cc \
//       test/wire/native/json-bench.cc -no-pie -Wl,-z,lazy -Wl,--unresolved-symbols=ignore-all \
//       -o /tmp/json-bench
//   /tmp/json-bench [elements] [rounds]
//
// (json_tfserving.cc includes tensor.h, hence napi.h; the N-API functions its inline code names
// are never called here, so they are left unresolved.) Build the HEAD version of the files the
// same way and alternate the two binaries: on the shared 2-core VM single runs vary by ±30%.
//
// 2026-12-06, quiet machine, best of 15: decode 8.1 ns per float (2.1 ms for the body), encode
// 18.4 ns per float (4.8 ms) — 23% and 43% of jetserve's CPU per request in bench:rest's
// 262,144-float row after the offload change (perf).
//
// 2026-12-07, WriteFloat32List (AVX-512 here: 8 values per step), shared VM, the two binaries
// alternated 8 times, best of 10 each (`json-bench 262144 10`), before → after:
//   encode (ResponseEncoder)  16.40 → 6.88 ns per float (4.3 → 1.8 ms for the response)
//   float writer alone        16.47 (WriteFloat32Text per value) → 6.87 (WriteFloat32List)
//   decode / ParseJsonNumber   6.41 / 5.48 → 6.45 / 5.47 (unchanged)
// Forced versions, same run: JETSERVE_JSON_SIMD=avx2 9.95 ns per float, JETSERVE_JSON_SIMD=0
// (scalar) 16.6, as before.
//
// 2026-12-07, ParseShortJsonNumber in Reader::FloatRun (no bounds checks, one SWAR step per digit
// run, for [-]I[.F] tokens with 32 bytes after them), same method, HEAD~3 → this:
//   decode (DecodePredict)    6.39 → 5.15 ns per float (1.7 → 1.35 ms for the body)
//   encode (ResponseEncoder) 16.13 → 6.86 ns per float
#include <tensorflow/c/c_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "json_codec.h"
#include "json_encode.h"
#include "json_float_text.h"
#include "json_number_parse.h"

using namespace jetserve::json;

namespace {

class MallocAllocator : public Allocator {
 public:
  Block Alloc(size_t bytes) override {
    Block b;
    b.data = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64));
    std::memset(b.data, 0, bytes);
    b.bytes = bytes;
    return b;
  }
  void Release(Block* block) override {
    std::free(block->data);
    block->data = nullptr;
  }
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best of `rounds` runs of fn, in ns per element.
template <typename F>
double Best(int rounds, size_t n, F&& fn) {
  double best = 1e30;
  for (int r = 0; r < rounds; r++) {
    const double t0 = Now();
    fn();
    best = std::min(best, (Now() - t0) * 1e9 / static_cast<double>(n));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 262144;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 20;
  // bench/rest.ts floats(): Number(((i * 7919 % 20011) / 10005.5 - 1).toFixed(7)), JSON.stringify'd
  std::string body = "{\"instances\":[";
  std::vector<float> values(n);
  std::vector<float> inputs(n);
  for (size_t i = 0; i < n; i++) {
    const double v = static_cast<double>((i * 7919) % 20011) / 10005.5 - 1;
    char buf[32];
    int len = std::snprintf(buf, sizeof buf, "%.7f", v);
    while (buf[len - 1] == '0') len--;
    if (buf[len - 1] == '.') len--;
    if (len == 2 && buf[0] == '-' && buf[1] == '0') {
      buf[0] = '0';
      len = 1;
    }
    if (i > 0) body += ',';
    body.append(buf, len);
    inputs[i] = static_cast<float>(std::strtod(std::string(buf, len).c_str(), nullptr));
    values[i] = inputs[i] / 2 + 2;
  }
  body += "]}";
  std::printf("body %zu bytes, %zu elements, best of %d\n", body.size(), n, rounds);

  SignatureTable table;
  Signature sig;
  sig.key = "serving_default";
  TensorSpec x;
  x.name = "x";
  x.tf_dtype = TF_FLOAT;
  x.supported = true;
  x.type_string = "float";
  x.kserve_datatype = "FP32";
  x.rank_known = true;
  x.shape = {-1};
  sig.inputs.push_back(x);
  sig.sorted = {0};
  TensorSpec y = x;
  y.name = "y";
  sig.outputs.push_back(y);
  table.signatures.push_back(sig);
  Limits limits;
  MallocAllocator alloc;
  const auto* bytes = reinterpret_cast<const uint8_t*>(body.data());

  {
    // the decoded tensor is the values strtod gives
    PredictRequest req;
    DecodePredict(bytes, body.size(), table, limits, alloc, &req);
    if (std::memcmp(req.tensors[0].block.data, inputs.data(), 4 * n) != 0) {
      std::printf("decoded values differ from strtod's\n");
      return 1;
    }
    ReleaseTensors(alloc, &req.tensors);
  }
  const double decode = Best(rounds, n, [&] {
    PredictRequest req;
    DecodePredict(bytes, body.size(), table, limits, alloc, &req);
    if (req.tensors.size() != 1 || req.tensors[0].shape[0] != static_cast<int64_t>(n)) std::abort();
    ReleaseTensors(alloc, &req.tensors);
  });
  std::vector<float> parsed(n);
  const double parse = Best(rounds, n, [&] {
    const uint8_t* p = bytes + 14;
    const uint8_t* end = bytes + body.size();
    for (size_t i = 0; i < n; i++) {
      double v;
      p = ParseJsonNumber(p, end, &v) + 1;
      parsed[i] = static_cast<float>(v);
    }
  });
  const double short_parse = Best(rounds, n, [&] {
    const uint8_t* p = bytes + 14;
    const uint8_t* end = bytes + body.size();
    for (size_t i = 0; i < n; i++) {
      double v;
      const uint8_t* e = end - p >= 32 ? ParseShortJsonNumber(p, &v) : nullptr;
      if (e == nullptr) e = ParseJsonNumber(p, end, &v);
      p = e + 1;
      parsed[i] = static_cast<float>(v);
    }
  });
  std::vector<char> text(n * 20 + 64);
  size_t text_bytes = 0;
  const double format = Best(rounds, n, [&] {
    char* w = text.data();
    for (size_t i = 0; i < n; i++) {
      w = WriteFloat32Text(values[i], w);
      *w++ = ',';
    }
    text_bytes = static_cast<size_t>(w - text.data());
  });
  size_t list_bytes = 0;
  const double list = Best(rounds, n, [&] {
    char* w = WriteFloat32List(reinterpret_cast<const uint8_t*>(values.data()), n, ",", 1, text.data());
    list_bytes = static_cast<size_t>(w - text.data());
  });
  size_t response_bytes = 0;
  const double encode = Best(rounds, n, [&] {
    OutputTensor t;
    t.key = "y";
    t.tf_dtype = TF_FLOAT;
    t.shape = {static_cast<int64_t>(n)};
    t.data = reinterpret_cast<const uint8_t*>(values.data());
    std::vector<OutputTensor> outs;
    outs.push_back(std::move(t));
    ResponseEncoder enc(ResponseEncoder::kRow, "", std::move(outs));
    TextBuffer chunk;
    response_bytes = 0;
    bool more = true;
    while (more) {
      chunk.clear();
      more = enc.Next(&chunk, 256 * 1024);
      response_bytes += chunk.size();
    }
  });
  std::printf("decode (DecodePredict)   %6.2f ns/element  %6.3f ms\n", decode, decode * n / 1e6);
  std::printf("  ParseJsonNumber alone  %6.2f ns/element  %6.3f ms\n", parse, parse * n / 1e6);
  std::printf("  ParseShortJsonNumber   %6.2f ns/element  %6.3f ms\n", short_parse, short_parse * n / 1e6);
  std::printf("encode (ResponseEncoder) %6.2f ns/element  %6.3f ms  (%zu bytes)\n", encode, encode * n / 1e6, response_bytes);
  std::printf("  WriteFloat32Text alone %6.2f ns/element  %6.3f ms  (%zu bytes)\n", format, format * n / 1e6, text_bytes);
  std::printf("  WriteFloat32List alone %6.2f ns/element  %6.3f ms  (%zu bytes)\n", list, list * n / 1e6, list_bytes);
  return 0;
}
