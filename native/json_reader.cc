#include "json_reader.h"

#include <tensorflow/c/c_api.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "json_numbers.h"

namespace jetserve {
namespace json {

namespace {

const char* const kInvalidValue = "Invalid value.";
const char* const kMissCommaOrBracket = "Missing a comma or ']' after an array element.";
const char* const kMissCommaOrBrace = "Missing a comma or '}' after an object member.";
const char* const kMissName = "Missing a name for object member.";
const char* const kMissColon = "Missing a colon after a name of object member.";
const char* const kBadHex = "Incorrect hex digit after \\u escape in string.";
const char* const kBadSurrogate = "The surrogate pair in string is invalid.";
const char* const kBadEscape = "Invalid escape character in string.";
const char* const kMissQuote = "Missing a closing quotation mark in string.";
const char* const kBadEncoding = "Invalid encoding in string.";
const char* const kMissFraction = "Miss fraction part in number.";
const char* const kMissExponent = "Miss exponent in number.";

inline bool IsDigit(int c) { return c >= '0' && c <= '9'; }

int HexValue(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  const int lower = c | 0x20;
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

void AppendCodePoint(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

DecodeError Invalid(std::string message) { return DecodeError{DecodeError::kOther, kInvalidArgument, std::move(message)}; }
DecodeError Unimplemented(std::string message) {
  return DecodeError{DecodeError::kOther, kUnimplemented, std::move(message)};
}

DecodeError Budget::exceeded(const std::string& where) const {
  std::string detail = !where.empty() ? where : *counting_ != '\0' ? std::string("counting ") + counting_ : std::string();
  std::string message = "request exceeds the limit of " + FormatCount(limit_) + " tensor elements per request (" + flag_ + ")";
  if (!detail.empty()) message += ": " + detail;
  return DecodeError{DecodeError::kLimit, kResourceExhausted, std::move(message)};
}

LeafModeInfo LeafModeOf(int tf_dtype, bool b64_strings) {
  LeafModeInfo m;
  m.ok = true;
  switch (tf_dtype) {
    case TF_HALF:
      m.mode = LeafMode::kFloat16;
      m.element_size = 2;
      break;
    case TF_BFLOAT16:
      m.mode = LeafMode::kBFloat16;
      m.element_size = 2;
      break;
    case TF_FLOAT:
      m.mode = LeafMode::kFloat32;
      m.element_size = 4;
      break;
    case TF_DOUBLE:
      m.mode = LeafMode::kFloat64;
      m.element_size = 8;
      break;
    case TF_INT8:
      m = {true, LeafMode::kInt, -128, 127, 1};
      break;
    case TF_INT16:
      m = {true, LeafMode::kInt, -32768, 32767, 2};
      break;
    case TF_INT32:
      m = {true, LeafMode::kInt, -2147483648LL, 2147483647LL, 4};
      break;
    case TF_UINT8:
      m = {true, LeafMode::kInt, 0, 255, 1};
      break;
    case TF_UINT16:
      m = {true, LeafMode::kInt, 0, 65535, 2};
      break;
    case TF_UINT32:
      m = {true, LeafMode::kInt, 0, 4294967295LL, 4};
      break;
    case TF_INT64:
      m.mode = LeafMode::kInt64;
      m.element_size = 8;
      break;
    case TF_UINT64:
      m.mode = LeafMode::kUint64;
      m.element_size = 8;
      break;
    case TF_BOOL:
      m.mode = LeafMode::kBool;
      m.element_size = 1;
      break;
    case TF_STRING:
      m.mode = b64_strings ? LeafMode::kStringOrB64 : LeafMode::kString;
      m.element_size = 0;
      break;
    default:
      m.ok = false;
  }
  return m;
}

// ---- errors ----

DecodeError Reader::ParseError(const char* message, size_t offset) const {
  return DecodeError{DecodeError::kParse, kInvalidArgument,
                     std::string("JSON Parse error: ") + message + " at offset: " + std::to_string(offset)};
}

DecodeError Reader::TooDeep(size_t offset) const {
  std::string text = "nesting exceeds the limit of " + std::to_string(max_depth_) + " levels (" + std::string(depth_flag_) + ")";
  return ParseError(text.c_str(), offset);
}

std::string Reader::ValueText(size_t start, size_t max) const {
  size_t end;
  try {
    end = SkipValue(start);
  } catch (const DecodeError&) {
    end = std::min(n_, start + max);
  }
  const size_t stop = std::min(end, start + max + 1);
  std::string s(reinterpret_cast<const char*>(b_) + std::min(start, n_), stop > start ? stop - start : 0);
  if (s.size() > max) {
    s.resize(max);
    s += "...";
  }
  return s;
}

const char* Reader::JsonType(size_t start) const {
  switch (at(start)) {
    case '{':
      return "Object";
    case '[':
      return "Array";
    case '"':
      return "String";
    case 't':
      return "True";
    case 'f':
      return "False";
    case 'n':
      return "Null";
    default:
      return "Number";
  }
}

// ---- structure ----

size_t Reader::SkipValue(size_t p) const {
  // container stack: true = object, false = array
  std::vector<bool> stack;
  const int room = max_depth_ - depth;
  p = Ws(p);
  for (;;) {
    const int c = at(p);
    if ((c == '[' || c == '{') && static_cast<int>(stack.size()) >= room) throw TooDeep(p);
    if (c == '[') {
      p = Ws(p + 1);
      if (at(p) == ']') {
        p++;
      } else {
        stack.push_back(false);
        continue;
      }
    } else if (c == '{') {
      p = Ws(p + 1);
      if (at(p) == '}') {
        p++;
      } else {
        p = ObjectKey(p);
        stack.push_back(true);
        continue;
      }
    } else {
      p = SkipScalar(p);
    }
    for (;;) {
      if (stack.empty()) return p;
      p = Ws(p);
      const int d = at(p);
      const bool in_object = stack.back();
      if (d == ',') {
        p = Ws(p + 1);
        if (in_object) p = ObjectKey(p);
        break;
      }
      if (in_object ? d == '}' : d == ']') {
        p++;
        stack.pop_back();
        continue;
      }
      throw ParseError(in_object ? kMissCommaOrBrace : kMissCommaOrBracket, p);
    }
  }
}

size_t Reader::ObjectKey(size_t p) const {
  if (at(p) != '"') throw ParseError(kMissName, p);
  p = SkipString(p);
  p = Ws(p);
  if (at(p) != ':') throw ParseError(kMissColon, p);
  return Ws(p + 1);
}

size_t Reader::SkipScalar(size_t p) const {
  const int c = at(p);
  if (c == '"') return SkipString(p);
  if (c == 't') return Literal(p, "true");
  if (c == 'f') return Literal(p, "false");
  if (c == 'n') return Literal(p, "null");
  if (c == '-' || IsDigit(c) || c == 'N' || c == 'I') return ScanNumber(p);
  throw ParseError(kInvalidValue, p);
}

size_t Reader::Literal(size_t p, const char* word) const {
  const size_t len = std::strlen(word);
  for (size_t i = 0; i < len; i++) {
    if (at(p + i) != static_cast<unsigned char>(word[i])) throw ParseError(kInvalidValue, p);
  }
  return p + len;
}

size_t Reader::ScanNumber(size_t p) const {
  const size_t start = p;
  int c = at(p);
  if (c == '-') c = at(++p);
  if (c == 'N' || c == 'I') return SpecialEnd(p, start);
  if (c == '0') {
    c = at(++p);
  } else if (IsDigit(c)) {
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
  return p;
}

size_t Reader::SpecialEnd(size_t p, size_t start) const {
  if (at(p) == 'N') {
    if (at(p + 1) == 'a' && at(p + 2) == 'N') return p + 3;
    throw ParseError(kInvalidValue, start);
  }
  if (at(p + 1) == 'n' && at(p + 2) == 'f') {
    if (at(p + 3) == 'i' && at(p + 4) == 'n' && at(p + 5) == 'i' && at(p + 6) == 't' && at(p + 7) == 'y') return p + 8;
    return p + 3;
  }
  throw ParseError(kInvalidValue, start);
}

size_t Reader::SkipString(size_t p) const {
  p++;
  for (;;) {
    if (p >= n_) throw ParseError(kMissQuote, p);
    const uint8_t c = b_[p];
    if (c == '"') return p + 1;
    if (c == '\\') {
      p = Escape(p, nullptr);
      continue;
    }
    if (c < 0x20) throw ParseError(c == 0 ? kMissQuote : kBadEncoding, p);
    p++;
  }
}

size_t Reader::Escape(size_t p, std::string* out) const {
  const int e = at(p + 1);
  int byte = -1;
  switch (e) {
    case '"':
    case '\\':
    case '/':
      byte = e;
      break;
    case 'b':
      byte = 0x08;
      break;
    case 'f':
      byte = 0x0c;
      break;
    case 'n':
      byte = 0x0a;
      break;
    case 'r':
      byte = 0x0d;
      break;
    case 't':
      byte = 0x09;
      break;
    case 'u': {
      uint32_t cp = static_cast<uint32_t>(Hex4(p + 2));
      size_t next = p + 6;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (at(next) != '\\' || at(next + 1) != 'u') throw ParseError(kBadSurrogate, next);
        const uint32_t lo = static_cast<uint32_t>(Hex4(next + 2));
        if (lo < 0xdc00 || lo > 0xdfff) throw ParseError(kBadSurrogate, next);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        next += 6;
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        throw ParseError(kBadSurrogate, p);
      }
      if (out) AppendCodePoint(out, cp);
      return next;
    }
    default:
      throw ParseError(kBadEscape, p + 1);
  }
  if (out) out->push_back(static_cast<char>(byte));
  return p + 2;
}

int Reader::Hex4(size_t p) const {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    const int h = HexValue(at(p + i));
    if (h < 0) throw ParseError(kBadHex, p);
    v = (v << 4) | h;
  }
  return v;
}

void Reader::ReadString(size_t p, std::string* out) {
  out->clear();
  size_t q = p + 1;
  size_t run = q;
  for (;;) {
    if (q >= n_) throw ParseError(kMissQuote, q);
    const uint8_t c = b_[q];
    if (c == '"') {
      out->append(reinterpret_cast<const char*>(b_) + run, q - run);
      pos = q + 1;
      return;
    }
    if (c == '\\') {
      out->append(reinterpret_cast<const char*>(b_) + run, q - run);
      q = Escape(q, out);
      run = q;
      continue;
    }
    if (c < 0x20) throw ParseError(c == 0 ? kMissQuote : kBadEncoding, q);
    q++;
  }
}

Value Reader::ReadValue(size_t p, int depth_offset) {
  p = Ws(p);
  const int c = at(p);
  if (value_budget_) value_budget_->take(1);
  if ((c == '{' || c == '[') && depth + depth_offset >= max_depth_) throw TooDeep(p);
  Value v;
  if (c == '{') {
    v.type = Value::kObject;
    p = Ws(p + 1);
    if (at(p) == '}') {
      pos = p + 1;
      return v;
    }
    std::string key;
    std::unordered_set<std::string> keys;
    for (;;) {
      if (at(p) != '"') throw ParseError(kMissName, p);
      ReadString(p, &key);
      p = Ws(pos);
      if (at(p) != ':') throw ParseError(kMissColon, p);
      Value member = ReadValue(p + 1, depth_offset + 1);
      if (keys.insert(key).second) v.members.emplace_back(key, std::move(member));
      p = Ws(pos);
      const int d = at(p);
      if (d == ',') {
        p = Ws(p + 1);
        continue;
      }
      if (d == '}') {
        pos = p + 1;
        return v;
      }
      throw ParseError(kMissCommaOrBrace, p);
    }
  }
  if (c == '[') {
    v.type = Value::kArray;
    p = Ws(p + 1);
    if (at(p) == ']') {
      pos = p + 1;
      return v;
    }
    for (;;) {
      v.items.push_back(ReadValue(p, depth_offset + 1));
      p = Ws(pos);
      const int d = at(p);
      if (d == ',') {
        p = p + 1;
        continue;
      }
      if (d == ']') {
        pos = p + 1;
        return v;
      }
      throw ParseError(kMissCommaOrBracket, p);
    }
  }
  if (c == '"') {
    v.type = Value::kString;
    ReadString(p, &v.text);
    return v;
  }
  if (c == 't') {
    pos = Literal(p, "true");
    v.type = Value::kTrue;
    return v;
  }
  if (c == 'f') {
    pos = Literal(p, "false");
    v.type = Value::kFalse;
    return v;
  }
  if (c == 'n') {
    pos = Literal(p, "null");
    return v;
  }
  const size_t end = ScanNumber(p);
  pos = end;
  v.type = Value::kNumber;
  v.text.assign(reinterpret_cast<const char*>(b_) + p, end - p);
  v.number = NumberFromToken(b_ + p, b_ + end);
  v.is_integer = true;
  for (size_t i = p; i < end; i++) {
    const uint8_t d = b_[i];
    if (d == '.' || d == 'e' || d == 'E' || d == 'N' || d == 'I') v.is_integer = false;
  }
  return v;
}

size_t Reader::B64StringAt(size_t p) const {
  if (at(p) != '{') return npos;
  size_t q = Ws(p + 1);
  if (at(q) != '"' || at(q + 1) != 'b' || at(q + 2) != '6' || at(q + 3) != '4' || at(q + 4) != '"') return npos;
  q = Ws(q + 5);
  if (at(q) != ':') return npos;
  q = Ws(q + 1);
  if (at(q) != '"') return npos;
  const size_t str_start = q;
  size_t end;
  try {
    end = SkipString(q);
  } catch (const DecodeError&) {
    return npos;
  }
  q = Ws(end);
  return at(q) == '}' ? str_start : npos;
}

}  // namespace json
}  // namespace jetserve
