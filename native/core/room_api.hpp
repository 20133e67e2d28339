// The built-in HTTP endpoints served without JavaScript: the REST room API (docs/protocol.md)
// under its prefix, and Prometheus metrics at /metrics.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "events.hpp"

namespace roomwire {

class server;

/// A complete answer to a built-in endpoint.
struct http_answer {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// Rooms per page of `GET {prefix}/rooms` when the request names no `limit`, and the
/// most it may name: 1,000 rooms are ~0.5 MB of JSON.
constexpr std::size_t max_rooms_per_page = 1000;

/// Answers the request when it is for a built-in endpoint; nullopt otherwise.
std::optional<http_answer> builtin_endpoint(server& srv, const std::string& method,
                                            const std::vector<std::string>& segments,
                                            const std::string& body, const string_pairs& query = {});

}  // namespace roomwire
