// One-off exhaustive check of native/json_float_text.cc: every one of the 2^32 float32 bit
// patterns is written by WriteFloat32Text and compared with TF Serving's definition spelled out
// with the C library: snprintf "%.6g", kept when strtod of it rounded to float is the value, else
// "%.9g"; ".0" appended when there is neither '.' nor 'e'; NaN / Infinity / -Infinity.
// Not part of `npm test` (it takes tens of minutes); test/wire/float-text.test.ts checks samples.
//
//   g++ -O2 -std=c++17 -pthread -Inative native/json_float_text.cc \
//       test/wire/native/float-text-exhaustive.cc -o /tmp/float-text-exhaustive
//   /tmp/float-text-exhaustive [threads] [first-pattern] [last-pattern] [list]
//
// With `list` it checks the batch writers instead: WriteFloat32ListAvx512 / WriteFloat32ListAvx2
// (where the CPU has them) and WriteFloat32ListScalar over each block of 2^20 consecutive patterns (separator "," or ", "
// by block), against WriteFloat32Text per value, which the default mode checks against the C
// library; about 4 minutes for all 2^32 patterns on 2 threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "json_float_text.h"

namespace {

std::string Reference(float value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(value));
  if (static_cast<float>(std::strtod(buf, nullptr)) != value) std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(value));
  std::string s(buf);
  if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) s += ".0";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned threads = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2;
  const uint64_t first = argc > 2 ? std::strtoull(argv[2], nullptr, 0) : 0;
  const uint64_t last = argc > 3 ? std::strtoull(argv[3], nullptr, 0) : 0xffffffffULL;
  const bool list = argc > 4 && std::strcmp(argv[4], "list") == 0;
  std::atomic<uint64_t> mismatches{0}, checked{0};
  std::atomic<uint64_t> next{first};
  constexpr uint64_t kBlock = 1 << 20;
  auto work_list = [&] {
    std::vector<uint32_t> patterns(kBlock);
    std::vector<char> want(kBlock * 18 + 64), got(kBlock * 18 + 64);
    for (;;) {
      const uint64_t begin = next.fetch_add(kBlock);
      if (begin > last) return;
      const uint64_t end = std::min(last + 1, begin + kBlock);
      const size_t n = static_cast<size_t>(end - begin);
      for (size_t k = 0; k < n; k++) patterns[k] = static_cast<uint32_t>(begin + k);
      const char* sep = (begin / kBlock) % 2 ? ", " : ",";
      const size_t sep_len = std::strlen(sep);
      char* w = want.data();
      for (size_t k = 0; k < n; k++) {
        if (k > 0) {
          std::memcpy(w, sep, sep_len);
          w += sep_len;
        }
        float v;
        std::memcpy(&v, &patterns[k], 4);
        w = jetserve::json::WriteFloat32Text(v, w);
      }
      const std::string expected(want.data(), w);
      const auto* bytes = reinterpret_cast<const uint8_t*>(patterns.data());
      for (int version = 0; version < 3; version++) {
        if (version == 1 && !jetserve::json::Float32ListAvx2Supported()) continue;
        if (version == 2 && !jetserve::json::Float32ListAvx512Supported()) continue;
        std::memset(got.data(), 0x55, got.size());
        char* e = version == 0   ? jetserve::json::WriteFloat32ListScalar(bytes, n, sep, sep_len, got.data())
                  : version == 1 ? jetserve::json::WriteFloat32ListAvx2(bytes, n, sep, sep_len, got.data())
                                 : jetserve::json::WriteFloat32ListAvx512(bytes, n, sep, sep_len, got.data());
        const std::string text(got.data(), e);
        if (text == expected) continue;
        // the first differing value
        size_t at = 0;
        while (at < text.size() && at < expected.size() && text[at] == expected[at]) at++;
        const size_t value = static_cast<size_t>(std::count(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(at), ','));
        if (mismatches.fetch_add(1) < 50) {
          std::fprintf(stderr, "MISMATCH (%s list) near bits 0x%08x: got '%.40s' want '%.40s'\n",
                       version == 0 ? "scalar" : version == 1 ? "avx2" : "avx512", patterns[std::min(value, n - 1)], text.c_str() + (at > 20 ? at - 20 : 0),
                       expected.c_str() + (at > 20 ? at - 20 : 0));
        }
      }
      const uint64_t total = checked.fetch_add(n) + n;
      if ((total & ((1ULL << 28) - 1)) < kBlock) std::fprintf(stderr, "checked %llu patterns\n", static_cast<unsigned long long>(total));
    }
  };
  auto work = [&] {
    char out[64];
    for (;;) {
      const uint64_t begin = next.fetch_add(kBlock);
      if (begin > last) return;
      const uint64_t end = std::min(last + 1, begin + kBlock);
      uint64_t local = 0;
      for (uint64_t b = begin; b < end; b++) {
        const uint32_t bits = static_cast<uint32_t>(b);
        float v;
        std::memcpy(&v, &bits, 4);
        std::memset(out, 0x55, sizeof out);
        char* e = jetserve::json::WriteFloat32Text(v, out);
        const std::string got(out, e);
        const std::string want = Reference(v);
        if (got != want && mismatches.fetch_add(1) < 50) {
          std::fprintf(stderr, "MISMATCH bits 0x%08x: got '%s' want '%s'\n", bits, got.c_str(), want.c_str());
        }
        local++;
      }
      const uint64_t total = checked.fetch_add(local) + local;
      if ((total & ((1ULL << 28) - 1)) < kBlock) std::fprintf(stderr, "checked %llu patterns\n", static_cast<unsigned long long>(total));
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; i++) {
    if (list) {
      pool.emplace_back(work_list);
    } else {
      pool.emplace_back(work);
    }
  }
  for (auto& t : pool) t.join();
  std::printf("checked %llu float32 bit patterns [0x%llx, 0x%llx]: %llu mismatches\n",
              static_cast<unsigned long long>(checked.load()), static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(last), static_cast<unsigned long long>(mismatches.load()));
  return mismatches.load() == 0 ? 0 : 1;
}
