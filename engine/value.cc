// Value equality, the versioned binary encoding of task arguments, and their listing text.
// The format is described in engine/value.h; this file is its only reader and writer.
#include "engine/value.h"

#include <cstdio>
#include <cstring>
#include <set>

namespace aps {
namespace {

constexpr std::uint8_t kMagicV1 = 0xA1;
enum Tag : std::uint8_t {
  kTagNull = 0,
  kTagFalse = 1,
  kTagTrue = 2,
  kTagInt = 3,
  kTagDouble = 4,
  kTagString = 5,
  kTagBytes = 6,
  kTagList = 7,
  kTagMap = 8,
};

void PutVarint(std::string* out, std::uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutBlob(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool HasDuplicateKeys(const Value::Map& m) {
  if (m.size() < 2) return false;
  std::set<std::string_view> seen;
  for (const auto& kv : m) {
    if (!seen.insert(kv.first).second) return true;
  }
  return false;
}

Status Encode(const Value& v, int depth, std::string* out) {
  if (depth > kMaxValueDepth) {
    return Status::Format(StatusCode::kInvalidArgument, "task arguments nest deeper than %d levels",
                          kMaxValueDepth);
  }
  switch (v.type()) {
    case Value::Type::kNull: out->push_back(static_cast<char>(kTagNull)); break;
    case Value::Type::kBool:
      out->push_back(static_cast<char>(v.as_bool() ? kTagTrue : kTagFalse));
      break;
    case Value::Type::kInt: {
      out->push_back(static_cast<char>(kTagInt));
      const std::int64_t i = v.as_int();
      PutVarint(out, (static_cast<std::uint64_t>(i) << 1) ^ static_cast<std::uint64_t>(i >> 63));
      break;
    }
    case Value::Type::kDouble: {
      out->push_back(static_cast<char>(kTagDouble));
      const double d = v.as_double();
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      for (int b = 0; b < 8; ++b) out->push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
      break;
    }
    case Value::Type::kString:
    case Value::Type::kBytes:
      out->push_back(static_cast<char>(v.type() == Value::Type::kString ? kTagString : kTagBytes));
      PutBlob(out, v.as_string());
      break;
    case Value::Type::kList:
      out->push_back(static_cast<char>(kTagList));
      PutVarint(out, v.as_list().size());
      for (const Value& e : v.as_list()) {
        if (Status s = Encode(e, depth + 1, out); !s.ok()) return s;
      }
      break;
    case Value::Type::kMap:
      if (HasDuplicateKeys(v.as_map())) {
        return Status(StatusCode::kInvalidArgument, "task arguments: a map has duplicate keys");
      }
      out->push_back(static_cast<char>(kTagMap));
      PutVarint(out, v.as_map().size());
      for (const auto& [k, e] : v.as_map()) {
        PutBlob(out, k);
        if (Status s = Encode(e, depth + 1, out); !s.ok()) return s;
      }
      break;
  }
  return OkStatus();
}

// A bounds-checked reader; every failure is kDataLoss with the offset.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == b_.size(); }

  Status Fail(const char* what) const {
    return Status::Format(StatusCode::kDataLoss, "task arguments are undecodable: %s at byte %zu",
                          what, pos_);
  }
  bool Byte(std::uint8_t* out) {
    if (pos_ >= b_.size()) return false;
    *out = static_cast<std::uint8_t>(b_[pos_++]);
    return true;
  }
  bool Varint(std::uint64_t* out) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t c;
      if (!Byte(&c)) return false;
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if ((c & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }
  // A length-prefixed run of bytes that must fit in what is left.
  bool Blob(std::string_view* out) {
    std::uint64_t n;
    if (!Varint(&n) || n > b_.size() - pos_) return false;
    *out = b_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  // A count of elements, each at least one byte long: bounded by what is left.
  bool Count(std::uint64_t* out) { return Varint(out) && *out <= b_.size() - pos_; }

  Status Read(int depth, Value* out) {
    if (depth > kMaxValueDepth) return Fail("nesting too deep");
    std::uint8_t tag;
    if (!Byte(&tag)) return Fail("value cut short");
    switch (tag) {
      case kTagNull: *out = Value(); return OkStatus();
      case kTagFalse:
      case kTagTrue: *out = Value(tag == kTagTrue); return OkStatus();
      case kTagInt: {
        std::uint64_t z;
        if (!Varint(&z)) return Fail("integer cut short");
        *out = Value(static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1)));
        return OkStatus();
      }
      case kTagDouble: {
        if (b_.size() - pos_ < 8) return Fail("double cut short");
        std::uint64_t bits = 0;
        for (int b = 0; b < 8; ++b) {
          bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(b_[pos_ + b])) << (8 * b);
        }
        pos_ += 8;
        double d;
        std::memcpy(&d, &bits, 8);
        *out = Value(d);
        return OkStatus();
      }
      case kTagString:
      case kTagBytes: {
        std::string_view s;
        if (!Blob(&s)) return Fail("string length past the end");
        *out = tag == kTagString ? Value(std::string(s)) : Value::Bytes(std::string(s));
        return OkStatus();
      }
      case kTagList: {
        std::uint64_t n;
        if (!Count(&n)) return Fail("list length past the end");
        Value::List l(static_cast<std::size_t>(n));
        for (Value& e : l) {
          if (Status s = Read(depth + 1, &e); !s.ok()) return s;
        }
        *out = Value(std::move(l));
        return OkStatus();
      }
      case kTagMap: {
        std::uint64_t n;
        if (!Count(&n)) return Fail("map length past the end");
        Value::Map m(static_cast<std::size_t>(n));
        for (auto& [k, e] : m) {
          std::string_view key;
          if (!Blob(&key)) return Fail("map key past the end");
          k.assign(key);
          if (Status s = Read(depth + 1, &e); !s.ok()) return s;
        }
        if (HasDuplicateKeys(m)) return Fail("duplicate map key");
        *out = Value(std::move(m));
        return OkStatus();
      }
      default: --pos_; return Fail("unknown value tag (written by a newer aps?)");
    }
  }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

void AppendQuoted(std::string* out, std::string_view s, bool bytes) {
  if (bytes) out->push_back('b');
  out->push_back('\'');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\'' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c < 0x20 || c == 0x7F || (bytes && c >= 0x80)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('\'');
}

void Describe(const Value& v, std::string* out) {
  switch (v.type()) {
    case Value::Type::kNull: out->append("None"); break;
    case Value::Type::kBool: out->append(v.as_bool() ? "True" : "False"); break;
    case Value::Type::kInt: out->append(std::to_string(v.as_int())); break;
    case Value::Type::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", v.as_double());
      out->append(buf);
      break;
    }
    case Value::Type::kString:
    case Value::Type::kBytes:
      AppendQuoted(out, v.as_string(), v.type() == Value::Type::kBytes);
      break;
    case Value::Type::kList: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.as_list()) {
        if (!first) out->append(", ");
        first = false;
        Describe(e, out);
      }
      out->push_back(']');
      break;
    }
    case Value::Type::kMap: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_map()) {
        if (!first) out->append(", ");
        first = false;
        AppendQuoted(out, k, false);
        out->append(": ");
        Describe(e, out);
      }
      out->push_back('}');
      break;
    }
  }
}

}  // namespace

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const auto& kv : map_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

