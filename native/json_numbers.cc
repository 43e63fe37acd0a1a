#include "json_numbers.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace jetserve {
namespace json {

double ParseDouble(const uint8_t* first, const uint8_t* last) {
  const char* f = reinterpret_cast<const char*>(first);
  const char* l = reinterpret_cast<const char*>(last);
  double value = 0;
  auto r = std::from_chars(f, l, value);
  if (r.ec == std::errc()) return value;
  // out of range: strtod says whether it overflowed (±HUGE_VAL) or underflowed (±0)
  std::string copy(f, l);
  return std::strtod(copy.c_str(), nullptr);
}

double NumberFromToken(const uint8_t* first, const uint8_t* last) {
  const bool neg = first < last && *first == '-';
  const uint8_t* body = neg ? first + 1 : first;
  const size_t n = static_cast<size_t>(last - body);
  if (n == 3 && std::memcmp(body, "NaN", 3) == 0) return std::nan("");
  if ((n == 3 && std::memcmp(body, "Inf", 3) == 0) || (n == 8 && std::memcmp(body, "Infinity", 8) == 0)) {
    return neg ? -HUGE_VAL : HUGE_VAL;
  }
  return ParseDouble(first, last);
}

uint16_t Float32ToHalfBits(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t exp = (x >> 23) & 0xff;
  uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    const int shift = 14 - e;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
  return static_cast<uint16_t>(sign | half);
}

uint16_t Float32ToBfloat16Bits(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff)) return static_cast<uint16_t>((x >> 16) | 0x40);
  const uint32_t rounded = x + 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>((rounded >> 16) & 0xffff);
}

float HalfBitsToFloat32(uint16_t bits) {
  const float sign = (bits & 0x8000) ? -1.0f : 1.0f;
  const int exp = (bits >> 10) & 0x1f;
  const int mant = bits & 0x3ff;
  if (exp == 0) return sign * static_cast<float>(mant) * std::ldexp(1.0f, -24);
  if (exp == 0x1f) return mant ? std::nanf("") : sign * HUGE_VALF;
  return sign * (1.0f + static_cast<float>(mant) / 1024.0f) * std::ldexp(1.0f, exp - 15);
}

float Bfloat16BitsToFloat32(uint16_t bits) {
  const uint32_t x = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

std::string FormatCount(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9e18) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

namespace {

char* NonFinite(double v, char* out) {
  const char* text = std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  const size_t n = std::strlen(text);
  std::memcpy(out, text, n);
  return out + n;
}

// Appends ".0" when the text has neither '.' nor 'e'.
char* WithPoint(char* begin, char* end) {
  for (char* p = begin; p < end; p++) {
    if (*p == '.' || *p == 'e') return end;
  }
  end[0] = '.';
  end[1] = '0';
  return end + 2;
}

// printf "%.{precision}g" (to_chars with a precision is specified as printf's conversion).
char* FormatG(double v, int precision, char* out) {
  auto r = std::to_chars(out, out + 32, v, std::chars_format::general, precision);
  return r.ptr;
}

bool ParsesBackToDouble(const char* begin, const char* end, double v) {
  double d = 0;
  auto r = std::from_chars(begin, end, d);
  if (r.ec != std::errc()) d = std::strtod(std::string(begin, end).c_str(), nullptr);
  return d == v;
}

}  // namespace

char* FormatFloat64(double value, char* out) {
  if (!std::isfinite(value)) return NonFinite(value, out);
  char* end = FormatG(value, 6, out);
  if (!ParsesBackToDouble(out, end, value)) end = FormatG(value, 17, out);
  return WithPoint(out, end);
}

}  // namespace json
}  // namespace jetserve
