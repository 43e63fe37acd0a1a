#include "json_encode.h"

#include <tensorflow/c/c_api.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "json_float_text.h"
#include "json_numbers.h"

namespace jetserve {
namespace json {

namespace {

template <typename T>
T Load(const uint8_t* data, int64_t i) {
  T v;
  std::memcpy(&v, data + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <typename T>
void AppendInt(T v, TextBuffer* out) {
  char* w = out->Room(24);
  out->SetEnd(std::to_chars(w, w + 24, v).ptr);
}

const char kHex[] = "0123456789abcdef";

void AppendEscapedCodePoint(uint32_t cp, TextBuffer* out) {
  switch (cp) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  if (cp < 0x20) {
    const char esc[6] = {'\\', 'u', '0', '0', kHex[cp >> 4], kHex[cp & 0xf]};
    out->append(esc, 6);
  } else if (cp < 0x80) {
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

void AppendJsonStringFromBytes(const uint8_t* p, size_t n, TextBuffer* out) {
  out->push_back('"');
  // WHATWG UTF-8 decoder (replacement mode), then JSON.stringify's escapes
  uint32_t cp = 0;
  int needed = 0, seen = 0;
  uint8_t lower = 0x80, upper = 0xbf;
  size_t i = 0;
  while (i < n) {
    const uint8_t byte = p[i];
    if (needed == 0) {
      i++;
      if (byte < 0x80) {
        AppendEscapedCodePoint(byte, out);
      } else if (byte >= 0xc2 && byte <= 0xdf) {
        needed = 1;
        cp = byte & 0x1f;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte == 0xe0) lower = 0xa0;
        if (byte == 0xed) upper = 0x9f;
        needed = 2;
        cp = byte & 0xf;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte == 0xf0) lower = 0x90;
        if (byte == 0xf4) upper = 0x8f;
        needed = 3;
        cp = byte & 0x7;
      } else {
        AppendEscapedCodePoint(0xfffd, out);
      }
      continue;
    }
    if (byte < lower || byte > upper) {
      // the byte starts over (not consumed)
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      AppendEscapedCodePoint(0xfffd, out);
      continue;
    }
    i++;
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (byte & 0x3f);
    if (++seen == needed) {
      AppendEscapedCodePoint(cp, out);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) AppendEscapedCodePoint(0xfffd, out);
  out->push_back('"');
}

void AppendBase64(const uint8_t* p, size_t n, TextBuffer* out) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (static_cast<uint32_t>(p[i]) << 16) | (static_cast<uint32_t>(p[i + 1]) << 8) | p[i + 2];
    const char q[4] = {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
    out->append(q, 4);
  }
  if (i + 1 == n) {
    const uint32_t v = static_cast<uint32_t>(p[i]) << 16;
    const char q[4] = {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
    out->append(q, 4);
  } else if (i + 2 == n) {
    const uint32_t v = (static_cast<uint32_t>(p[i]) << 16) | (static_cast<uint32_t>(p[i + 1]) << 8);
    const char q[4] = {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
    out->append(q, 4);
  }
}

ResponseEncoder::ResponseEncoder(Kind kind, std::string prefix, std::vector<OutputTensor> outputs)
    : kind_(kind), prefix_(std::move(prefix)), outputs_(std::move(outputs)) {
  if (!outputs_.empty() && !outputs_[0].shape.empty()) batch_ = outputs_[0].shape[0];
}

void ResponseEncoder::WriteElement(const OutputTensor& t, int64_t i, TextBuffer* out) const {
  switch (t.tf_dtype) {
    case TF_FLOAT:
      out->SetEnd(WriteFloat32Text(Load<float>(t.data, i), out->Room(32)));
      return;
    case TF_DOUBLE:
      out->SetEnd(FormatFloat64(Load<double>(t.data, i), out->Room(40)));
      return;
    case TF_HALF:
      out->SetEnd(WriteFloat32Text(HalfBitsToFloat32(Load<uint16_t>(t.data, i)), out->Room(32)));
      return;
    case TF_BFLOAT16:
      out->SetEnd(WriteFloat32Text(Bfloat16BitsToFloat32(Load<uint16_t>(t.data, i)), out->Room(32)));
      return;
    case TF_INT8:
      AppendInt(static_cast<int>(Load<int8_t>(t.data, i)), out);
      return;
    case TF_INT16:
      AppendInt(static_cast<int>(Load<int16_t>(t.data, i)), out);
      return;
    case TF_INT32:
      AppendInt(Load<int32_t>(t.data, i), out);
      return;
    case TF_UINT8:
      AppendInt(static_cast<unsigned>(Load<uint8_t>(t.data, i)), out);
      return;
    case TF_UINT16:
      AppendInt(static_cast<unsigned>(Load<uint16_t>(t.data, i)), out);
      return;
    case TF_UINT32:
      AppendInt(Load<uint32_t>(t.data, i), out);
      return;
    case TF_INT64:
      AppendInt(Load<int64_t>(t.data, i), out);
      return;
    case TF_UINT64:
      AppendInt(Load<uint64_t>(t.data, i), out);
      return;
    case TF_BOOL:
      out->append(t.data[i] ? "true" : "false");
      return;
    case TF_STRING: {
      const auto& s = t.strings[static_cast<size_t>(i)];
      if (t.b64) {
        out->append("{\"b64\": \"");
        AppendBase64(s.first, s.second, out);
        out->append("\"}");
      } else {
        AppendJsonStringFromBytes(s.first, s.second, out);
      }
      return;
    }
    default:
      return;  // the JS side refuses dtypes JSON cannot hold before encoding
  }
}

// nestedList (writer.ts): the list of shape[dim…] from element `base`, written whole.
void ResponseEncoder::NestedList(const OutputTensor& t, size_t dim, int64_t base, TextBuffer* out) const {
  if (dim >= t.shape.size()) {
    WriteElement(t, base, out);
    return;
  }
  const int64_t n = t.shape[dim];
  out->push_back('[');
  int64_t stride = 1;
  for (size_t d = dim + 1; d < t.shape.size(); d++) stride *= t.shape[d];
  for (int64_t k = 0; k < n; k++) {
    if (k > 0) out->append(", ");
    NestedList(t, dim + 1, base + k * stride, out);
  }
  out->push_back(']');
}

void ResponseEncoder::BeginList(int tensor, size_t dim, int64_t base) {
  const OutputTensor& t = outputs_[tensor];
  list_ = List();
  list_.tensor = tensor;
  list_.dim = dim;
  list_.base = base;
  int64_t count = 1;
  if (kind_ == kKServe) {
    for (int64_t d : t.shape) count *= d;
    list_.strides = {1};  // flat
  } else {
    const size_t sub = t.shape.size() - dim;
    list_.strides.assign(sub, 1);
    for (size_t d = dim; d < t.shape.size(); d++) count *= t.shape[d];
    for (size_t k = sub; k-- > 1;) list_.strides[k - 1] = list_.strides[k] * t.shape[dim + k];
  }
  list_.count = count;
  in_list_ = true;
}

// Writes the current list until `out` holds `limit` bytes; true when the list is complete.
bool ResponseEncoder::RunList(TextBuffer* out, size_t limit) {
  List& l = list_;
  const OutputTensor& t = outputs_[l.tensor];
  const size_t sub = l.strides.size();
  const bool flat = kind_ == kKServe;
  if (!l.started) {
    l.started = true;
    if (!flat && (sub == 0 || l.count == 0)) {
      // a scalar, or lists without elements: no element loop to slice
      NestedList(t, l.dim, l.base, out);
      return true;
    }
    out->append(sub, '[');
  }
  const char* sep = flat ? "," : ", ";
  const size_t sep_len = flat ? 1 : 2;
  if (t.tf_dtype == TF_FLOAT && sub == 1) return RunFloatList(t, sep, sep_len, out, limit);
  while (l.next < l.count) {
    const int64_t i = l.next;
    if (i > 0) {
      size_t closes = 0;
      for (size_t k = sub - 1; k-- > 0 && i % l.strides[k] == 0;) closes++;
      if (closes == 0) {
        out->append(sep, sep_len);
      } else {
        out->append(closes, ']');
        out->append(sep, sep_len);
        out->append(closes, '[');
      }
    }
    WriteElement(t, l.base + i, out);
    l.next++;
    if (out->size() >= limit && l.next < l.count) return false;
  }
  out->append(sub, ']');
  return true;
}

// RunList for a flat float32 list, the bulk of large responses: elements written straight into
// the buffer kFloatBatch at a time (WriteFloat32List: 4 values per step where the CPU has AVX2),
// the limit checked after each batch (a chunk may pass it by that many).
bool ResponseEncoder::RunFloatList(const OutputTensor& t, const char* sep, size_t sep_len, TextBuffer* out, size_t limit) {
  constexpr int64_t kFloatBatch = 1024;
  constexpr size_t kMaxFloatText = 16 + 2;  // "-1.23456789e-38" and a separator
  List& l = list_;
  const uint8_t* base = t.data + l.base * 4;
  int64_t i = l.next;
  while (i < l.count) {
    const int64_t stop = std::min(l.count, i + kFloatBatch);
    // WriteFloat32List needs 32 bytes of room past the text
    char* w = out->Room(static_cast<size_t>(stop - i) * kMaxFloatText + 32);
    if (i > 0) {
      std::memcpy(w, sep, 2);
      w += sep_len;
    }
    w = WriteFloat32List(base + 4 * i, static_cast<size_t>(stop - i), sep, sep_len, w);
    i = stop;
    out->SetEnd(w);
    if (out->size() >= limit && i < l.count) {
      l.next = i;
      return false;
    }
  }
  l.next = l.count;
  out->push_back(']');
  return true;
}

bool ResponseEncoder::Next(TextBuffer* out, size_t limit) {
  for (;;) {
    if (done_) return false;
    if (in_list_) {
      if (!RunList(out, limit)) return true;
      in_list_ = false;
      out->append(after_list_);
      after_list_.clear();
    }
    if (out->size() >= limit) return true;
    const size_t n = outputs_.size();
    switch (kind_) {
      case kColumnar:
        if (n == 1) {
          if (phase_ == 0) {
            out->append("{\"outputs\": ");
            BeginList(0, 0, 0);
            phase_ = 1;
          } else {
            out->append("}");
            done_ = true;
          }
          break;
        }
        if (phase_ == 0) {
          out->append("{\"outputs\": {");
          phase_ = 1;
        } else if (k_ < n) {
          if (k_ > 0) out->append(", ");
          out->append(outputs_[k_].key);
          out->append(": ");
          BeginList(static_cast<int>(k_), 0, 0);
          k_++;
        } else {
          out->append("}}");
          done_ = true;
        }
        break;
      case kRow:
        if (n == 1) {
          if (phase_ == 0) {
            out->append("{\"predictions\": ");
            BeginList(0, 0, 0);
            phase_ = 1;
          } else {
            out->append("}");
            done_ = true;
          }
          break;
        }
        if (phase_ == 0) {
          out->append("{\"predictions\": [");
          phase_ = 1;
        } else if (row_ < batch_) {
          if (k_ == 0) out->append(row_ > 0 ? ", {" : "{");
          if (k_ < n) {
            if (k_ > 0) out->append(", ");
            const OutputTensor& t = outputs_[k_];
            int64_t stride = 1;
            for (size_t d = 1; d < t.shape.size(); d++) stride *= t.shape[d];
            out->append(t.key);
            out->append(": ");
            BeginList(static_cast<int>(k_), 1, row_ * stride);
            k_++;
          } else {
            out->append("}");
            k_ = 0;
            row_++;
          }
        } else {
          out->append("]}");
          done_ = true;
        }
        break;
      case kKServe:
        if (phase_ == 0) {
          out->append(prefix_);
          phase_ = 1;
        } else if (k_ < n) {
          if (k_ > 0) out->push_back(',');
          out->append(outputs_[k_].key);
          BeginList(static_cast<int>(k_), 0, 0);
          after_list_ = "}";  // the output object closes after its data
          k_++;
        } else {
          out->append("]}");
          done_ = true;
        }
        break;
    }
  }
}

}  // namespace json
}  // namespace jetserve
