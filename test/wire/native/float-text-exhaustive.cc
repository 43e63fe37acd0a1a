// One-off exhaustive check of native/json_float_text.cc: every one of the 2^32 float32 bit
// patterns is written by WriteFloat32Text and compared with TF Serving's definition spelled out
// with the C library: snprintf "%.6g", kept when strtod of it rounded to float is the value, else
// "%.9g"; ".0" appended when there is neither '.' nor 'e'; NaN / Infinity / -Infinity.
// Not part of `npm test` (it takes tens of minutes); test/wire/float-text.test.ts checks samples.
//
//   g++ -O2 -std=c++17 -pthread -Inative native/json_float_text.cc \
//       test/wire/native/float-text-exhaustive.cc -o /tmp/float-text-exhaustive
//   /tmp/float-text-exhaustive [threads] [first-pattern] [last-pattern]
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
  std::atomic<uint64_t> mismatches{0}, checked{0};
  std::atomic<uint64_t> next{first};
  constexpr uint64_t kBlock = 1 << 20;
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
  for (unsigned i = 0; i < threads; i++) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  std::printf("checked %llu float32 bit patterns [0x%llx, 0x%llx]: %llu mismatches\n",
              static_cast<unsigned long long>(checked.load()), static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(last), static_cast<unsigned long long>(mismatches.load()));
  return mismatches.load() == 0 ? 0 : 1;
}
