// The names a hook expression can use: built-in names and filters, shared by the
// compiler and the machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roomwire::hooks {

/// Built-in names, by index.
enum class builtin : std::uint8_t { connection_id, client_id, message, path, code, reason, count_ };
inline constexpr const char* builtin_names[] = {"connection_id", "client_id", "message", "path", "code", "reason"};

/// The index of built-in `name`, or -1.
inline int builtin_index(std::string_view name) {
  for (int i = 0; i < static_cast<int>(builtin::count_); ++i)
    if (name == builtin_names[i]) return i;
  return -1;
}

/// Filters, by id.
enum class filter : std::uint8_t {
  contains, starts_with, ends_with, split, first, last, at, length, upper, lower, trim, join, json, default_
};

struct filter_spec {
  const char* name;
  std::uint8_t id;
  std::uint8_t min_args, max_args;
};

inline constexpr filter_spec filters[] = {
    {"contains", static_cast<std::uint8_t>(filter::contains), 1, 1},
    {"startsWith", static_cast<std::uint8_t>(filter::starts_with), 1, 1},
    {"endsWith", static_cast<std::uint8_t>(filter::ends_with), 1, 1},
    {"split", static_cast<std::uint8_t>(filter::split), 1, 2},
    {"first", static_cast<std::uint8_t>(filter::first), 0, 0},
    {"last", static_cast<std::uint8_t>(filter::last), 0, 0},
    {"at", static_cast<std::uint8_t>(filter::at), 1, 1},
    {"length", static_cast<std::uint8_t>(filter::length), 0, 0},
    {"upper", static_cast<std::uint8_t>(filter::upper), 0, 0},
    {"lower", static_cast<std::uint8_t>(filter::lower), 0, 0},
    {"trim", static_cast<std::uint8_t>(filter::trim), 0, 0},
    {"join", static_cast<std::uint8_t>(filter::join), 1, 1},
    {"json", static_cast<std::uint8_t>(filter::json), 0, 0},
    {"default", static_cast<std::uint8_t>(filter::default_), 1, 1},
};

inline const filter_spec* find_filter(std::string_view name) {
  for (const auto& f : filters)
    if (name == f.name) return &f;
  return nullptr;
}

/// The filters' names, for error messages.
inline std::string filter_list() {
  std::string out;
  for (const auto& f : filters) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

}  // namespace roomwire::hooks
