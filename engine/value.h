// aps/engine/value.h — task arguments: values that survive a store, and their binary encoding.
//
// A persistent job cannot keep a C++ callable; it names a registered task and keeps the task's
// arguments as Values: null, bool, int64, double, string (UTF-8 text), bytes, list, and map
// (string keys, insertion order kept, as Python's kwargs). EncodeArgs() writes them in a
// compact, versioned binary form that DecodeArgs() reads back exactly (doubles bit for bit).
//
//   aps::TaskArgs a;
//   a.args = {aps::Value("report.pdf"), aps::Value(std::int64_t{3})};
//   a.kwargs = {{"to", aps::Value("ops@example.com")}};
//   std::string blob = aps::EncodeArgs(a);                 // stored with the job
//   aps::Result<aps::TaskArgs> back = aps::DecodeArgs(blob);   // == a
//
// The encoding (version 1), little-endian, varints are LEB128:
//   blob   := 0xA1 (magic+version) list map
//   value  := tag payload; tags: 0 null, 1 false, 2 true, 3 int (zigzag varint),
//             4 double (8 bytes, IEEE-754 bits), 5 string (varint n, n bytes),
//             6 bytes (varint n, n bytes), 7 list (varint n, n values),
//             8 map (varint n, n × (varint k, k key bytes, value))
// A reader refuses what it does not know (a newer version byte, an unknown tag), trailing
// bytes, lengths past the end, nesting deeper than kMaxValueDepth and duplicate map keys, each
// with kDataLoss naming the problem and the byte offset. Adding a tag is a new version.
//
// Threads: Values are plain data (no sharing); encode/decode are pure functions. Everything
// here allocates; nothing blocks; any thread.
#ifndef APS_ENGINE_VALUE_H_
#define APS_ENGINE_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace aps {

inline constexpr int kMaxValueDepth = 64;

class Value {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kInt, kDouble, kString, kBytes, kList, kMap };
  using List = std::vector<Value>;
  using Map = std::vector<std::pair<std::string, Value>>;  // insertion order; keys unique

  Value() = default;  // null
  explicit Value(bool b) : type_(Type::kBool), i_(b ? 1 : 0) {}
  explicit Value(std::int64_t i) : type_(Type::kInt), i_(i) {}
  explicit Value(int i) : type_(Type::kInt), i_(i) {}
  explicit Value(double d) : type_(Type::kDouble), d_(d) {}
  explicit Value(std::string s) : type_(Type::kString), s_(std::move(s)) {}
  explicit Value(const char* s) : type_(Type::kString), s_(s) {}
  explicit Value(List l) : type_(Type::kList), list_(std::move(l)) {}
  explicit Value(Map m) : type_(Type::kMap), map_(std::move(m)) {}
  static Value Bytes(std::string b) {
    Value v(std::move(b));
    v.type_ = Type::kBytes;
    return v;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  // Accessors: the value when of that type, else the fallback (never abort).
  bool as_bool(bool fallback = false) const { return type_ == Type::kBool ? i_ != 0 : fallback; }
  std::int64_t as_int(std::int64_t fallback = 0) const {
    return type_ == Type::kInt ? i_ : fallback;
  }
  double as_double(double fallback = 0) const { return type_ == Type::kDouble ? d_ : fallback; }
  // String or bytes content; empty for other types.
  const std::string& as_string() const { return s_; }
  const List& as_list() const { return list_; }
  const Map& as_map() const { return map_; }
  List& mutable_list() { return list_; }
  Map& mutable_map() { return map_; }
  // Map lookup: the value under `key`, or nullptr (also when not a map).
  const Value* Find(std::string_view key) const;

  // Exact equality: same type and content; doubles compare by bits (NaN == same NaN).
  bool operator==(const Value& o) const;

 private:
  Type type_ = Type::kNull;
  std::int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  List list_;
  Map map_;
};

// A task's call: positional and keyword arguments.
struct TaskArgs {
  Value::List args;
  Value::Map kwargs;
  bool operator==(const TaskArgs&) const = default;
  bool empty() const { return args.empty() && kwargs.empty(); }
};

// EncodeArgs(): the binary form above. kInvalidArgument for a map with duplicate keys or
// nesting deeper than kMaxValueDepth (nothing else can fail).
Result<std::string> EncodeArgs(const TaskArgs& a);
// DecodeArgs(): the arguments, or kDataLoss naming what is wrong and where. An empty blob is
// "no arguments" (jobs stored without any).
Result<TaskArgs> DecodeArgs(std::string_view blob);

// DescribeArgs(): Python-like text for listings: ('a', 3), to='x' — bytes as b'..' with
// escapes, long output cut at `max_chars` with "...". Never fails.
std::string DescribeArgs(const TaskArgs& a, std::size_t max_chars = 200);

}  // namespace aps

#endif  // APS_ENGINE_VALUE_H_
