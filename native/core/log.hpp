// Minimal leveled logging to stderr, shared by every core thread.
#pragma once

#include <string_view>

namespace roomwire {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3, silent = 4 };

/// Sets the process-wide threshold; messages below it are skipped cheaply.
void set_log_level(log_level lvl);
log_level get_log_level();
/// Parses "debug" | "info" | "warn" | "error" | "silent"; false when unknown.
bool parse_log_level(std::string_view text, log_level& out);
/// Writes one line `roomwire <level>: <what>` when `lvl` passes the threshold.
void log(log_level lvl, std::string_view what);

}  // namespace roomwire
