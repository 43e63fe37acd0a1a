#include "json_float_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace jetserve {
namespace json {

namespace {

// 10^k for k in [-64, 64], each the double nearest to it (exact for 0 ≤ k ≤ 22).
constexpr int kPow10Bias = 64;
constexpr double kPow10[] = {
    1e-64, 1e-63, 1e-62, 1e-61, 1e-60, 1e-59, 1e-58, 1e-57, 1e-56, 1e-55, 1e-54, 1e-53, 1e-52, 1e-51,
    1e-50, 1e-49, 1e-48, 1e-47, 1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41, 1e-40, 1e-39, 1e-38, 1e-37,
    1e-36, 1e-35, 1e-34, 1e-33, 1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23,
    1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8,
    1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28,
    1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45,
    1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61, 1e62,
    1e63, 1e64
};

constexpr uint32_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

// a·10^k computed as one rounded constant times a: relative error ≤ 2^-52, so a scaled value
// below 2^30 is within 2^-22 of the exact one.
inline double Scale(double a, int k) { return a * kPow10[k + kPow10Bias]; }

// How close to a half the scaled value's fraction may come before the exact path decides: 4× the
// largest error of Scale() on values below 2^30.
constexpr double kTieMargin = 1.0 / (1 << 20);

const char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// The P significant digits of a, rounded half to even, with x the decimal exponent of the result
// (a ≈ D·10^(x-P+1), 10^(P-1) ≤ D < 10^P). `x` comes in as an estimate (off by one at most) and
// goes out exact. false when a fraction near a half leaves the rounding undecided.
template <int P>
inline bool RoundDigits(double a, int* x, uint32_t* digits) {
  int e = *x;
  for (int attempt = 0; attempt < 3; attempt++) {
    const double s = Scale(a, P - 1 - e);
    if (s >= kPow10[P + kPow10Bias]) {
      e++;
      continue;
    }
    if (s < kPow10[P - 1 + kPow10Bias]) {
      e--;
      continue;
    }
    const uint32_t whole = static_cast<uint32_t>(s);  // s > 0: truncation is floor
    const double frac = s - static_cast<double>(whole);
    if (std::fabs(frac - 0.5) < kTieMargin) return false;
    uint32_t d = whole + static_cast<uint32_t>(frac > 0.5);
    if (d == kPow10Int[P]) {
      d = kPow10Int[P - 1];
      e++;
    }
    *x = e;
    *digits = d;
    return true;
  }
  return false;
}

// Whether strtod of D·10^(x-5) (the 6-digit candidate), rounded to float, gives back the float
// whose absolute value is `a` (exponent field `field`, mantissa bits `mant`): 1 yes, 0 no, -1 too
// close to the rounding boundary to tell here.
inline int RoundTrips(double a, uint32_t field, uint32_t mant, uint32_t d6, int x6) {
  const double back = Scale(static_cast<double>(d6), x6 - 5);
  // half the distance to the neighbouring float above / below (below: half that at a power of 2):
  // 2^(field - 151), 2^-150 for subnormals, built from its bits
  const uint64_t half_bits = static_cast<uint64_t>((field == 0 ? 1 : field) - 151 + 1023) << 52;
  double half;
  std::memcpy(&half, &half_bits, 8);
  const double diff = back - a;
  if (mant == 0 && field > 1 && diff < 0) half *= 0.5;
  const double dist = std::fabs(diff);
  if (dist < half * (1 - kTieMargin)) return 1;
  if (dist > half * (1 + kTieMargin)) return 0;
  return -1;
}

// The 8 decimal digits of x < 10^8 as ASCII, the first in the lowest byte, computed in a register
// (four digit pairs in parallel lanes): no byte stores to read back, which would stall store
// forwarding.
inline uint64_t EightDigits(uint32_t x) {
  uint64_t merged = static_cast<uint64_t>(x / 10000) | (static_cast<uint64_t>(x % 10000) << 32);
  uint64_t tmp = ((merged * 10486) >> 20) & 0x0000007F0000007FULL;  // lane / 100
  merged = tmp | ((merged - tmp * 100) << 16);                       // [/100, %100] per 32-bit lane
  tmp = ((merged * 103) >> 10) & 0x000F000F000F000FULL;              // lane / 10
  return tmp | ((merged - tmp * 10) << 8) | 0x3030303030303030ULL;
}

inline void Store8(char* out, uint64_t v) { std::memcpy(out, &v, 8); }

// printf's %.{P}g text of a value whose significant digits are `first` then the 8 in `rest` (P = 6:
// the last 3 are '0'), decimal exponent x, with ".0" appended when it has neither '.' nor 'e'.
// Writes up to 32 bytes at out (the bytes past the returned end are scratch).
inline char* WriteG(int precision, char first, uint64_t rest, int x, char* out) {
  // significant digits without trailing zeros: 1 + the position of the last non-'0' in rest
  const uint64_t nonzero = rest ^ 0x3030303030303030ULL;
  const int n = nonzero == 0 ? 1 : 2 + (63 - __builtin_clzll(nonzero)) / 8;
  if (x >= -4 && x < precision) {
    if (x >= 0) {
      const int whole = x + 1;
      out[0] = first;
      Store8(out + 1, rest);
      if (n <= whole) {
        Store8(out + n, 0x3030303030303030ULL);  // whole - n ≤ 8 zeros
        out[whole] = '.';
        out[whole + 1] = '0';
        return out + whole + 2;
      }
      // whole ≤ 8 here: the digits after the point are rest's bytes from whole - 1 on
      out[whole] = '.';
      Store8(out + whole + 1, rest >> (8 * (whole - 1)));
      return out + n + 1;
    }
    Store8(out, 0x303030302e30ULL | (0x3030ULL << 48));  // "0.0000.." then the digits at 1 - x
    out += 1 - x;
    out[0] = first;
    Store8(out + 1, rest);
    return out + n;
  }
  out[0] = first;
  if (n > 1) {
    out[1] = '.';
    Store8(out + 2, rest);
    out += n + 1;
  } else {
    out += 1;
  }
  out[0] = 'e';
  out[1] = x < 0 ? '-' : '+';
  const uint32_t ax = static_cast<uint32_t>(x < 0 ? -x : x);  // ≤ 45 for a float
  std::memcpy(out + 2, kDigitPairs + 2 * ax, 2);
  return out + 4;
}

inline char* WriteNineDigits(uint32_t d9, int x, char* out) {
  const uint32_t first = d9 / 100000000;
  return WriteG(9, static_cast<char>('0' + first), EightDigits(d9 - first * 100000000), x, out);
}

inline char* WriteSixDigits(uint32_t d6, int x, char* out) {
  const uint64_t eight = EightDigits(d6 * 100);  // d6's 6 digits then "00"
  return WriteG(6, static_cast<char>(eight & 0xff), (eight >> 8) | (0x30ULL << 56), x, out);
}

char* FormatG(double v, int precision, char* out) {
  auto r = std::to_chars(out, out + 32, v, std::chars_format::general, precision);
  return r.ptr;
}

bool ParsesBackToFloat(const char* begin, const char* end, float v) {
  double d = 0;
  auto r = std::from_chars(begin, end, d);
  if (r.ec != std::errc()) d = std::strtod(std::string(begin, end).c_str(), nullptr);
  return static_cast<float>(d) == v;
}

char* NonFinite(float v, char* out) {
  const char* text = std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  const size_t n = std::strlen(text);
  std::memcpy(out, text, n);
  return out + n;
}

}  // namespace

char* WriteFloat32TextExact(float value, char* out) {
  if (!std::isfinite(value)) return NonFinite(value, out);
  const double v = value;
  char* end = FormatG(v, 6, out);
  if (!ParsesBackToFloat(out, end, value)) end = FormatG(v, 9, out);
  for (char* p = out; p < end; p++) {
    if (*p == '.' || *p == 'e') return end;
  }
  end[0] = '.';
  end[1] = '0';
  return end + 2;
}

char* WriteFloat32Text(float value, char* out) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint32_t field = (bits >> 23) & 0xff;
  const uint32_t mant = bits & 0x7fffff;
  if (field == 0xff) return NonFinite(value, out);
  if ((bits & 0x7fffffff) == 0) {
    if (bits >> 31) *out++ = '-';
    std::memcpy(out, "0.0", 3);
    return out + 3;
  }
  char* const start = out;
  if (bits >> 31) *out++ = '-';
  const double a = std::fabs(static_cast<double>(value));
  // the decimal exponent: floor(e2·log10 2) from the binary exponent is the true one or one less
  uint64_t dbits;
  std::memcpy(&dbits, &a, 8);
  const int e2 = static_cast<int>((dbits >> 52) & 0x7ff) - 1023;
  int x9 = (e2 * 1233) >> 12;
  x9 += static_cast<int>(a >= kPow10[x9 + 1 + kPow10Bias]);
  uint32_t d9;
  if (!RoundDigits<9>(a, &x9, &d9)) return WriteFloat32TextExact(value, start);
  // the 6-digit candidate from the 9 digits: exact unless they end in exactly 500
  uint32_t d6 = d9 / 1000;
  const uint32_t dropped = d9 - d6 * 1000;
  // Most values need 9 digits, and most of those are known to without the round-trip test: the
  // 6-digit candidate is min(dropped, 1000 - dropped) units of the 9th digit from d9, so more than
  // that minus 0.5 from the value, while half the gap to a neighbouring float is below
  // 2^-24·10^9 < 59.7 of those units for a normal float (a < 10^(x9+1) and half an ulp ≤ 2^-24·a).
  // Over 60 units away, strtod of the candidate (even rounded to double first) cannot come back.
  // bench:rest's response values (x/2 + 2): ~88% skip the test; 18.5 → 17.3 ns per value (A/B, 2-core VM).
  const uint32_t off = dropped < 500 ? dropped : 1000 - dropped;
  if (off > 60 && field != 0) return WriteNineDigits(d9, x9, out);
  int x6 = x9;
  if (dropped == 500) {
    if (!RoundDigits<6>(a, &x6, &d6)) return WriteFloat32TextExact(value, start);
  } else {
    d6 += static_cast<uint32_t>(dropped > 500);
    if (d6 == kPow10Int[6]) {
      d6 = kPow10Int[5];
      x6++;
    }
  }
  const int trip = RoundTrips(a, field, mant, d6, x6);
  if (trip < 0) return WriteFloat32TextExact(value, start);
  return trip ? WriteSixDigits(d6, x6, out) : WriteNineDigits(d9, x9, out);
}

}  // namespace json
}  // namespace jetserve
