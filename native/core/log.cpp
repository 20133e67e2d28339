#include "log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace roomwire {
namespace {
std::atomic<int> threshold{static_cast<int>(log_level::warn)};
std::mutex out_mutex;
const char* names[] = {"debug", "info", "warn", "error", "silent"};
}  // namespace

void set_log_level(log_level lvl) { threshold.store(static_cast<int>(lvl)); }

log_level get_log_level() { return static_cast<log_level>(threshold.load()); }

bool parse_log_level(std::string_view text, log_level& out) {
  for (int i = 0; i <= static_cast<int>(log_level::silent); ++i) {
    if (text == names[i]) {
      out = static_cast<log_level>(i);
      return true;
    }
  }
  return false;
}

void log(log_level lvl, std::string_view what) {
  if (static_cast<int>(lvl) < threshold.load(std::memory_order_relaxed) || lvl == log_level::silent)
    return;
  std::lock_guard<std::mutex> lock(out_mutex);
  std::fprintf(stderr, "roomwire %s: %.*s\n", names[static_cast<int>(lvl)],
               static_cast<int>(what.size()), what.data());
}

}  // namespace roomwire
