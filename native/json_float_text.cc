#include "json_float_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
// n: the number of significant digits without trailing zeros (SignificantDigits).
inline char* WriteGN(int precision, char first, uint64_t rest, int x, int n, char* out) {
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

// 1 + the position of the last non-'0' in rest
inline int SignificantDigits(uint64_t rest) {
  const uint64_t nonzero = rest ^ 0x3030303030303030ULL;
  return nonzero == 0 ? 1 : 2 + (63 - __builtin_clzll(nonzero)) / 8;
}

inline char* WriteG(int precision, char first, uint64_t rest, int x, char* out) {
  return WriteGN(precision, first, rest, x, SignificantDigits(rest), out);
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

char* WriteFloat32ListScalar(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out) {
  for (size_t i = 0; i < n; i++) {
    float v;
    std::memcpy(&v, data + 4 * i, 4);
    if (i > 0) {
      std::memcpy(out, sep, 2);
      out += sep_len;
    }
    out = WriteFloat32Text(v, out);
  }
  return out;
}

#if defined(__x86_64__)

namespace {

// Per float exponent field f: 10^(7-xe) and 10^(8-xe) for the decimal exponent estimate
// xe = floor((f - 127)·log10 2) (the lookup for both scalings in one 16-byte load).
struct ScalePair {
  double lo, hi;
};
struct ScaleTable {
  ScalePair p[256];
};
constexpr ScaleTable MakeScaleTable() {
  ScaleTable t{};
  for (int f = 0; f < 256; f++) {
    const int xe = ((f - 127) * 1233) >> 12;
    t.p[f].lo = kPow10[7 - xe + kPow10Bias];
    t.p[f].hi = kPow10[8 - xe + kPow10Bias];
  }
  return t;
}
constexpr ScaleTable kScaleByField = MakeScaleTable();

__attribute__((target("avx2"))) inline __m256d Floor(__m256d v) {
  return _mm256_round_pd(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

}  // namespace

// WriteFloat32Text's fast path for 4 values at a time (AVX2, 4 doubles per register): the scaling,
// the rounding to 9 digits, the 6-or-9 decision and the ASCII digits come out of vector code for
// all four, only the text layout (WriteG) is scalar, per value. The scalar writer is
// latency-bound (a long chain of dependent operations per value, few values in flight); here four
// values share one chain, shortened where it could be (the round trip is tested in the scaled
// domain, without a third power of ten). Lanes the fast path leaves (zero, subnormal, Inf/NaN, a
// rounding too close to a tie to decide, a product off the expected decade) go through
// WriteFloat32Text.
__attribute__((target("avx2"))) char* WriteFloat32ListAvx2(const uint8_t* data, size_t n, const char* sep,
                                                          size_t sep_len, char* out) {
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d e8 = _mm256_set1_pd(1e8);
  const __m256d e9 = _mm256_set1_pd(1e9);
  const __m256d thousand = _mm256_set1_pd(1000);
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  // the separator in a register (the text stores could alias `sep`, so a memcpy from it is
  // reloaded after each of them)
  uint16_t sep2;
  std::memcpy(&sep2, sep, 2);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 4 * i));
    uint32_t w[4];
    std::memcpy(w, data + 4 * i, 16);
    // the scale pairs of the four values: [lo0 hi0 | lo2 hi2] and [lo1 hi1 | lo3 hi3]
    const ScalePair* t = kScaleByField.p;
    const __m256d p02 = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(&t[(w[0] >> 23) & 0xff].lo)),
                                             _mm_loadu_pd(&t[(w[2] >> 23) & 0xff].lo), 1);
    const __m256d p13 = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(&t[(w[1] >> 23) & 0xff].lo)),
                                             _mm_loadu_pd(&t[(w[3] >> 23) & 0xff].lo), 1);
    const __m256d p_lo = _mm256_unpacklo_pd(p02, p13);
    const __m256d p_hi = _mm256_unpackhi_pd(p02, p13);
    const __m128i field = _mm_and_si128(_mm_srli_epi32(bits, 23), _mm_set1_epi32(0xff));
    // normal: 0 < field < 255
    const __m128i normal32 = _mm_andnot_si128(_mm_cmpeq_epi32(field, _mm_setzero_si128()),
                                              _mm_cmpgt_epi32(_mm_set1_epi32(255), field));
    const __m256d a = _mm256_and_pd(_mm256_cvtps_pd(_mm_castsi128_ps(bits)), abs_mask);
    const __m128i e2 = _mm_sub_epi32(field, _mm_set1_epi32(127));
    const __m256i xe = _mm256_cvtepi32_epi64(_mm_srai_epi32(_mm_mullo_epi32(e2, _mm_set1_epi32(1233)), 12));
    const __m256d s_hi = _mm256_mul_pd(a, p_hi);  // a·10^(8-xe)
    const __m256d up = _mm256_cmp_pd(s_hi, e9, _CMP_GE_OQ);
    const __m256d scale = _mm256_blendv_pd(p_hi, p_lo, up);
    const __m256d s = _mm256_mul_pd(a, scale);
    __m256i x = _mm256_sub_epi64(xe, _mm256_castpd_si256(up));  // mask lanes are -1
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(s, e8, _CMP_GE_OQ), _mm256_cmp_pd(s, e9, _CMP_LT_OQ));
    ok = _mm256_and_pd(ok, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(normal32)));
    // RoundDigits<9> (d9 may be 10^9 here: the carry into a 10th digit is applied at the end)
    const __m256d whole = Floor(s);
    const __m256d frac = _mm256_sub_pd(s, whole);
    const __m256d tie_dist = _mm256_and_pd(_mm256_sub_pd(frac, _mm256_set1_pd(0.5)), abs_mask);
    ok = _mm256_and_pd(ok, _mm256_cmp_pd(tie_dist, _mm256_set1_pd(kTieMargin), _CMP_GE_OQ));
    const __m256d d9 = _mm256_add_pd(whole, _mm256_and_pd(_mm256_cmp_pd(frac, _mm256_set1_pd(0.5), _CMP_GT_OQ), one));
    // the 6-digit candidate D6·1000 in the same units (1e-3 rounds up and d9 < 2^30: the floor is
    // exact), and its round trip: RoundTrips with both sides times the scale
    const __m256d q = Floor(_mm256_mul_pd(d9, _mm256_set1_pd(1e-3)));
    const __m256d dropped = _mm256_sub_pd(d9, _mm256_mul_pd(q, thousand));
    const __m256d d6k = _mm256_mul_pd(
        _mm256_add_pd(q, _mm256_and_pd(_mm256_cmp_pd(dropped, _mm256_set1_pd(500), _CMP_GT_OQ), one)), thousand);
    const __m256d off = _mm256_min_pd(dropped, _mm256_sub_pd(thousand, dropped));
    const __m256d near = _mm256_cmp_pd(off, _mm256_set1_pd(60), _CMP_LE_OQ);
    const __m256d diff = _mm256_sub_pd(d6k, s);
    // half the gap to the neighbouring floats, 2^(field - 151), built from its bits, times the scale
    __m256d half = _mm256_mul_pd(
        _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_cvtepi32_epi64(_mm_add_epi32(field, _mm_set1_epi32(1023 - 151))), 52)),
        scale);
    // below a power of two the gap is half as wide
    const __m128i pow2 = _mm_and_si128(_mm_cmpeq_epi32(_mm_and_si128(bits, _mm_set1_epi32(0x7fffff)), _mm_setzero_si128()),
                                       _mm_cmpgt_epi32(field, _mm_set1_epi32(1)));
    const __m256d below = _mm256_and_pd(_mm256_castsi256_pd(_mm256_cvtepi32_epi64(pow2)),
                                        _mm256_cmp_pd(diff, _mm256_setzero_pd(), _CMP_LT_OQ));
    half = _mm256_blendv_pd(half, _mm256_mul_pd(half, _mm256_set1_pd(0.5)), below);
    const __m256d dist = _mm256_and_pd(diff, abs_mask);
    const __m256d inside = _mm256_cmp_pd(dist, _mm256_mul_pd(half, _mm256_set1_pd(1 - kTieMargin)), _CMP_LT_OQ);
    const __m256d outside = _mm256_cmp_pd(dist, _mm256_mul_pd(half, _mm256_set1_pd(1 + kTieMargin)), _CMP_GT_OQ);
    ok = _mm256_andnot_pd(_mm256_andnot_pd(_mm256_or_pd(inside, outside), near), ok);
    const __m256d six = _mm256_and_pd(near, inside);
    // the digits: 6 then "000" (the same text once trimmed) or 9; 10^9 is 10^8 one decade up
    __m256d d = _mm256_blendv_pd(d9, d6k, six);
    const __m256d carry = _mm256_cmp_pd(d, e9, _CMP_EQ_OQ);
    d = _mm256_blendv_pd(d, e8, carry);
    x = _mm256_sub_epi64(x, _mm256_castpd_si256(carry));
    // first digit, then the other 8 as [4 | 4] in each 64-bit lane for EightDigits' SWAR
    const __m256d e4 = _mm256_set1_pd(1e4);
    const __m256d first = Floor(_mm256_mul_pd(d, _mm256_set1_pd(1e-8)));
    const __m256d t4 = Floor(_mm256_mul_pd(d, _mm256_set1_pd(1e-4)));
    const __m256d hi4 = _mm256_sub_pd(t4, _mm256_mul_pd(first, e4));
    const __m256d lo4 = _mm256_sub_pd(d, _mm256_mul_pd(t4, e4));
    const __m128i hi4i = _mm256_cvttpd_epi32(hi4);
    const __m128i lo4i = _mm256_cvttpd_epi32(lo4);
    __m256i m = _mm256_set_m128i(_mm_unpackhi_epi32(hi4i, lo4i), _mm_unpacklo_epi32(hi4i, lo4i));
    __m256i tq = _mm256_srli_epi32(_mm256_mullo_epi32(m, _mm256_set1_epi32(10486)), 20);
    m = _mm256_or_si256(tq, _mm256_slli_epi32(_mm256_sub_epi32(m, _mm256_mullo_epi32(tq, _mm256_set1_epi32(100))), 16));
    tq = _mm256_srli_epi16(_mm256_mullo_epi16(m, _mm256_set1_epi16(103)), 10);
    m = _mm256_or_si256(_mm256_or_si256(tq, _mm256_slli_epi16(_mm256_sub_epi16(m, _mm256_mullo_epi16(tq, _mm256_set1_epi16(10))), 8)),
                        _mm256_set1_epi8('0'));
    const __m128i firsts = _mm256_cvttpd_epi32(first);
    const int ok_bits = _mm256_movemask_pd(ok);
    const int six_bits = _mm256_movemask_pd(six);
    const uint32_t signs = static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(bits)));
    if (ok_bits == 0xf) {
      // each value is followed by the separator (the last one's is dropped at the end)
#define JETSERVE_LANE(K)                                                                              \
  out[0] = '-';                                                                                       \
  out += (signs >> K) & 1;                                                                            \
  out = WriteG((six_bits >> K) & 1 ? 6 : 9, static_cast<char>('0' + _mm_extract_epi32(firsts, K)),   \
               static_cast<uint64_t>(_mm256_extract_epi64(m, K)), static_cast<int>(_mm256_extract_epi64(x, K)), out); \
  std::memcpy(out, &sep2, 2);                                                                         \
  out += sep_len;
      JETSERVE_LANE(0)
      JETSERVE_LANE(1)
      JETSERVE_LANE(2)
      JETSERVE_LANE(3)
#undef JETSERVE_LANE
      continue;
    }
    alignas(32) uint64_t rest[4];
    alignas(32) int64_t xs[4];
    alignas(16) int32_t fs[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(rest), m);
    _mm256_store_si256(reinterpret_cast<__m256i*>(xs), x);
    _mm_store_si128(reinterpret_cast<__m128i*>(fs), firsts);
    for (int k = 0; k < 4; k++) {
      if (!((ok_bits >> k) & 1)) {
        float v;
        std::memcpy(&v, data + 4 * (i + k), 4);
        out = WriteFloat32Text(v, out);
      } else {
        out[0] = '-';
        out += (signs >> k) & 1;
        out = WriteG((six_bits >> k) & 1 ? 6 : 9, static_cast<char>('0' + fs[k]), rest[k], static_cast<int>(xs[k]), out);
      }
      std::memcpy(out, &sep2, 2);
      out += sep_len;
    }
  }
  if (i == 0) return WriteFloat32ListScalar(data, n, sep, sep_len, out);
  if (i == n) return out - sep_len;
  return WriteFloat32ListScalar(data + 4 * i, n - i, sep, sep_len, out);
}

