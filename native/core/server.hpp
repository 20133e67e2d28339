// The server: one io_context, a thread pool, the listener, route tables, the registry
// of live sessions and the verdicts the core is waiting for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "events.hpp"
#include "net.hpp"
#include "options.hpp"
#include "router.hpp"

namespace roomwire {

class listener;
class ws_session;

/// A session that can be asked to wind down when the server stops.
class closeable {
 public:
  virtual ~closeable() = default;
  /// Called on any thread; the session posts the work to its own strand.
  virtual void shutdown() = 0;
};

/// A matched WebSocket route.
struct ws_route {
  ws_route_options options;
  route_pattern pattern;
  bool has(std::uint32_t bit) const { return (options.callbacks & bit) != 0; }
};

/// A matched HTTP route.
struct http_route {
  http_route_options options;
  route_pattern pattern;
};

/// Owns the I/O threads and everything they share.
class server : public std::enable_shared_from_this<server> {
 public:
  server(server_options options, std::shared_ptr<event_sink> sink);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Registers a WebSocket route; throws std::invalid_argument for a bad pattern.
  void add_ws_route(const ws_route_options& route);
  /// Registers an HTTP route; throws std::invalid_argument for a bad pattern.
  void add_http_route(const http_route_options& route);

  /// Binds, listens and starts the threads. Returns the bound port, or 0 with `ec` set
  /// (nothing started) when the address cannot be bound.
  unsigned short listen(const std::string& host, unsigned short port, error_code& ec);

  /// Stops accepting, closes every session (1001 for WebSockets), waits up to `timeout`
  /// for them to finish, then stops and joins the threads. Blocks; idempotent.
  void stop(std::chrono::milliseconds timeout);

  /// Delivers the verdict for event `id`; unknown or stale ids are ignored.
  void complete(std::uint64_t id, verdict&& v);

  /// Sends one raw frame to a connection. nullopt when the connection is unknown.
  std::optional<send_status> send(const std::string& connection_id,
                                  std::shared_ptr<const std::string> data, bool binary);
  /// Sends one raw frame to every connection whose route pattern or path equals `path`;
  /// returns how many connections it was queued to.
  std::size_t broadcast(const std::string& path, std::shared_ptr<const std::string> data,
                        bool binary);

  /// Live WebSocket connections.
  std::size_t connection_count() const;
  const server_options& options() const { return options_; }
  event_sink& sink() { return *sink_; }
  net::io_context& io() { return ioc_; }

  // --- used by sessions ---
  std::shared_ptr<const ws_route> match_ws(const std::vector<std::string>& segments,
                                           string_pairs& params) const;
  std::shared_ptr<const http_route> match_http(const std::string& method,
                                               const std::vector<std::string>& segments,
                                               string_pairs& params) const;
  /// Remembers `resume` until the host completes the returned event id.
  std::uint64_t await_verdict(std::function<void(verdict&&)> resume);
  void add_session(const std::string& connection_id, const std::shared_ptr<ws_session>& s);
  void remove_session(const std::string& connection_id);
  void track(closeable* c, std::weak_ptr<closeable> w);
  void untrack(closeable* c);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  void start_heartbeat();
  void on_heartbeat(error_code ec);

  // Declaration order is destruction order in reverse: the io_context (and with it any
  // session it still holds) goes before the maps those sessions unregister from.
  server_options options_;
  std::shared_ptr<event_sink> sink_;

  mutable std::shared_mutex routes_mutex_;
  std::vector<std::shared_ptr<const ws_route>> ws_routes_;
  std::vector<std::shared_ptr<const http_route>> http_routes_;

  std::mutex pending_mutex_;
  std::unordered_map<std::uint64_t, std::function<void(verdict&&)>> pending_;
  std::atomic<std::uint64_t> next_id_{1};

  mutable std::shared_mutex sessions_mutex_;
  std::unordered_map<std::string, std::weak_ptr<ws_session>> sessions_;

  std::mutex tracked_mutex_;
  std::condition_variable tracked_empty_;
  std::unordered_map<closeable*, std::weak_ptr<closeable>> tracked_;

  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::mutex stop_mutex_;

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::shared_ptr<listener> listener_;
  net::steady_timer heartbeat_;
  std::vector<std::thread> threads_;
};

}  // namespace roomwire
