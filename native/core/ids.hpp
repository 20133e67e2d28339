// Identifiers and timestamps used on the wire.
#pragma once

#include <string>

namespace roomwire {

/// A random UUID v4 in canonical text form (the connection_id).
std::string make_connection_id();
/// `client_` followed by 8 random lowercase hex digits (the default client_id).
std::string make_client_id();
/// Milliseconds since the Unix epoch, wall clock.
double now_ms();
/// RFC 3339 UTC with milliseconds: `2026-01-01T00:00:00.000Z`.
std::string rfc3339(double ms_since_epoch);
/// rfc3339(now_ms()).
std::string timestamp_now();

}  // namespace roomwire
