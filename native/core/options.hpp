// Server and route settings, with the reason for each default.
#pragma once

#include "deflate.hpp"
#include "history.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roomwire {

namespace hooks {
struct program;
}

/// Several servers acting as one through Redis (not set: this server alone).
struct cluster_options {
  std::string host = "127.0.0.1";
  int port = 0;                      // 0: no cluster
  std::string prefix = "roomwire";   // namespaces the Redis channels and keys
  std::string password;              // AUTH before anything else, when set
  int db = 0;                        // SELECT for the keys (channels are global in Redis)
  std::string node_id;               // this server's name in the cluster (unique)
  /// 15 s without a heartbeat and a server counts as gone: the others drop its members from
  /// rooms and presence. Long enough to ride out a GC-free stall or a Redis failover, short
  /// enough that a killed node's users do not linger in presence lists.
  std::chrono::milliseconds node_timeout{15000};
  bool enabled() const { return port != 0; }
};

struct server_options {
  /// 0 means std::thread::hardware_concurrency(): one I/O thread per core.
  unsigned threads = 0;
  /// 1 MiB: request bodies here are JSON for APIs, not uploads.
  std::size_t max_body_size = 1 << 20;
  /// 16 KiB: the same header budget Node's own HTTP server allows.
  std::size_t max_header_size = 16 << 10;
  /// 16 MiB: room for image-sized messages while one socket cannot exhaust memory.
  std::size_t max_payload = 16 << 20;
  /// 1 MiB of unsent bytes per connection before sends report backpressure and drop:
  /// seconds of a busy room for a slow phone, bounded per socket.
  std::size_t max_backpressure = 1 << 20;
  /// 30 s: JSON and protocol pings keep NAT and proxies from dropping quiet sockets.
  std::chrono::milliseconds heartbeat_interval{30000};
  /// 120 s without any frame from the peer closes it (uWebSockets' default idle timeout).
  std::chrono::milliseconds idle_timeout{120000};
  /// 10 s to finish an HTTP request or a WebSocket handshake: slow clients cannot pin a socket.
  std::chrono::milliseconds request_timeout{10000};
  /// 64 frames read ahead of a pending callback verdict before reading pauses (TCP
  /// backpressure then slows the sender instead of the server buffering without bound).
  std::size_t max_pending_frames = 64;
  /// 0: no cap on WebSocket connections; the process's file-descriptor limit is the bound.
  /// Upgrades past a non-zero cap get 503.
  std::size_t max_connections = 0;
  /// What happens to a connection whose unsent bytes pass max_backpressure: its frames are
  /// dropped (and counted), or it is closed with 1013.
  bool close_on_backpressure = false;
  /// 10 ms between the 101 and the welcome: a client that installs its message handler
  /// once the socket opens (RNode's) must read the 101 alone; measured enough with every
  /// CPU busy, and small next to a connect.
  std::chrono::milliseconds welcome_delay{10};
  /// 256 rooms per connection: a chat client follows a few dozen; one connection cannot
  /// auto-create rooms without bound (each costs ~4.5 KB). 0: no limit.
  std::size_t max_rooms_per_connection = 256;
  /// 256 bytes for a room id or a client id: a UUID or a readable name fits many times;
  /// ids are copied into every frame and event that names them.
  std::size_t max_id_length = 256;
  /// Redis for a cluster of servers; off by default.
  cluster_options cluster;
  /// 4 KiB of presence JSON per member: a name, an avatar URL, a status; it is copied into
  /// every presence event and presence_state listing.
  std::size_t max_presence_size = 4096;
};

/// A route's `protocol`: what its text frames mean (ws_protocol.hpp).
enum class protocol_kind : std::uint8_t { rnode = 0, raw = 1, events = 2, hooks = 3 };

/// One `app.websocket(path, options)` registration.
struct ws_route_options {
  std::string pattern;
  std::uint32_t handler_id = 0;
  std::uint32_t callbacks = 0;   // callback_bit mask
  bool acks = true;
  /// A join_room for an unknown id creates that room (ephemeral: gone when empty).
  bool auto_create_rooms = false;
  /// The history of the rooms this route auto-creates (off unless set).
  history_options history{};
  /// Subprotocols this route speaks: the first of the client's offer that is listed here
  /// is chosen; with `require_protocol`, an upgrade with none in common is refused (400).
  std::vector<std::string> protocols{};
  bool require_protocol = false;
  /// With `origins_listed`, an upgrade whose Origin is not in `allowed_origins` (lower
  /// case) is refused (403) before onConnect; one without an Origin only with `require_origin`.
  bool origins_listed = false;
  std::vector<std::string> allowed_origins{};
  bool require_origin = false;
  /// permessage-deflate for clients that offer it (off unless set).
  compression_mode compression = compression_mode::off;
  /// 1 KiB: below it a message goes uncompressed, since deflate saves little on small
  /// frames and costs a compression each (uWebSockets and ws draw the line near here).
  std::size_t compression_threshold = 1024;
  /// Token bucket per connection (burst = rate); 0 disables. Frames over it get
  /// `rate_limited`; a connection refused more than this many frames within 5 s is closed 1008.
  std::uint32_t max_messages_per_second = 0;
  /// What a text frame means: RNode's JSON protocol, `raw` (frames to onMessage as they
  /// are), `events` (Rover's topics and named events) or `hooks` (declarative programs).
  protocol_kind protocol = protocol_kind::rnode;
  /// `events`: the topics with a join handler, those with a leave handler, and the events
  /// with a read handler; anything else is answered by the core without JavaScript.
  std::vector<std::string> join_topics{};
  std::vector<std::string> leave_topics{};
  std::vector<std::string> read_events{};
  /// `hooks`: the route's compiled program (hooks/hooks.hpp), shared by its connections.
  std::shared_ptr<const hooks::program> hooks{};
};

/// One HTTP route registration (`app.get` and friends).
struct http_route_options {
  std::string method;   // upper case: GET, POST, PUT, PATCH, DELETE
  std::string pattern;
  std::uint32_t route_id = 0;
};

/// One `app.static(prefix, dir, options)` mount.
struct static_mount {
  std::vector<std::string> prefix;  // the prefix's path segments
  std::string root;                 // the directory's real path
  std::string index = "index.html"; // served for a directory; empty: none
  std::int64_t max_age = 0;         // Cache-Control max-age, seconds
  bool etag = true;
  bool last_modified = true;
  bool dotfiles = false;            // serve names starting with '.'
};

/// Delivery status of a send, mirroring uWebSockets' SendStatus.
enum class send_status { ok = 0, backpressure = 1, dropped = 2 };

}  // namespace roomwire