bool Float32ListAvx2Supported() { return __builtin_cpu_supports("avx2"); }

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* arguments
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// WriteFloat32ListAvx2's steps for 8 values at a time (AVX-512: 8 doubles per register, compares
// into mask registers, the digit count from a vector leading-zero count). Each step is the AVX2
// one; see there.
namespace {

struct alignas(64) Digits8 {
  uint64_t rest[8];  // digits 2–9, ASCII
  int64_t xs[8];     // decimal exponent
  int64_t ns[8];     // significant digits
  int32_t fs[8];     // first digit
  uint32_t ok, six, signs;  // bit k: value k on the fast path / 6 digits / negative
};

__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512cd"), always_inline)) inline void Digits8Avx512(
    const uint8_t* p, Digits8* g) {
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512d e8 = _mm512_set1_pd(1e8);
  const __m512d e9 = _mm512_set1_pd(1e9);
  const __m512d thousand = _mm512_set1_pd(1000);
  const __m512i abs_bits = _mm512_set1_epi64(0x7fffffffffffffffLL);
  const double* table = &kScaleByField.p[0].lo;
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i field = _mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xff));
  const __mmask8 normal = _mm256_cmpgt_epi32_mask(field, _mm256_setzero_si256()) &
                          _mm256_cmpgt_epi32_mask(_mm256_set1_epi32(255), field);
  const __m256i pair = _mm256_slli_epi32(field, 1);
  const __m512d p_lo = _mm512_i32gather_pd(pair, table, 8);
  const __m512d p_hi = _mm512_i32gather_pd(_mm256_add_epi32(pair, _mm256_set1_epi32(1)), table, 8);
  const __m512d a = _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(_mm512_cvtps_pd(_mm256_castsi256_ps(bits))), abs_bits));
  const __m256i e2 = _mm256_sub_epi32(field, _mm256_set1_epi32(127));
  const __m512i xe = _mm512_cvtepi32_epi64(_mm256_srai_epi32(_mm256_mullo_epi32(e2, _mm256_set1_epi32(1233)), 12));
  const __mmask8 up = _mm512_cmp_pd_mask(_mm512_mul_pd(a, p_hi), e9, _CMP_GE_OQ);
  const __m512d scale = _mm512_mask_blend_pd(up, p_hi, p_lo);
  const __m512d s = _mm512_mul_pd(a, scale);
  __m512i x = _mm512_mask_add_epi64(xe, up, xe, _mm512_set1_epi64(1));
  __mmask8 ok = normal & _mm512_cmp_pd_mask(s, e8, _CMP_GE_OQ) & _mm512_cmp_pd_mask(s, e9, _CMP_LT_OQ);
  const __m512d whole = _mm512_roundscale_pd(s, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512d frac = _mm512_sub_pd(s, whole);
  const __m512d tie_dist = _mm512_abs_pd(_mm512_sub_pd(frac, _mm512_set1_pd(0.5)));
  ok &= _mm512_cmp_pd_mask(tie_dist, _mm512_set1_pd(kTieMargin), _CMP_GE_OQ);
  const __m512d d9 = _mm512_mask_add_pd(whole, _mm512_cmp_pd_mask(frac, _mm512_set1_pd(0.5), _CMP_GT_OQ), whole, one);
  const __m512d q = _mm512_roundscale_pd(_mm512_mul_pd(d9, _mm512_set1_pd(1e-3)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512d dropped = _mm512_sub_pd(d9, _mm512_mul_pd(q, thousand));
  const __m512d d6k = _mm512_mul_pd(
      _mm512_mask_add_pd(q, _mm512_cmp_pd_mask(dropped, _mm512_set1_pd(500), _CMP_GT_OQ), q, one), thousand);
  const __m512d off = _mm512_min_pd(dropped, _mm512_sub_pd(thousand, dropped));
  const __mmask8 near = _mm512_cmp_pd_mask(off, _mm512_set1_pd(60), _CMP_LE_OQ);
  const __m512d diff = _mm512_sub_pd(d6k, s);
  __m512d half = _mm512_mul_pd(
      _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_cvtepi32_epi64(_mm256_add_epi32(field, _mm256_set1_epi32(1023 - 151))), 52)),
      scale);
  const __mmask8 pow2 = _mm256_testn_epi32_mask(bits, _mm256_set1_epi32(0x7fffff)) &
                        _mm256_cmpgt_epi32_mask(field, _mm256_set1_epi32(1));
  const __mmask8 below = pow2 & _mm512_cmp_pd_mask(diff, _mm512_setzero_pd(), _CMP_LT_OQ);
  half = _mm512_mask_mul_pd(half, below, half, _mm512_set1_pd(0.5));
  const __m512d dist = _mm512_abs_pd(diff);
  const __mmask8 inside = _mm512_cmp_pd_mask(dist, _mm512_mul_pd(half, _mm512_set1_pd(1 - kTieMargin)), _CMP_LT_OQ);
  const __mmask8 outside = _mm512_cmp_pd_mask(dist, _mm512_mul_pd(half, _mm512_set1_pd(1 + kTieMargin)), _CMP_GT_OQ);
  ok &= static_cast<__mmask8>(~(near & ~inside & ~outside));
  const __mmask8 six = near & inside;
  __m512d d = _mm512_mask_blend_pd(six, d9, d6k);
  const __mmask8 carry = _mm512_cmp_pd_mask(d, e9, _CMP_EQ_OQ);
  d = _mm512_mask_blend_pd(carry, d, e8);
  x = _mm512_mask_add_epi64(x, carry, x, _mm512_set1_epi64(1));
  const __m512d e4 = _mm512_set1_pd(1e4);
  const __m512d first = _mm512_roundscale_pd(_mm512_mul_pd(d, _mm512_set1_pd(1e-8)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512d t4 = _mm512_roundscale_pd(_mm512_mul_pd(d, _mm512_set1_pd(1e-4)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512d hi4 = _mm512_sub_pd(t4, _mm512_mul_pd(first, e4));
  const __m512d lo4 = _mm512_sub_pd(d, _mm512_mul_pd(t4, e4));
  __m512i m = _mm512_or_si512(_mm512_cvtepu32_epi64(_mm512_cvttpd_epi32(hi4)),
                              _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_cvttpd_epi32(lo4)), 32));
  __m512i tq = _mm512_srli_epi32(_mm512_mullo_epi32(m, _mm512_set1_epi32(10486)), 20);
  m = _mm512_or_si512(tq, _mm512_slli_epi32(_mm512_sub_epi32(m, _mm512_mullo_epi32(tq, _mm512_set1_epi32(100))), 16));
  tq = _mm512_srli_epi16(_mm512_mullo_epi16(m, _mm512_set1_epi16(103)), 10);
  m = _mm512_or_si512(_mm512_or_si512(tq, _mm512_slli_epi16(_mm512_sub_epi16(m, _mm512_mullo_epi16(tq, _mm512_set1_epi16(10))), 8)),
                      _mm512_set1_epi8('0'));
  // SignificantDigits per lane: 1 + the position of the last non-'0' byte (lzcnt of 0 is 64)
  const __m512i nonzero = _mm512_xor_si512(m, _mm512_set1_epi8('0'));
  const __m512i sig = _mm512_sub_epi64(_mm512_set1_epi64(9), _mm512_srli_epi64(_mm512_lzcnt_epi64(nonzero), 3));
  _mm512_store_si512(g->rest, m);
  _mm512_store_si512(g->xs, x);
  _mm512_store_si512(g->ns, sig);
  _mm256_store_si256(reinterpret_cast<__m256i*>(g->fs), _mm512_cvttpd_epi32(first));
  g->signs = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(bits)));
  g->ok = ok;
  g->six = six;
}

}  // namespace

