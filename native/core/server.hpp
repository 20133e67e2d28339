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

#include <boost/json/object.hpp>

#include "events.hpp"
#include "metrics.hpp"
#include "net.hpp"
#include "options.hpp"
#include "room_registry.hpp"
#include "router.hpp"
#include "static_files.hpp"
#include "tls.hpp"

namespace roomwire {

class cluster_bus;
class listener;
class ws_session;
class session_index;

/// A session that can be asked to wind down when the server stops.
class closeable {
 public:
  virtual ~closeable() = default;
  /// Called on any thread; the session posts the work to its own I/O thread.
  virtual void shutdown() = 0;
  /// A strong reference to the session, or null once its destruction has begun.
  virtual std::shared_ptr<closeable> lock_open() = 0;

 private:
  friend class server;
  // The server's list of open sessions runs through the sessions themselves: no
  // allocation per connection (guarded by the server's tracked_mutex_).
  closeable* tracked_prev_ = nullptr;
  closeable* tracked_next_ = nullptr;
};

/// One place among `maxConnections`, held from the start of an upgrade until the
/// connection ends (moved from the HTTP session to the WebSocket session); given back when
/// destroyed or released. Empty when no place was free.
class connection_slot {
 public:
  connection_slot() = default;
  explicit connection_slot(std::shared_ptr<std::atomic<std::size_t>> taken) : taken_(std::move(taken)) {}
  connection_slot(connection_slot&& o) noexcept = default;
  connection_slot& operator=(connection_slot&& o) noexcept {
    release();
    taken_ = std::move(o.taken_);
    return *this;
  }
  ~connection_slot() { release(); }
  void release() {
    if (taken_) taken_->fetch_sub(1, std::memory_order_relaxed);
    taken_.reset();
  }
  explicit operator bool() const { return taken_ != nullptr; }

