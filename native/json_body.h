// A request body handed to the native JSON decoders: the bytes of a Uint8Array argument, and for
// a small body a copy followed by zero bytes, so every number token takes the short parser (which
// reads up to 32 bytes ahead without bounds checks; see Reader's padding in json_reader.h).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace jetserve {
namespace json {

// Bodies up to this size are copied before decoding (next to nothing beside a decode), larger
// ones decoded in place: only their last ~32 bytes' numbers miss the short parser.
constexpr size_t kPaddedBodyMax = 4096;
constexpr size_t kBodyPadding = 32;

// Where small bodies are copied (one per addon instance: decodes run one at a time on its thread).
struct PaddedBody {
  uint8_t bytes[kPaddedBodyMax + kBodyPadding];
};

struct Body {
  const uint8_t* data = nullptr;
  size_t length = 0;
  size_t padding = 0;  // zero bytes readable after data + length
};

// One napi call: the data pointer it gives already includes the view's offset.
inline Body BodyOf(napi_env env, const Napi::Value& value, PaddedBody& padded) {
  Body b;
  void* data = nullptr;
  size_t length = 0;
  if (napi_get_typedarray_info(env, value, nullptr, &length, &data, nullptr, nullptr) != napi_ok) {
    throw Napi::TypeError::New(env, "body must be a Uint8Array");
  }
  b.data = static_cast<const uint8_t*>(data);
  b.length = length;
  if (length <= kPaddedBodyMax) {
    if (length > 0) std::memcpy(padded.bytes, data, length);
    std::memset(padded.bytes + length, 0, kBodyPadding);
    b.data = padded.bytes;
    b.padding = kBodyPadding;
  }
  return b;
}

}  // namespace json
}  // namespace jetserve
