// A byte-level JSON reader for REST request bodies: the native counterpart of
// src/wire/json/reader.ts, which stays the reference. Same grammar (RFC 8259 plus TF Serving's
// NaN / Inf / Infinity tokens), same error texts and offsets ("JSON Parse error: <rapidjson text>
// at offset: <n>"), same budgets: nesting deeper than the limit is a parse error, more tensor
// elements than the request's budget is a RESOURCE_EXHAUSTED refusal raised while shapes are
// measured, before memory is committed for them.
//
// Numbers are converted with libstdc++'s std::from_chars (fast_float inside, correctly rounded);
// float32 destinations take the correctly rounded double rounded to float32, which is what the JS
// reference (Math.fround(Number(token))) and TF Serving (rapidjson's double, cast) produce.
//
// Errors are thrown as DecodeError (kind + message bytes; the message may hold request bytes that
// are not UTF-8: the JS side decodes it leniently, as the reference does with the same bytes).
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "json_number_parse.h"

namespace jetserve {
namespace json {

// gRPC-style canonical codes the decoders raise.
enum Code : int { kInvalidArgument = 3, kResourceExhausted = 8, kUnimplemented = 12 };

struct DecodeError {
  enum Kind { kParse, kLimit, kOther };
  Kind kind;
  int code;
  std::string message;
  // A syntax error (nesting included) or an exceeded budget: ends decoding at once, unchanged.
  bool fatal() const { return kind != kOther; }
};

// Raised by the single-pass path when the input needs the precise (two-pass) path.
struct FastPathMiss {};

DecodeError Invalid(std::string message);
DecodeError Unimplemented(std::string message);

// The request's tensor element budget (src/wire/limits.ts ElementBudget).
class Budget {
 public:
  // flag and counting: string literals (kept as pointers; a budget lives for one decode)
  Budget(double limit, const char* flag, const char* counting = "")
      : limit_(limit), flag_(flag), counting_(counting) {}
  double remaining() const { return limit_ - used_; }
  double taken() const { return used_; }
  void rewind(double mark) { used_ = mark; }
  void take(double count, const std::string& where = std::string()) {
    if (count > limit_ - used_) throw exceeded(where);
    used_ += count;
  }
  DecodeError exceeded(const std::string& where = std::string()) const;

 private:
  double limit_;
  double used_ = 0;
  const char* flag_;
  const char* counting_;
};

enum class LeafMode { kFloat32, kFloat64, kFloat16, kBFloat16, kInt, kInt64, kUint64, kBool, kString, kStringOrB64 };

// How each TF dtype's leaves are read (reader.ts LEAF_MODES); ok = false for dtypes JSON cannot carry.
struct LeafModeInfo {
  bool ok = false;
  LeafMode mode = LeafMode::kFloat32;
  int64_t min = 0;
  int64_t max = 0;
  size_t element_size = 0;  // bytes per element (0: strings)
};
LeafModeInfo LeafModeOf(int tf_dtype, bool b64_strings);

// A decoded DT_STRING tensor's elements: (offset, length) pairs into `bytes`.
struct StringData {
  std::string bytes;
  std::vector<std::pair<size_t, size_t>> items;
  void Add(const uint8_t* p, size_t n) {
    items.emplace_back(bytes.size(), n);
    bytes.append(reinterpret_cast<const char*>(p), n);
  }
};

// Numeric storage the walkers write into.
struct NumericDest {
  uint8_t* data = nullptr;
  size_t capacity = 0;  // elements
};

struct Measured {
  size_t start = 0;  // first byte of the value
  size_t end = 0;    // just after it
  std::vector<int64_t> shape;
  double count = 0;  // leaves (product of shape)
};

// Turns a leaf error into the final error (adds the input name, element index...).
struct FillContext {
  std::string dtype_name;
  virtual DecodeError Wrap(const std::string& message, int64_t leaf) const = 0;
  virtual ~FillContext() = default;
};

// A small DOM for request metadata (KServe parameters, shapes, outputs).
struct Value {
  enum Type { kNull, kFalse, kTrue, kString, kNumber, kArray, kObject } type = kNull;
  std::string text;  // string bytes, or the number token
  double number = 0;
  bool is_integer = false;
  std::vector<Value> items;                            // array
  std::vector<std::pair<std::string, Value>> members;  // object, first occurrence of each key only
  const Value* Find(const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
};

class Reader {
 public:
  // depth_flag: a string literal (kept as a pointer). padding: bytes readable after the body's end
  // (not part of it), which lets number tokens near the end take the short parser.
  Reader(const uint8_t* bytes, size_t length, int max_depth, const char* depth_flag, Budget* budget, size_t padding = 0)
      : b_(bytes), n_(length), readable_(length + padding), max_depth_(max_depth), depth_flag_(depth_flag), budget_(budget) {}