// Software-pipelined: the digits of the next 8 values are computed (in program order) before the
// text of the current 8 is laid out, so their long dependency chain runs while the layout's
// stores retire instead of waiting for reorder-buffer room behind them.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512cd"))) char* WriteFloat32ListAvx512(
    const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out) {
  uint16_t sep2;
  std::memcpy(&sep2, sep, 2);
  Digits8 groups[2];
  if (n >= 8) Digits8Avx512(data, &groups[0]);
  size_t i = 0;
  for (int turn = 0; i + 8 <= n; i += 8, turn ^= 1) {
    if (i + 16 <= n) Digits8Avx512(data + 4 * (i + 8), &groups[turn ^ 1]);
    const Digits8& g = groups[turn];
    for (int k = 0; k < 8; k++) {
      if (!((g.ok >> k) & 1)) {
        float v;
        std::memcpy(&v, data + 4 * (i + k), 4);
        out = WriteFloat32Text(v, out);
      } else {
        out[0] = '-';
        out += (g.signs >> k) & 1;
        out = WriteGN((g.six >> k) & 1 ? 6 : 9, static_cast<char>('0' + g.fs[k]), g.rest[k], static_cast<int>(g.xs[k]),
                      static_cast<int>(g.ns[k]), out);
      }
      std::memcpy(out, &sep2, 2);
      out += sep_len;
    }
  }
  if (i == 0) return WriteFloat32ListAvx2(data, n, sep, sep_len, out);
  if (i == n) return out - sep_len;
  return WriteFloat32ListAvx2(data + 4 * i, n - i, sep, sep_len, out);
}

