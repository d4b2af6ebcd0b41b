// aps/engine/internal/text_util.h — small string helpers shared by the trigger parsers.
#ifndef APS_ENGINE_INTERNAL_TEXT_UTIL_H_
#define APS_ENGINE_INTERNAL_TEXT_UTIL_H_

#include <string>
#include <string_view>

namespace aps::engine_internal {

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// 'text' with backslash escapes for ' and \ (the stable trigger text form's string literal).
inline void AppendQuoted(std::string_view s, std::string* out) {
  *out += '\'';
  for (char c : s) {
    if (c == '\'' || c == '\\') *out += '\\';
    *out += c;
  }
  *out += '\'';
}

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_TEXT_UTIL_H_