  size_t size() const { return n_; }
  int at(size_t p) const { return p < n_ ? b_[p] : -1; }
  const uint8_t* bytes() const { return b_; }
  Budget& budget() { return *budget_; }
  void set_value_budget(Budget* budget) { value_budget_ = budget; }
  Budget* value_budget() const { return value_budget_; }

  size_t pos = 0;
  // Containers enclosing the values members() / elements() hand to their callbacks.
  int depth = 0;

  DecodeError ParseError(const char* message, size_t offset) const;
  DecodeError TooDeep(size_t offset) const;
  // The raw JSON text of the value at `start`, shortened to `max` bytes plus "...".
  std::string ValueText(size_t start, size_t max = 120) const;
  const char* JsonType(size_t start) const;

  size_t Ws(size_t p) const {
    while (p < n_) {
      const uint8_t c = b_[p];
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09)
        p++;
      else
        break;
    }
    return p;
  }

  size_t SkipValue(size_t p) const;
  size_t SkipScalar(size_t p) const;
  size_t ScanNumber(size_t p) const;
  size_t SkipString(size_t p) const;
  // The string at p (a quote), escapes decoded, into `out`; sets pos after it.
  void ReadString(size_t p, std::string* out);
  Value ReadValue(size_t p, int depth_offset = 0);

  // Iterates the top-level-style object at p: on_member(key, value_start) returns the value's end.
  template <typename F>
  size_t Members(size_t p, F&& on_member);
  // Iterates the array at p: on_element(index, element_start) returns the element's end.
  template <typename F>
  size_t Elements(size_t p, F&& on_element);

  // Offset of the string's quote when the value at p is exactly {"b64": "<string>"}; else npos.
  size_t B64StringAt(size_t p) const;
  bool IsPlainObject(size_t p) const { return at(p) == '{' && B64StringAt(p) == npos; }

  Measured MeasureTensor(size_t p);
  // Writes the leaves of the value at p into dest (numeric) or strings from `offset`, at most
  // `capacity`; returns how many were written; sets pos after the value.
  int64_t FillLeaves(size_t p, const LeafModeInfo& mode, uint8_t* dest, StringData* strings, int64_t offset,
                     int64_t capacity, const FillContext& ctx);

  // One pass: shape by TF Serving's rule and the leaves, into storage grown by `grow`
  // (grow(capacity, used) returns the new storage with the first `used` elements kept).
  // Throws FastPathMiss for anything the precise path must handle.
  template <typename Grow>
  Measured MeasureAndFill(size_t p, const LeafModeInfo& mode, Grow&& grow, StringData* strings);

  static constexpr size_t npos = static_cast<size_t>(-1);

 private:
  size_t ObjectKey(size_t p) const;
  size_t Literal(size_t p, const char* word) const;
  size_t SpecialEnd(size_t p, size_t start) const;
  size_t Escape(size_t p, std::string* out) const;
  int Hex4(size_t p) const;
  void CloseList(std::vector<int64_t>& dims, size_t level, int64_t size) const;
  DecodeError TypeError(size_t p, const FillContext& ctx, int64_t leaf) const;
  // Leaf conversions; set num_end_. Return false when the leaf does not fit the mode (type error).
  bool LeafNumber(size_t p, const LeafModeInfo& mode, uint8_t* dest, int64_t i);
  bool LeafString(size_t p, LeafMode mode, StringData* out);
  double ReadFloat(size_t p);
  // After a float leaf ending at p: the further ", <number>" elements of the same list, while they
  // are plain numbers and k < stop, stored as T from dest[k] on (k advanced). Returns the end of
  // the last one taken; anything else (whitespace before ']', NaN, a nested list, an error) is
  // left to the caller's path, which reads it exactly as it would have.
  template <typename T>
  size_t FloatRun(size_t p, uint8_t* dest, int64_t* k, int64_t stop) const;
  template <typename F>
  size_t EachMember(size_t p, F& on_member);
  template <typename F>
  size_t EachElement(size_t p, F& on_element);