 private:
  std::shared_ptr<std::atomic<std::size_t>> taken_;
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
  /// `rooms` may be shared with the host so rooms outlive one listen/close cycle, and
  /// `ids` (the event id counter) so event ids never repeat across them.
  server(server_options options, std::shared_ptr<event_sink> sink,
         std::shared_ptr<room_registry> rooms = nullptr,
         std::shared_ptr<std::atomic<std::uint64_t>> ids = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Registers a WebSocket route; throws std::invalid_argument for a bad pattern.
  void add_ws_route(const ws_route_options& route);
  /// Registers an HTTP route; throws std::invalid_argument for a bad pattern.
  void add_http_route(const http_route_options& route);
  /// Serves the files under `mount.root` at `mount.prefix`, ahead of the JavaScript routes
  /// (a path naming no file goes on to them).
  void add_static(const static_mount& mount);
  /// The mount and file a GET or HEAD for `segments` names, if any.
  std::optional<std::pair<std::shared_ptr<const static_mount>, static_file>> find_static_file(
      const std::vector<std::string>& segments) const;

  /// Serves https and wss with `ctx` from now on (null: plain HTTP); connections already
  /// open keep the context they started with. Any thread.
  void set_tls(std::shared_ptr<const tls_context> ctx) { tls_.set(std::move(ctx)); }
  /// A TLS engine for a new connection, or null when the server speaks plain HTTP.
  std::unique_ptr<tls_engine> new_tls_engine() const {
    auto ctx = tls_.get();
    return ctx ? std::make_unique<tls_engine>(std::move(ctx)) : nullptr;
  }

  /// Binds, listens and starts the threads. Returns the bound port, or 0 with `ec` set
  /// (nothing started) when the address cannot be bound.
  unsigned short listen(const std::string& host, unsigned short port, error_code& ec);

  /// Stops accepting; lets every I/O thread hand over the fan-outs it gathered, so what
  /// was sent before the call is written before any close; closes every session (1001 for
  /// WebSockets, after the answers to the frames it took); waits up to `timeout` for them
  /// to finish; then cuts off the rest (each still reported closed, with 1001) and joins
  /// the threads. Blocks; idempotent.
  void stop(std::chrono::milliseconds timeout);

  /// Delivers the verdict for event `id`; unknown or stale ids are ignored.
  void complete(std::uint64_t id, verdict&& v);
  /// complete() for many events, taking the pending-verdict lock once for all of them.
  void complete_many(std::vector<std::pair<std::uint64_t, verdict>>&& verdicts);

  /// Sends one raw frame to a connection. nullopt when the connection is unknown.
  std::optional<send_status> send(const std::string& connection_id,
                                  std::shared_ptr<const std::string> data, bool binary);
  /// Sends one raw frame to every connection whose route pattern or path equals `path`,
  /// and (unless `local_only`) hands it to the other servers of the cluster for theirs;
  /// returns how many connections here it was queued to.
  std::size_t broadcast(const std::string& path, std::shared_ptr<const std::string> data,
                        bool binary, bool local_only = true);

  /// Live WebSocket connections on this server.
  std::size_t connection_count() const;
  /// Live WebSocket connections on every live server of the cluster (this one's alone
  /// without a cluster); the others' counts are at most ~100 ms old.
  std::size_t cluster_connection_count() const;
  /// Takes a place for an upgrade that is starting; empty when `maxConnections` are taken
  /// (connections and upgrades still awaiting onConnect count alike).
  connection_slot take_slot();

  // --- rooms, direct messages, connections (any thread) ---
  room_registry& rooms() { return *rooms_; }
  metrics& stats() { return metrics_; }
  /// The hot path of a fan-out: one batch posted to each I/O thread, which delivers to its
  /// own members; no per-recipient post. False for an unknown room.
  bool fan_out_batched(const std::string& room_id, std::shared_ptr<const std::string> frame,
                       tx_type type);
  /// The same to the members of `members` (a list the registry handed out: those to tell
  /// of a join or a leave).
  void fan_out_batched(const member_list& members, std::shared_ptr<const std::string> frame,
                       tx_type type);
  /// A message of a room with history as the cluster numbered it (the bus's thread): kept
  /// and delivered in offset order; a duplicate is dropped.
  void history_frame(const std::string& room_id, const std::string& epoch, std::uint64_t offset,
                     std::shared_ptr<const std::string> frame);
  /// The cluster's copy of a room's history (the bus's thread): taken, and the messages the
  /// members here had not been given delivered now.
  void history_loaded(const std::string& room_id, std::string epoch, std::uint64_t last,
                      std::vector<room_history::stored> kept);
  /// A room message of a room with history, under its lock: queued per I/O thread in the
  /// history, so every member gets the room's messages in offset order whichever threads
  /// published them (handlers posted to one thread do not keep their order; the queue does).
  void fan_out_in_order(const std::shared_ptr<room_history>& history, const member_list& members,
                        std::shared_ptr<const std::string> frame);
  /// Queues `frame` to the members that live on I/O thread `thread` (run on it); how many took it.
  std::size_t deliver_on(std::size_t thread, const member_set& members,
                         const std::shared_ptr<const std::string>& frame, tx_type type = tx_type::room_message);
  /// `frame` as it is to every member of `room_id`, on this server and (through the
  /// cluster) the others; false when the room is unknown here. Any thread.
  bool send_room_frame(const std::string& room_id, std::shared_ptr<const std::string> frame);
  /// Hands a room frame already delivered here to the other servers of the cluster (no-op
  /// without one); any thread, in order with the calling thread's other work.
  void publish_room(const std::string& room_id, const std::shared_ptr<const std::string>& frame);
  /// Whether the cluster bus can carry messages now (false without a cluster); any thread.
  /// Waits for the bus's thread: for tests.
  bool cluster_ready();
  /// Whether this server is in a cluster that is connected and in step now; any thread.
  bool cluster_live() const;
  // The cluster learns of local changes (no-ops without one); any thread, each posted to the
  // bus's thread in order with the caller's other work.
  /// A local member joined a room (already in the registry).
  void cluster_joined(const std::string& room_id, const member_info& m);
  /// Asks the cluster for a place in a room of at most `max` members before a local member
  /// joins; `done(true)` when granted, on the bus's thread. False when there is no live
  /// cluster to ask: the caller decides alone.
  bool cluster_reserve(const std::string& room_id, const member_info& m, std::size_t max,
                       std::function<void(bool)> done);
  void cluster_left(const std::string& room_id, const std::string& connection_id);
  void cluster_room_created(const std::string& room_id);
  /// Publishes a direct-message frame to `target` (a connection id with `by_connection`,
  /// else a client id) on the other servers; `done(receivers)` on the bus's thread with how
  /// many servers hold it (-1 when it could not be published; never called without a cluster).
  bool publish_direct(bool by_connection, const std::string& target, std::shared_ptr<const std::string> frame,
                      std::function<void(long long)> done);
  /// The `room_message` envelope without a sender, to every member.
  std::optional<send_status> send_room_message(const std::string& room_id, const std::string& message);
  /// Sends `message` to every member of `room_id` as a room_message from `from_client_id`
  /// (empty: the app): serialised once, one batch per I/O thread, once to the other servers
  /// of a cluster. A room with history gives it the next offset and keeps it. Returns the
  /// members it went to, or null for an unknown room; any thread.
  /// `before(members, frame size)` runs once the recipients are known, before anything is
  /// handed to their threads.
  using before_send = std::function<void(const member_set&, std::size_t)>;
  member_list publish_room_message(const std::string& room_id, const std::string& message,
                                   const std::string& from_client_id, const before_send& before = {});
  /// A `direct_message` without a sender to a connection id, or else to every connection of
  /// a client id; nullopt when there is none.
  std::optional<send_status> send_direct_message(const std::string& target, const std::string& message);
  /// Connections addressed by connection id (when given) or by client id.
  std::vector<std::shared_ptr<ws_session>> find_targets(const std::string& client_id,
                                                        const std::string& connection_id) const;
  std::shared_ptr<ws_session> find(const std::string& connection_id) const;
  /// What a join would meet now, before onJoinRoom: ok, or the refusal (see ws_session::check_join).
  join_result check_join(const std::string& connection_id, const std::string& room_id) const;
  /// Joins through the connection's onJoinRoom; `done(result, error)` on its thread.
  void join_room(const std::string& connection_id, const std::string& room_id,
                 std::function<void(join_result, std::string)> done);
  /// Joins at once, without onJoinRoom (the REST API: the app decided). The client gets
  /// `room_joined`, the members presence.
  join_result join_room_now(const std::string& connection_id, const std::string& room_id);
  /// getClientInfo of one connection.
  boost::json::object client_info(const ws_session& s) const;
  /// Removes a connection from a room (no callback: the app decided); false if it was not in it.
  bool leave_room(const std::string& connection_id, const std::string& room_id);
  /// Deletes a room; its members here get `room_left`, and (with `publish`) the other
  /// servers of the cluster delete it too. False when unknown here.
  bool delete_room(const std::string& room_id, bool publish = true);
  /// Closes a connection with `code`/`reason`; false when unknown.
  bool close_connection(const std::string& connection_id, int code, const std::string& reason);
  /// Total client frames received.
  std::uint64_t message_count() const { return metrics_.messages_received(); }

  // --- cross-thread work from the host's thread ---
  /// Until defer_end(), work this thread posts to I/O threads through post_to() is gathered
  /// instead of posted: the host calls it around a batch of callbacks, so the verdicts and
  /// sends of a whole batch cost one wake-up per I/O thread, not one per event.
  void defer_begin();
  /// Posts what was gathered since defer_begin(): one handler per I/O thread.
  void defer_end();
  /// Posts what this thread gathered so far and goes on deferring (nothing when it is not
  /// deferring): work that must reach the I/O threads before something posted from
  /// another thread (stop(), say).
  void post_deferred();
  /// Runs `fn` on I/O thread `io_index`: inline when already there, gathered when this
  /// thread is deferring or is another of this server's I/O threads, else posted.
  void post_to(std::size_t io_index, std::function<void()> fn);

  // --- built-in HTTP endpoints ---
  /// Serves the REST room API under `prefix` (e.g. "/websocket").
  void enable_room_api(const std::string& prefix);
  /// Serves Prometheus text at /metrics.
  void enable_metrics();
  std::string room_api_prefix() const;
  bool metrics_enabled() const { return metrics_enabled_.load(); }
  std::string metrics_text() const;
  const server_options& options() const { return options_; }
  event_sink& sink() { return *sink_; }
  /// Hands `ev` to the host: on an I/O thread, gathered with the thread's other events and
  /// handed over together when it runs out of work (one lock and at most one wake-up of the
  /// host per round instead of one per event); elsewhere at once.
  void emit(event&& ev);
  /// The io_context that gets the next accepted connection (round robin): each connection
  /// lives on one thread, so its handlers never run concurrently without a strand.
  net::io_context& next_context();
  /// The index of the I/O thread that runs `ex`'s context.
  std::size_t context_index(const net::any_io_executor& ex) const;

  // --- used by sessions ---
  std::shared_ptr<const ws_route> match_ws(const std::vector<std::string>& segments,
                                           string_pairs& params) const;
  std::shared_ptr<const http_route> match_http(const std::string& method,
                                               const std::vector<std::string>& segments,
                                               string_pairs& params) const;
  /// Remembers `resume` until the host completes the returned event id.
  std::uint64_t await_verdict(std::function<void(verdict&&)> resume);
  /// Makes `s` addressable by its ids; it stays so until remove_session (its `finish`),
  /// which must come before it is destroyed: the indexes point into it.
  void add_session(const std::shared_ptr<ws_session>& s);
  /// Takes `s` out of the indexes (nothing when it is not in them) and tells the cluster.
  void remove_session(ws_session& s);
  /// Counts `c` among the open sessions that stop() winds down; untrack(c) before `c` goes
  /// (its destructor), which may also be called for a session never tracked.
  void track(closeable* c);
  void untrack(closeable* c);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  void start_sweep();
  void on_sweep(error_code ec);
  /// Hands over what I/O thread `i` gathered: its events to the host, its work for the
  /// other threads as one post each. On thread `i` only.
  void send_gathered(std::size_t i);
  /// Runs `fn` on every I/O thread, then hands over what that thread gathered; waits until
  /// all have, or until `until`. False when some thread did not get to it in time.
  bool on_every_thread(const std::function<void()>& fn, std::chrono::steady_clock::time_point until);

  // Declaration order is destruction order in reverse: the io_context (and with it any
  // session it still holds) goes before the maps those sessions unregister from.
  server_options options_;
  std::shared_ptr<event_sink> sink_;
  /// Places taken among maxConnections (shared with the slots, which may outlive the server).
  std::shared_ptr<std::atomic<std::size_t>> slots_taken_ = std::make_shared<std::atomic<std::size_t>>(0);

  mutable std::shared_mutex routes_mutex_;
  std::vector<std::shared_ptr<const ws_route>> ws_routes_;
  std::vector<std::shared_ptr<const http_route>> http_routes_;
  std::vector<std::shared_ptr<const static_mount>> statics_;

  std::mutex pending_mutex_;
  struct pending_verdict {
    std::function<void(verdict&&)> resume;
    std::chrono::steady_clock::time_point since;
  };
  std::unordered_map<std::uint64_t, pending_verdict> pending_;
  /// Event ids, shared by every server of one host: an id never repeats, so a verdict
  /// meant for an earlier server's connection never lands on a later one's.
  std::shared_ptr<std::atomic<std::uint64_t>> next_id_;

  // By connection id and by client id, linked through the sessions (a session leaves
  // before it is destroyed). Found sessions are locked with weak_from_this(), which is
  // null once a session's destruction has begun.
  mutable std::shared_mutex sessions_mutex_;
  std::unique_ptr<session_index> sessions_;

  std::shared_ptr<room_registry> rooms_;
  metrics metrics_;
  std::string room_api_prefix_;
  std::atomic<bool> metrics_enabled_{false};

  std::mutex tracked_mutex_;
  std::condition_variable tracked_empty_;
  closeable* tracked_ = nullptr;  // the first of the open sessions' list

  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::mutex stop_mutex_;

  /// One io_context per I/O thread.
  struct io_thread {
    net::io_context ioc{1};
    /// Work this thread made for the other threads (by target), posted as one handler per
    /// target when the thread goes idle: the fan-outs of several messages reach a thread
    /// together and leave its sockets in one write each.
    std::vector<std::vector<std::function<void()>>> outgoing;
    /// Events for the host gathered the same way.
    std::vector<event> events;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::thread thread;
  };
  static std::vector<std::unique_ptr<io_thread>> make_contexts(unsigned threads);
  std::vector<std::unique_ptr<io_thread>> io_;
  std::atomic<std::size_t> next_io_{0};
  std::vector<std::vector<std::function<void()>>> deferred_;  // per I/O thread, host thread only
  std::shared_ptr<listener> listener_;
  tls_slot tls_;  // the TLS context of new connections, when serving https
  std::shared_ptr<cluster_bus> cluster_;  // lives on I/O thread 0
  net::steady_timer sweep_;
  std::chrono::steady_clock::time_point next_heartbeat_;
  bool running_ = false;
};

}  // namespace roomwire
