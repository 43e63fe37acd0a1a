// Response JSON for TF Serving predict (row "predictions" / columnar "outputs") and KServe v2
// infer ("outputs[].data"), produced in chunks of bounded size so a large response never needs
// its whole text in memory. The text is byte for byte what src/wire/json/ writes (the reference):
// TF Serving's float spelling (%.6g, else 9 / 17 digits; NaN, Infinity, -Infinity), exact 64-bit
// integers, strings as JSON (invalid UTF-8 → U+FFFD, as TextDecoder) or {"b64": …}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace jetserve {
namespace json {

// The response text being produced: a malloc'd block that grows (realloc) as needed. Numbers are
// written straight into it (Room / SetEnd: no per-element append call), and a finished chunk's
// block can be handed to JS as is (Release) instead of being copied into a Buffer.
class TextBuffer {
 public:
  TextBuffer() = default;
  TextBuffer(const TextBuffer&) = delete;
  TextBuffer& operator=(const TextBuffer&) = delete;
  ~TextBuffer() {
    if (owned_) std::free(data_);
  }

  // Writes into `block` (not owned) until the text outgrows it; then into a malloc'd copy.
  void Attach(char* block, size_t capacity) {
    if (owned_) std::free(data_);
    data_ = block;
    cap_ = capacity;
    size_ = 0;
    owned_ = false;
  }
  // Whether the text is in the attached block.
  bool attached() const { return !owned_ && data_ != nullptr; }

  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  const char* data() const { return data_; }
  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > cap_) Grow(n);
  }
  // At least n writable bytes at the end; returns where they start (write, then SetEnd).
  char* Room(size_t n) {
    if (cap_ - size_ < n) Grow(size_ + n);
    return data_ + size_;
  }
  void SetEnd(char* end) { size_ = static_cast<size_t>(end - data_); }
  void push_back(char c) { *Room(1) = c; size_++; }
  void append(const char* p, size_t n) {
    std::memcpy(Room(n), p, n);
    size_ += n;
  }
  void append(const char* text) { append(text, std::strlen(text)); }
  void append(const std::string& text) { append(text.data(), text.size()); }
  void append(size_t n, char c) {
    std::memset(Room(n), c, n);
    size_ += n;
  }
  // The block (malloc'd, free() it) with the text; the buffer is empty afterwards. Not attached.
  char* Release() {
    char* p = data_;
    data_ = nullptr;
    size_ = cap_ = 0;
    owned_ = true;
    return p;
  }

 private:
  void Grow(size_t need) {
    size_t cap = cap_ < 256 ? 256 : cap_ * 2;
    while (cap < need) cap *= 2;
    char* p;
    if (owned_) {
      p = static_cast<char*>(std::realloc(data_, cap));
    } else {
      p = static_cast<char*>(std::malloc(cap));
      if (p != nullptr && size_ > 0) std::memcpy(p, data_, size_);
    }
    if (p == nullptr) throw std::bad_alloc();
    data_ = p;
    cap_ = cap;
    owned_ = true;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
  bool owned_ = true;
};

struct OutputTensor {
  std::string key;  // TF multi-output: the JSON string of the name; KServe: the output's header text
  int tf_dtype = 0;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;                               // numeric
  std::vector<std::pair<const uint8_t*, size_t>> strings;      // DT_STRING elements
  bool b64 = false;                                            // DT_STRING as {"b64": …}
  std::string type_string;                                     // TF DataTypeString, for errors
};

class ResponseEncoder {
 public:
  enum Kind { kRow = 0, kColumnar = 1, kKServe = 2 };
  // Outputs are valid for JSON (the JS side checks batch sizes and dtypes first). KServe:
  // `prefix` is the text before the outputs ("{"model_name":…,"outputs":["), each output's key
  // its text up to and including "data":.
  ResponseEncoder(Kind kind, std::string prefix, std::vector<OutputTensor> outputs);

  // Appends text to `out` until it holds at least `limit` bytes or the response is complete.
  // Returns true while more remains.
  bool Next(TextBuffer* out, size_t limit);

 private:
  struct List {
    int tensor = 0;
    size_t dim = 0;        // first dim written (1 for a row)
    int64_t base = 0;      // first element
    int64_t count = 0;     // elements in the list
    int64_t next = 0;      // next element to write
    std::vector<int64_t> strides;  // elements per step of each written dim
    bool started = false;
  };
  bool RunList(TextBuffer* out, size_t limit);
  bool RunFloatList(const OutputTensor& t, const char* sep, size_t sep_len, TextBuffer* out, size_t limit);
  void WriteElement(const OutputTensor& t, int64_t i, TextBuffer* out) const;
  void NestedList(const OutputTensor& t, size_t dim, int64_t base, TextBuffer* out) const;
  void BeginList(int tensor, size_t dim, int64_t base);

  Kind kind_;
  std::string prefix_;
  std::vector<OutputTensor> outputs_;
  // cursor: the row and output being written, and the piece within them
  int64_t batch_ = 0;
  int64_t row_ = 0;
  size_t k_ = 0;
  int phase_ = 0;
  bool in_list_ = false;
  List list_;
  std::string after_list_;
  bool done_ = false;
};

// A JSON string literal for UTF-8 bytes: invalid sequences become U+FFFD (WHATWG decoding, as
// TextDecoder), then JSON.stringify's escaping.
void AppendJsonStringFromBytes(const uint8_t* p, size_t n, TextBuffer* out);
void AppendBase64(const uint8_t* p, size_t n, TextBuffer* out);

}  // namespace json
}  // namespace jetserve