  const uint8_t* b_;
  size_t n_;
  size_t readable_;  // n_ + the padding after it
  int max_depth_;
  const char* depth_flag_;
  Budget* budget_;
  Budget* value_budget_ = nullptr;
  size_t num_end_ = 0;
  std::string scratch_;
};

// Standard base64, strict like absl::Base64Unescape (reader.ts decodeBase64Strict).
bool DecodeBase64Strict(const std::string& text, std::string* out);

// ---- template members ----

template <typename F>
size_t Reader::Members(size_t p, F&& on_member) {
  p = Ws(p);
  if (at(p) != '{') throw ParseError("Missing a name for object member.", p);
  if (depth >= max_depth_) throw TooDeep(p);
  p = Ws(p + 1);
  if (at(p) == '}') return p + 1;
  depth++;
  try {
    size_t end = EachMember(p, on_member);
    depth--;
    return end;
  } catch (...) {
    depth--;
    throw;
  }
}

template <typename F>
size_t Reader::EachMember(size_t p, F& on_member) {
  std::string key;
  for (;;) {
    if (at(p) != '"') throw ParseError("Missing a name for object member.", p);
    ReadString(p, &key);
    p = Ws(pos);
    if (at(p) != ':') throw ParseError("Missing a colon after a name of object member.", p);
    p = Ws(p + 1);
    p = Ws(on_member(static_cast<const std::string&>(key), p));
    const int d = at(p);
    if (d == ',') {
      p = Ws(p + 1);
      continue;
    }
    if (d == '}') return p + 1;
    throw ParseError("Missing a comma or '}' after an object member.", p);
  }
}

template <typename F>
size_t Reader::Elements(size_t p, F&& on_element) {
  p = Ws(p);
  if (at(p) != '[') throw ParseError("Invalid value.", p);
  if (depth >= max_depth_) throw TooDeep(p);
  p = Ws(p + 1);
  if (at(p) == ']') return p + 1;
  depth++;
  try {
    size_t end = EachElement(p, on_element);
    depth--;
    return end;
  } catch (...) {
    depth--;
    throw;
  }
}

template <typename F>
size_t Reader::EachElement(size_t p, F& on_element) {
  for (int64_t i = 0;; i++) {
    p = Ws(on_element(i, p));
    const int d = at(p);
    if (d == ',') {
      p = Ws(p + 1);
      continue;
    }
    if (d == ']') return p + 1;
    throw ParseError("Missing a comma or ']' after an array element.", p);
  }
}

template <typename T>
size_t Reader::FloatRun(size_t p, uint8_t* dest, int64_t* k, int64_t stop) const {
  const uint8_t* const b = b_;
  const uint8_t* const end = b_ + n_;
  int64_t i = *k;
  while (i < stop) {
    size_t q = Ws(p);
    if (q >= n_ || b[q] != ',') break;
    q = Ws(q + 1);
    double value;
    const uint8_t* e = readable_ - q >= 32 ? ParseShortJsonNumber(b + q, &value) : nullptr;
    if (e == nullptr) e = ParseJsonNumber(b + q, end, &value);
    if (e == nullptr) break;
    const T x = static_cast<T>(value);
    std::memcpy(dest + i * static_cast<int64_t>(sizeof(T)), &x, sizeof(T));
    i++;
    p = static_cast<size_t>(e - b);
  }
  *k = i;
  return p;
}

// closeList without the error: false when the list's size contradicts the first one.
constexpr int kMaxRank = 254;

// key == literal, the length compared first (std::string == const char* measures the literal and
// compares through char_traits: ~65 instructions per member key of a tiny body under callgrind).
template <size_t N>
inline bool KeyIs(const std::string& key, const char (&literal)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), literal, N - 1) == 0;
}

// dims: the sizes known so far per level (`known_levels` of them set), room for kMaxRank + 1.
inline bool CloseListFast(int64_t* dims, size_t& known_levels, size_t level, int64_t size) {
  while (known_levels <= level) dims[known_levels++] = -1;
  int64_t& known = dims[level];
  if (known == -1) {
    known = size;
    return true;
  }
  return known == size;
}

