// TF Serving's float32 text, fast: printf "%.6g" when it parses back (strtod, then to float) to
// the value, else "%.9g"; ".0" appended when the text has neither '.' nor 'e'; NaN, Infinity,
// -Infinity. Byte for byte what src/wire/json/writer.ts formatFloat32 writes.
//
// How: the 9 significant digits come from one double multiplication or division by an exact power
// of ten (|error| < 2^-23 of a unit in the last digit, so the rounding is decided unless the
// fraction is within 2^-20 of a half), the 6-digit candidate from those 9 digits (exact unless they
// end in 500), and its round trip from one more exact operation (strtod's correctly rounded double
// is the correctly rounded D·10^k, which IEEE multiplication / division of exact operands also
// gives; skipped when the candidate is farther from the value than half a float's ulp can be).
// Anything undecided (near-ties, decimal exponents beyond ±22 of the scaling) goes through
// std::to_chars with a precision (exact, printf's rounding) and std::from_chars. Checked against
// snprintf / strtod over all 2^32 float bit patterns (test/wire/float-text-exhaustive.cc, one-off;
// since the round-trip skip re-run on all subnormals and [0x34000000, 0x4cffffff], 436 M patterns)
// and on samples in `npm test`.
//
// Lists (WriteFloat32List, what ResponseEncoder uses for flat float32 lists): the same steps for
// 4 (AVX2) or 8 (AVX-512) values at a time in vector registers — 9 digits, the 6-or-9 decision
// (the round trip tested on the scaled values: (D6·1000 − s) against half an ulp times the scale,
// no third power of ten), the ASCII digits — with only the text layout per value; lanes off that
// path (0, subnormals, Inf/NaN, undecided roundings) go through WriteFloat32Text. Chosen at load
// by CPU (__builtin_cpu_supports; the addon is built without -march). Checked against
// WriteFloat32Text over all 2^32 patterns, each version (float-text-exhaustive.cc `list`, built
// with the addon's -O3 -fPIC). The scalar writer is latency-bound (one long dependent chain per
// value); sharing the chain among 8 values is what makes the list writer ~2.4× faster.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jetserve {
namespace json {

// Needs 32 bytes of room at `out` (the bytes past the returned end are scratch); returns the end.
char* WriteFloat32Text(float value, char* out);

// The exact path alone (std::to_chars / std::from_chars), for tests and the undecided cases.
char* WriteFloat32TextExact(float value, char* out);

// n float32s (4 bytes each at `data`, any alignment) as WriteFloat32Text writes them, `sep`
// between them (2 bytes are copied, sep_len of them kept). Needs n * (15 + sep_len) + 32 bytes of
// room at `out`; returns the end. Uses the AVX-512 or else the AVX2 version where the CPU has it
// (chosen once at load; JETSERVE_JSON_SIMD=0 in the environment forces the scalar one, =avx2 the
// AVX2 one).
char* WriteFloat32List(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out);

// The versions, for tests and benchmarks. WriteFloat32ListAvx2 / Avx512 only where
// Float32ListAvx2Supported() / Float32ListAvx512Supported().
char* WriteFloat32ListScalar(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out);
char* WriteFloat32ListAvx2(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out);
bool Float32ListAvx2Supported();
char* WriteFloat32ListAvx512(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out);
bool Float32ListAvx512Supported();

}  // namespace json
}  // namespace jetserve
