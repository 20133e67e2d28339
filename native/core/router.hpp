// Path patterns with `{param}` segments, as used by HTTP and WebSocket routes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "events.hpp"

namespace roomwire {

/// A compiled pattern such as `/chat/{room}`; literal segments match exactly,
/// `{name}` segments match one non-empty segment and capture it.
class route_pattern {
 public:
  /// Throws std::invalid_argument for a pattern that does not start with '/', or has an
  /// empty or unterminated `{}` segment.
  explicit route_pattern(std::string_view pattern);

  /// Matches decoded path segments; on success appends the captures to `params`.
  bool match(const std::vector<std::string>& segments, string_pairs& params) const;

  const std::string& text() const { return text_; }

 private:
  struct segment {
    std::string text;
    bool param;
  };
  std::string text_;
  std::vector<segment> segments_;
};

/// Splits a request target into decoded path segments and decoded query pairs.
/// Returns false for a target that is not a valid origin-form URI.
bool split_target(std::string_view target, std::string& path,
                  std::vector<std::string>& segments, string_pairs& query);

}  // namespace roomwire