template <typename Grow>
Measured Reader::MeasureAndFill(size_t p, const LeafModeInfo& mode, Grow&& grow, StringData* strings) {
  p = Ws(p);
  const size_t start = p;
  uint8_t* dest = nullptr;
  int64_t cap = 0;
  int64_t i = 0;
  // per open list level (at most kMaxRank + 1 levels: deeper input is refused below), on the stack:
  // three heap vectors were a third of a tiny predict's decode allocations
  int64_t dims[kMaxRank + 1];
  size_t known_levels = 0;
  int64_t counts[kMaxRank + 1];
  int rank = -1;
  int level = 0;  // lists currently open
  bool estimated = false;
  const int room = max_depth_ - depth;
  const double remaining = budget_->remaining();
  const int64_t max_leaves = remaining < 0 ? 0 : remaining > 9e18 ? INT64_MAX : static_cast<int64_t>(remaining);
  const bool numeric = strings == nullptr;
  if (numeric) {
    cap = std::min<int64_t>(std::min<int64_t>(256, std::max<int64_t>(1, static_cast<int64_t>((n_ - start) >> 1))), max_leaves);
    dest = grow(cap, 0);
  }
  // leaves in the rest of the body at the bytes per leaf of the first i (read up to `at`)
  auto estimate = [&](size_t at) -> int64_t {
    const double want = std::ceil(static_cast<double>(n_ - start) * static_cast<double>(i) /
                                  static_cast<double>(at - start) * 1.05) + 16;
    return want > 9e18 ? INT64_MAX : static_cast<int64_t>(want);
  };
  int c = at(p);
  for (;;) {
    if (c == '[') {
      if (level >= room) throw TooDeep(p);
      if ((rank >= 0 && level >= rank) || level >= kMaxRank) throw FastPathMiss();
      counts[level] = 0;
      level++;
      p = Ws(p + 1);
      c = at(p);
      if (c != ']') continue;
      if (rank < 0) rank = level;
      p++;
      level--;
      if (!CloseListFast(dims, known_levels, level, 0)) throw FastPathMiss();
      if (level > 0) counts[level - 1]++;
    } else {
      if (rank < 0)
        rank = level;
      else if (level != rank)
        throw FastPathMiss();
      if (i >= max_leaves) throw budget_->exceeded();
      if (!numeric) {
        if (!LeafString(p, mode.mode, strings)) throw FastPathMiss();
      } else {
        if (i == cap) {
          int64_t want = cap * 2;
          if (!estimated) {
            // the first storage is full before any list closed (one long flat list): size it from
            // the bytes per leaf seen so far, as a closed first list does below, instead of
            // doubling ~10 times for 262,144 floats (each a fresh zero-filled block and a copy of
            // what came before: ~3 MB of memory writes for 1 MB of tensor)
            estimated = true;
            want = std::max(want, estimate(p));
          }
          cap = std::min<int64_t>(want, max_leaves);
          dest = grow(cap, i);
        }
        if (!LeafNumber(p, mode, dest, i)) throw FastPathMiss();
      }
      p = num_end_;
      i++;
      if (level > 0) counts[level - 1]++;
      if (numeric && level > 0 && (mode.mode == LeafMode::kFloat32 || mode.mode == LeafMode::kFloat64)) {
        // the rest of a list of plain numbers in one tight loop
        const int64_t before = i;
        const int64_t stop = std::min(cap, max_leaves);
        p = mode.mode == LeafMode::kFloat32 ? FloatRun<float>(p, dest, &i, stop) : FloatRun<double>(p, dest, &i, stop);
        counts[level - 1] += i - before;
      }
    }
    for (;;) {
      if (level == 0) {
        Measured m;
        m.start = start;
        m.end = p;
        const int r = rank < 0 ? 0 : rank;
        m.shape.assign(dims, dims + std::min<size_t>(r, known_levels));
        while (static_cast<int>(m.shape.size()) < r) m.shape.push_back(-1);
        double count = 1;
        for (int64_t d : m.shape) count *= static_cast<double>(d);
        if (count != static_cast<double>(i)) throw FastPathMiss();
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
        if (!CloseListFast(dims, known_levels, level, counts[level])) throw FastPathMiss();
        if (level > 0) counts[level - 1]++;
        if (!estimated && numeric && i > 0) {
          // first list closed: size the storage from the bytes per leaf seen so far
          estimated = true;
          const int64_t want = std::min<int64_t>(estimate(p), max_leaves);
          if (want > cap) {
            cap = want;
            dest = grow(cap, i);
          }
        }
        continue;
      }
      throw ParseError("Missing a comma or ']' after an array element.", p);
    }
  }
}

}  // namespace json
}  // namespace jetserve
