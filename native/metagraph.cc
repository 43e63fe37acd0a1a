#include "metagraph.h"

namespace jetserve {
namespace {

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

class WireReader {
 public:
  WireReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}

  bool done() const { return p_ >= end_; }

  bool ReadVarint(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return false;
      const uint8_t byte = *p_++;
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return false;
  }

  bool ReadTag(uint32_t* field, uint32_t* wire_type) {
    uint64_t tag;
    if (!ReadVarint(&tag)) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *wire_type = static_cast<uint32_t>(tag & 7);
    return *field != 0;
  }

  bool ReadBytes(WireReader* sub) {
    uint64_t length;
    if (!ReadVarint(&length) || length > static_cast<uint64_t>(end_ - p_)) return false;
    *sub = WireReader(p_, static_cast<size_t>(length));
    p_ += length;
    return true;
  }

  bool ReadString(std::string* out) {
    WireReader sub(nullptr, 0);
    if (!ReadBytes(&sub)) return false;
    out->assign(reinterpret_cast<const char*>(sub.p_), static_cast<size_t>(sub.end_ - sub.p_));
    return true;
  }

  bool Skip(uint32_t wire_type) {
    uint64_t ignored;
    WireReader sub(nullptr, 0);
    switch (wire_type) {
      case kVarint:
        return ReadVarint(&ignored);
      case kFixed64:
        return Advance(8);
      case kLengthDelimited:
        return ReadBytes(&sub);
      case kFixed32:
        return Advance(4);
      default:
        return false;  // groups are not used by these messages
    }
  }

 private:
  bool Advance(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
};

bool ParseDim(WireReader reader, int64_t* size) {
  *size = -1;
  uint32_t field, wire;
  while (!reader.done()) {
    if (!reader.ReadTag(&field, &wire)) return false;
    if (field == 1 && wire == kVarint) {
      uint64_t v;
      if (!reader.ReadVarint(&v)) return false;
      *size = static_cast<int64_t>(v);
    } else if (!reader.Skip(wire)) {
      return false;
    }
  }
  return true;
}

bool ParseShape(WireReader reader, TensorInfoDesc* info) {
  info->unknown_rank = false;
  info->dims.clear();
  uint32_t field, wire;
  while (!reader.done()) {
    if (!reader.ReadTag(&field, &wire)) return false;
    if (field == 2 && wire == kLengthDelimited) {
      WireReader dim(nullptr, 0);
      int64_t size;
      if (!reader.ReadBytes(&dim) || !ParseDim(dim, &size)) return false;
      info->dims.push_back(size);
    } else if (field == 3 && wire == kVarint) {
      uint64_t v;
      if (!reader.ReadVarint(&v)) return false;
      info->unknown_rank = v != 0;
    } else if (!reader.Skip(wire)) {
      return false;
    }
  }
  if (info->unknown_rank) info->dims.clear();
  return true;
}

bool ParseTensorInfo(WireReader reader, TensorInfoDesc* info) {
  uint32_t field, wire;
  while (!reader.done()) {
    if (!reader.ReadTag(&field, &wire)) return false;
    if (field == 1 && wire == kLengthDelimited) {
      if (!reader.ReadString(&info->name)) return false;
    } else if (field == 2 && wire == kVarint) {
      uint64_t v;
      if (!reader.ReadVarint(&v)) return false;
      info->dtype = static_cast<int>(v);
    } else if (field == 3 && wire == kLengthDelimited) {
      WireReader shape(nullptr, 0);
      if (!reader.ReadBytes(&shape) || !ParseShape(shape, info)) return false;
    } else if (!reader.Skip(wire)) {
      return false;
    }
  }
  return true;
}

// A map<string, Message> entry: key = 1, value = 2. An absent value is the default message, which
// the caller's value already is.
template <typename ParseValue>
bool ParseMapEntry(WireReader reader, std::string* key, ParseValue parse_value) {
  uint32_t field, wire;
  while (!reader.done()) {
    if (!reader.ReadTag(&field, &wire)) return false;
    if (field == 1 && wire == kLengthDelimited) {
      if (!reader.ReadString(key)) return false;
    } else if (field == 2 && wire == kLengthDelimited) {
      WireReader value(nullptr, 0);
      if (!reader.ReadBytes(&value) || !parse_value(value)) return false;
    } else if (!reader.Skip(wire)) {
      return false;
    }
  }
  return true;
}

bool ParseTensorMapEntry(WireReader reader, std::map<std::string, TensorInfoDesc>* map) {
  std::string key;
  TensorInfoDesc info;
  if (!ParseMapEntry(reader, &key, [&](WireReader value) { return ParseTensorInfo(value, &info); })) return false;
  (*map)[key] = std::move(info);
  return true;
}

bool ParseSignatureDef(WireReader reader, SignatureDesc* signature) {
  uint32_t field, wire;
  while (!reader.done()) {
    if (!reader.ReadTag(&field, &wire)) return false;
    WireReader sub(nullptr, 0);
    if (field == 1 && wire == kLengthDelimited) {
      if (!reader.ReadBytes(&sub) || !ParseTensorMapEntry(sub, &signature->inputs)) return false;
    } else if (field == 2 && wire == kLengthDelimited) {
      if (!reader.ReadBytes(&sub) || !ParseTensorMapEntry(sub, &signature->outputs)) return false;
    } else if (field == 3 && wire == kLengthDelimited) {
      if (!reader.ReadString(&signature->method_name)) return false;
    } else if (!reader.Skip(wire)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool ParseSignatures(const uint8_t* data, size_t size, std::map<std::string, SignatureDesc>* out,
                     std::string* error) {
  WireReader reader(data, size);
  uint32_t field, wire;
  while (!reader.done()) {
    if (!reader.ReadTag(&field, &wire)) {
      *error = "malformed MetaGraphDef";
      return false;
    }
    if (field == 5 && wire == kLengthDelimited) {
      WireReader entry(nullptr, 0);
      std::string key;
      SignatureDesc signature;
      if (!reader.ReadBytes(&entry) ||
          !ParseMapEntry(entry, &key, [&](WireReader value) { return ParseSignatureDef(value, &signature); })) {
        *error = "malformed SignatureDef in MetaGraphDef";
        return false;
      }
      (*out)[key] = std::move(signature);
    } else if (!reader.Skip(wire)) {
      *error = "malformed MetaGraphDef";
      return false;
    }
  }
  return true;
}

}  // namespace jetserve
