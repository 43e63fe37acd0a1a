// The tensor walkers of the native JSON reader (json_reader.h): TF Serving's shape rule
// (MeasureTensor), leaf conversion into tensor memory (FillLeaves, the fast path's leaves), number
// tokens, strict base64. Ports of the same functions in src/wire/json/reader.ts.
#include <charconv>
#include <cmath>
#include <cstring>

#include "json_numbers.h"
#include "json_reader.h"

namespace jetserve {
namespace json {

namespace {

const char* const kInvalidValue = "Invalid value.";
const char* const kMissCommaOrBracket = "Missing a comma or ']' after an array element.";
const char* const kMissFraction = "Miss fraction part in number.";
const char* const kMissExponent = "Miss exponent in number.";

inline bool IsDigit(int c) { return c >= '0' && c <= '9'; }

}  // namespace

namespace {

// End of the JSON number token at p (which starts with '-' or a digit), or npos when malformed.
size_t NumberEnd(const Reader& r, size_t p) {
  int c = r.at(p);
  if (c == '-') c = r.at(++p);
  if (c == '0') {
    c = r.at(++p);
  } else if (c > '0' && c <= '9') {
    do c = r.at(++p);
    while (IsDigit(c));
  } else {
    return Reader::npos;
  }
  if (c == '.') {
    c = r.at(++p);
    if (!IsDigit(c)) return Reader::npos;
    do c = r.at(++p);
    while (IsDigit(c));
  }
  if (c == 'e' || c == 'E') {
    c = r.at(++p);
    if (c == '+' || c == '-') c = r.at(++p);
    if (!IsDigit(c)) return Reader::npos;
    do c = r.at(++p);
    while (IsDigit(c));
  }
  return p;
}

}  // namespace

void Reader::CloseList(std::vector<int64_t>& dims, size_t level, int64_t size) const {
  while (dims.size() <= level) dims.push_back(-1);
  const int64_t known = dims[level];
  if (known == -1) {
    dims[level] = size;
  } else if (known != size) {
    throw Invalid("Encountered list at unexpected size: " + std::to_string(size) + " at level: " + std::to_string(level) +
                  " expected size: " + std::to_string(known));
  }
}

Measured Reader::MeasureTensor(size_t p) {
  p = Ws(p);
  const size_t start = p;
  int c = at(p);
  const double max_leaves = budget_->remaining();
  if (c != '[') {
    if (max_leaves < 1) throw budget_->exceeded();
    Measured m;
    m.start = start;
    m.end = c == '{' ? SkipValue(p) : SkipScalar(p);
    m.count = 1;
    return m;
  }
  const int room = max_depth_ - depth;
  std::vector<int64_t> dims;
  std::vector<int64_t> counts;
  int rank = -1;
  int level = 0;
  double leaves = 0;
  for (;;) {
    if (c == '[') {
      if (level >= room) throw TooDeep(p);
      if (rank >= 0 && level >= rank) {
        throw Invalid("Encountered list at unexpected level: " + std::to_string(level) + " expected < " + std::to_string(rank));
      }
      if (level >= kMaxRank) {
        throw Invalid("JSON list nesting exceeds the maximum tensor rank " + std::to_string(kMaxRank));
      }
      if (static_cast<int>(counts.size()) <= level) counts.resize(level + 1);
      counts[level] = 0;
      level++;
      p = Ws(p + 1);
      c = at(p);
      if (c != ']') continue;
      if (rank < 0) rank = level;
      p++;
      level--;
      CloseList(dims, level, 0);
      if (level > 0) counts[level - 1]++;
    } else {
      if (rank < 0) {
        rank = level;
      } else if (level != rank) {
        throw Invalid("JSON Value: " + ValueText(p) + " found at incorrect level: " + std::to_string(level + 1) +
                      " in the JSON DOM. Expected at level: " + std::to_string(rank));
      }
      if (++leaves > max_leaves) throw budget_->exceeded();
      if (c == '-' || IsDigit(c)) {
        const size_t end = NumberEnd(*this, p);
        p = end != npos ? end : ScanNumber(p);
      } else {
        p = c == '{' ? SkipValue(p) : SkipScalar(p);
      }
      counts[level - 1]++;
    }
    for (;;) {
      if (level == 0) {
        Measured m;
        m.start = start;
        m.end = p;
        m.shape.assign(dims.begin(), dims.begin() + std::min<size_t>(static_cast<size_t>(rank), dims.size()));
        double count = 1;
        for (int64_t d : m.shape) count *= static_cast<double>(d);
        m.count = count;
        return m;
      }
      p = Ws(p);
      c = at(p);
      if (c == ',') {
        p = Ws(p + 1);
        c = at(p);
        break;
      }
      if (c == ']') {
        p++;
        level--;
        CloseList(dims, level, counts[level]);
        if (level > 0) counts[level - 1]++;
        continue;
      }
      throw ParseError(kMissCommaOrBracket, p);
    }
  }
}

DecodeError Reader::TypeError(size_t p, const FillContext& ctx, int64_t leaf) const {
  const int c = at(p);
  if (c != '{' && c != '[') SkipScalar(p);  // a syntax error takes precedence
  return ctx.Wrap("JSON Value: " + ValueText(p) + " Type: " + JsonType(p) + " is not of expected type: " + ctx.dtype_name,
                  leaf);
}

double Reader::ReadFloat(size_t p) {
  double value;
  if (const uint8_t* end = ParseJsonNumber(b_ + p, b_ + n_, &value)) {
    num_end_ = static_cast<size_t>(end - b_);
    return value;
  }
  // NaN / Infinity, more than 19 digits, or malformed: scanned again here, errors reported
  const size_t start = p;
  int c = at(p);
  bool neg = false;
  if (c == '-') {
    neg = true;
    c = at(++p);
  }
  if (c == 'N' || c == 'I') {
    num_end_ = SpecialEnd(p, start);
    return c == 'N' ? std::nan("") : neg ? -HUGE_VAL : HUGE_VAL;
  }
  if (c == '0') {
    c = at(++p);
  } else if (c > '0' && c <= '9') {
    do c = at(++p);
    while (IsDigit(c));
  } else {
    throw ParseError(kInvalidValue, start);
  }
  if (c == '.') {
    c = at(++p);
    if (!IsDigit(c)) throw ParseError(kMissFraction, p);
    do c = at(++p);
    while (IsDigit(c));
  }
  if (c == 'e' || c == 'E') {
    c = at(++p);
    if (c == '+' || c == '-') c = at(++p);
    if (!IsDigit(c)) throw ParseError(kMissExponent, p);
    do c = at(++p);
    while (IsDigit(c));
  }
  num_end_ = p;
  return ParseDouble(b_ + start, b_ + p);
}

bool Reader::LeafNumber(size_t p, const LeafModeInfo& mode, uint8_t* dest, int64_t i) {
  const int c = at(p);
  switch (mode.mode) {
    case LeafMode::kFloat32:
    case LeafMode::kFloat64:
    case LeafMode::kFloat16:
    case LeafMode::kBFloat16: {
      if (!(c == '-' || IsDigit(c) || c == 'N' || c == 'I')) return false;
      const double v = ReadFloat(p);
      if (mode.mode == LeafMode::kFloat32) {
        const float f = static_cast<float>(v);
        std::memcpy(dest + i * 4, &f, 4);
      } else if (mode.mode == LeafMode::kFloat64) {
        std::memcpy(dest + i * 8, &v, 8);
      } else {
        const uint16_t bits = mode.mode == LeafMode::kFloat16 ? Float32ToHalfBits(static_cast<float>(v))
                                                               : Float32ToBfloat16Bits(static_cast<float>(v));
        std::memcpy(dest + i * 2, &bits, 2);
      }
      return true;
    }
    case LeafMode::kBool: {
      if (c == 't' && at(p + 1) == 'r' && at(p + 2) == 'u' && at(p + 3) == 'e') {
        dest[i] = 1;
        num_end_ = p + 4;
        return true;
      }
      if (c == 'f' && at(p + 1) == 'a' && at(p + 2) == 'l' && at(p + 3) == 's' && at(p + 4) == 'e') {
        dest[i] = 0;
        num_end_ = p + 5;
        return true;
      }
      return false;
    }
    case LeafMode::kInt:
    case LeafMode::kInt64:
    case LeafMode::kUint64: {
      if (!(c == '-' || IsDigit(c))) return false;
      const size_t start = p;
      int d = c;
      bool neg = false;
      if (d == '-') {
        neg = true;
        d = at(++p);
      }
      if (d == '0') {
        d = at(++p);
      } else if (d > '0' && d <= '9') {
        do d = at(++p);
        while (IsDigit(d));
      } else {
        if (d == 'N' || d == 'I') {
          num_end_ = SpecialEnd(p, start);
          return false;
        }
        throw ParseError(kInvalidValue, start);
      }
      if (d == '.' || d == 'e' || d == 'E') {
        num_end_ = ScanNumber(start);
        return false;
      }
      num_end_ = p;
      const char* first = reinterpret_cast<const char*>(b_) + start + (neg ? 1 : 0);
      const char* last = reinterpret_cast<const char*>(b_) + p;
      uint64_t magnitude = 0;
      auto r = std::from_chars(first, last, magnitude);
      if (r.ec != std::errc()) return false;  // beyond 64 bits: out of every range
      if (mode.mode == LeafMode::kInt) {
        if (magnitude > (1ULL << 40)) return false;
        const int64_t v = neg ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
        if (v < mode.min || v > mode.max) return false;
        switch (mode.element_size) {
          case 1: {
            const int8_t x = static_cast<int8_t>(v);
            std::memcpy(dest + i, &x, 1);
            break;
          }
          case 2: {
            const int16_t x = static_cast<int16_t>(v);
            std::memcpy(dest + i * 2, &x, 2);
            break;
          }
          default: {
            const int32_t x = static_cast<int32_t>(v);
            std::memcpy(dest + i * 4, &x, 4);
          }
        }
        return true;
      }
      uint64_t bits;
      if (mode.mode == LeafMode::kUint64) {
        if (neg && magnitude != 0) return false;
        bits = magnitude;
      } else {
        if (neg) {
          if (magnitude > (1ULL << 63)) return false;
          bits = ~magnitude + 1;
        } else {
          if (magnitude > static_cast<uint64_t>(INT64_MAX)) return false;
          bits = magnitude;
        }
      }
      std::memcpy(dest + i * 8, &bits, 8);
      return true;
    }
    default:
      return false;
  }
}

bool Reader::LeafString(size_t p, LeafMode mode, StringData* out) {
  const int c = at(p);
  if (c == '"') {
    ReadString(p, &scratch_);
    out->Add(reinterpret_cast<const uint8_t*>(scratch_.data()), scratch_.size());
    num_end_ = pos;
    return true;
  }
  if (c == '{' && mode == LeafMode::kStringOrB64) {
    const size_t q = B64StringAt(p);
    if (q == npos) return false;
    ReadString(q, &scratch_);
    std::string bytes;
    if (!DecodeBase64Strict(scratch_, &bytes)) return false;
    out->Add(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    num_end_ = SkipValue(p);
    return true;
  }
  return false;
}

int64_t Reader::FillLeaves(size_t p, const LeafModeInfo& mode, uint8_t* dest, StringData* strings, int64_t offset,
                           int64_t capacity, const FillContext& ctx) {
  int64_t i = offset;
  const int64_t limit = offset + capacity;
  const int room = max_depth_ - depth;
  int level = 0;
  p = Ws(p);
  const bool is_string = mode.mode == LeafMode::kString || mode.mode == LeafMode::kStringOrB64;
  int c = at(p);
  for (;;) {
    if (c == '[') {
      if (level >= room) throw TooDeep(p);
      level++;
      p = Ws(p + 1);
      c = at(p);
      if (c != ']') continue;
      p++;
      level--;
    } else {
      if (i >= limit) throw ctx.Wrap("more values than the shape holds (" + std::to_string(capacity) + ")", i - offset);
      if (is_string) {
        if (c == '"') {
          ReadString(p, &scratch_);
          strings->Add(reinterpret_cast<const uint8_t*>(scratch_.data()), scratch_.size());
          p = pos;
        } else if (c == '{' && mode.mode == LeafMode::kStringOrB64) {
          const size_t q = B64StringAt(p);
          if (q == npos) {
            throw ctx.Wrap("JSON Value: " + ValueText(p) + " not formatted correctly for base64 data", i - offset);
          }
          ReadString(q, &scratch_);
          std::string bytes;
          if (!DecodeBase64Strict(scratch_, &bytes)) throw ctx.Wrap("Unable to base64 decode", i - offset);
          strings->Add(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
          p = SkipValue(p);
        } else {
          throw TypeError(p, ctx, i - offset);
        }
        i++;
      } else {
        if (!LeafNumber(p, mode, dest, i)) throw TypeError(p, ctx, i - offset);
        p = num_end_;
        i++;
        // the rest of a list of plain numbers in one tight loop
        if (level > 0 && mode.mode == LeafMode::kFloat32) p = FloatRun<float>(p, dest, &i, limit);
        if (level > 0 && mode.mode == LeafMode::kFloat64) p = FloatRun<double>(p, dest, &i, limit);
      }
    }
    for (;;) {
      if (level == 0) {
        pos = p;
        return i - offset;
      }
      p = Ws(p);
      c = at(p);
      if (c == ',') {
        p = Ws(p + 1);
        c = at(p);
        break;
      }
      if (c == ']') {
        p++;
        level--;
        continue;
      }
      throw ParseError(kMissCommaOrBracket, p);
    }
  }
}

// ---- base64 ----

bool DecodeBase64Strict(const std::string& text, std::string* out) {
  // ^[A-Za-z0-9+/]*={0,2}$
  size_t n = text.size();
  size_t pad = 0;
  while (pad < 2 && n > pad && text[n - 1 - pad] == '=') pad++;
  auto value = [](unsigned char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  const size_t body = n - pad;
  for (size_t i = 0; i < body; i++) {
    if (value(static_cast<unsigned char>(text[i])) < 0) return false;
  }
  if (pad > 0 && n % 4 != 0) return false;
  if (body % 4 == 1) return false;
  out->clear();
  out->reserve(body * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < body; i++) {
    acc = (acc << 6) | static_cast<uint32_t>(value(static_cast<unsigned char>(text[i])));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace json
}  // namespace jetserve
