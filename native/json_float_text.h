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
#pragma once

namespace jetserve {
namespace json {

// Needs 32 bytes of room at `out` (the bytes past the returned end are scratch); returns the end.
char* WriteFloat32Text(float value, char* out);

// The exact path alone (std::to_chars / std::from_chars), for tests and the undecided cases.
char* WriteFloat32TextExact(float value, char* out);

}  // namespace json
}  // namespace jetserve