#pragma GCC diagnostic pop

bool Float32ListAvx512Supported() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
}


#else

char* WriteFloat32ListAvx2(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out) {
  return WriteFloat32ListScalar(data, n, sep, sep_len, out);
}
bool Float32ListAvx2Supported() { return false; }
char* WriteFloat32ListAvx512(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out) {
  return WriteFloat32ListScalar(data, n, sep, sep_len, out);
}
bool Float32ListAvx512Supported() { return false; }

#endif

namespace {
using ListWriter = char* (*)(const uint8_t*, size_t, const char*, size_t, char*);
// Chosen once (the addon ships prebuilt for any x86-64): AVX-512, else AVX2, else scalar;
// JETSERVE_JSON_SIMD=0 forces the scalar path, =avx2 the AVX2 one (tests compare them).
ListWriter ChooseListWriter() {
  const char* env = std::getenv("JETSERVE_JSON_SIMD");
  if (env != nullptr && std::strcmp(env, "0") == 0) return WriteFloat32ListScalar;
  if (env != nullptr && std::strcmp(env, "avx2") == 0 && Float32ListAvx2Supported()) return WriteFloat32ListAvx2;
  if (Float32ListAvx512Supported()) return WriteFloat32ListAvx512;
  return Float32ListAvx2Supported() ? WriteFloat32ListAvx2 : WriteFloat32ListScalar;
}
const ListWriter kListWriter = ChooseListWriter();
}  // namespace

char* WriteFloat32List(const uint8_t* data, size_t n, const char* sep, size_t sep_len, char* out) {
  return kListWriter(data, n, sep, sep_len, out);
}

}  // namespace json
}  // namespace jetserve