bool Value::operator==(const Value& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::kNull: return true;
    case Type::kBool:
    case Type::kInt: return i_ == o.i_;
    case Type::kDouble: return std::memcmp(&d_, &o.d_, sizeof(d_)) == 0;
    case Type::kString:
    case Type::kBytes: return s_ == o.s_;
    case Type::kList: return list_ == o.list_;
    case Type::kMap: return map_ == o.map_;
  }
  return false;
}

Result<std::string> EncodeArgs(const TaskArgs& a) {
  std::string out;
  out.push_back(static_cast<char>(kMagicV1));
  // The two top-level containers are encoded as a list and a map value (tags included).
  Value list(a.args);
  Value map(a.kwargs);
  if (Status s = Encode(list, 0, &out); !s.ok()) return s;
  if (Status s = Encode(map, 0, &out); !s.ok()) return s;
  return out;
}

Result<TaskArgs> DecodeArgs(std::string_view blob) {
  TaskArgs a;
  if (blob.empty()) return a;
  Reader r(blob);
  std::uint8_t magic = 0;
  (void)r.Byte(&magic);
  if (magic != kMagicV1) {
    return Status::Format(StatusCode::kDataLoss,
                          "task arguments are undecodable: format byte 0x%02x is not 0x%02x "
                          "(written by a newer aps, or not task arguments)",
                          magic, kMagicV1);
  }
  Value list, map;
  if (Status s = r.Read(0, &list); !s.ok()) return s;
  if (list.type() != Value::Type::kList) return r.Fail("positional arguments are not a list");
  if (Status s = r.Read(0, &map); !s.ok()) return s;
  if (map.type() != Value::Type::kMap) return r.Fail("keyword arguments are not a map");
  if (!r.at_end()) return r.Fail("trailing bytes");
  a.args = std::move(list.mutable_list());
  a.kwargs = std::move(map.mutable_map());
  return a;
}

std::string DescribeArgs(const TaskArgs& a, std::size_t max_chars) {
  std::string out = "(";
  bool first = true;
  for (const Value& v : a.args) {
    if (!first) out.append(", ");
    first = false;
    Describe(v, &out);
  }
  if (a.args.size() == 1 && a.kwargs.empty()) out.push_back(',');
  for (const auto& [k, v] : a.kwargs) {
    if (!first) out.append(", ");
    first = false;
    out.append(k);
    out.push_back('=');
    Describe(v, &out);
  }
  out.push_back(')');
  if (out.size() > max_chars && max_chars >= 3) {
    out.resize(max_chars - 3);
    out.append("...");
  }
  return out;
}

}  // namespace aps
