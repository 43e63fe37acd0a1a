// Number conversions shared by the JSON decoder and encoder (native/json_*.cc):
// decimal tokens → double (std::from_chars), float32 → half / bfloat16 bits (the same rounding as
// src/engine/tensor.ts), and TF Serving's double text (src/wire/json/writer.ts is the reference).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace jetserve {
namespace json {

// A validated JSON number token (digits, '.', exponent) → the correctly rounded double; beyond
// the double range → ±Infinity, below it → ±0 (as JS Number() does).
double ParseDouble(const uint8_t* first, const uint8_t* last);

// ParseJsonNumber(p, end, &value) (json_number_parse.h, inline): the JSON number token at p
// (RFC 8259 grammar, no NaN / Infinity), converted in the same pass that scans it, into the
// correctly rounded double (what ParseDouble gives): Clinger's exact path for up to 19
// significant digits with a value below 2^53 and a decimal exponent within ±22 (one exact IEEE
// operation), std::from_chars over the scanned token otherwise. Returns the token's end, or
// nullptr when the token is malformed, spells NaN / Infinity or has more than 19 digits (the
// caller's careful path then scans it again and reports errors).

// Number() of a token that may also be NaN / Inf / Infinity with an optional '-'.
double NumberFromToken(const uint8_t* first, const uint8_t* last);

uint16_t Float32ToHalfBits(float value);
uint16_t Float32ToBfloat16Bits(float value);
float HalfBitsToFloat32(uint16_t bits);
float Bfloat16BitsToFloat32(uint16_t bits);

// A count as JS prints a number (an integer below 1e21 in plain digits).
std::string FormatCount(double value);

// TF Serving's double text: "%.6g" when it parses back to the value, else "%.17g"; ".0"
// appended when there is neither '.' nor 'e'; NaN, Infinity, -Infinity. Writes at most 32 bytes
// at `out`; returns the end. (float32: json_float_text.h)
char* FormatFloat64(double value, char* out);

}  // namespace json
}  // namespace jetserve
