// The cluster bus: several servers acting as one through Redis. It lives on the server's
// first I/O thread, with one Redis connection for commands and one for subscriptions; no
// message or state change it carries enters JavaScript.
//
// What it keeps in step (keys and channels under `<prefix>:`; docs/protocol.md has them all):
// - room messages: published once on `room:<id>`; every other server fans them out to its
//   own members; a room with history publishes through a script instead, which numbers the
//   message and keeps it in a stream, and every server (the publisher too) delivers it from
//   `hroom:<id>` in that order and keeps a copy for rejoins through it;
// - rooms and members: each change is a Lua script that updates the Redis copy and
//   publishes the change on `state`, atomically; every server mirrors the other servers'
//   members in its room registry (members whose `node` is set), so room info, listings,
//   counts and presence are the cluster's, read locally; a room's `maxConnections` is
//   checked by the script, across the cluster;
// - direct messages: a server subscribes to `client:<id>` and `conn:<id>` for the clients
//   and connections it holds, so a publish reaches exactly the servers that hold the target
//   and Redis tells how many did;
// - liveness: a heartbeat key per server (expiring after `node_timeout`); the servers reap
//   the members of a server whose key expired, and tell their own members.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/json/value.hpp>

#include "net.hpp"
#include "options.hpp"
#include "redis_client.hpp"
#include "room_registry.hpp"

namespace roomwire {

class server;

class cluster_bus : public std::enable_shared_from_this<cluster_bus> {
 public:
  cluster_bus(server& srv, net::io_context& ioc, cluster_options opts);
  /// Connects both connections; on the bus's thread. Whenever both are up (again) it
  /// registers this server's rooms and members, then loads the cluster's.
  void start();
  /// Tells the cluster this server is gone (its members leave at once), disconnects for
  /// good and forgets the other servers' members; `done` runs when it is over. On the
  /// bus's thread.
  void stop(std::function<void()> done);

  // --- any thread ---
  /// Whether the cluster's state is loaded and changes flow both ways now.
  bool live() const { return live_.load(std::memory_order_acquire); }
  /// WebSocket connections the other live servers reported (their last count).
  std::size_t remote_connections() const { return remote_connections_.load(std::memory_order_relaxed); }

  // --- the bus's thread (the server posts there, in order with the caller's other work) ---
  /// Publishes a room frame to the other servers.
  void publish_room(const std::string& room_id, const std::shared_ptr<const std::string>& frame);
  /// Publishes a message of a room with history through Redis, which gives it the room's
  /// next offset and keeps it; every server (this one too) delivers it when it comes back
  /// on `hroom:<room>`. `head` is the room_message frame without its closing brace. Without
  /// Redis it is delivered here only, without an offset.
  void publish_history(const std::string& room_id, std::string head, std::size_t size);
  /// A local member joined `room_id` (already in the registry): the cluster learns of it.
  void joined(const std::string& room_id, const member_info& m);
  /// Takes a place in `room_id` (at most `max` members cluster-wide) for a local member
  /// before it joins. `done(true)` with the place taken, `done(false)` when the room is full;
  /// nothing is asked and false returned when the cluster is not live.
  bool reserve(const std::string& room_id, const member_info& m, std::size_t max, std::function<void(bool)> done);
  /// A local member left `room_id`.
  void left(const std::string& room_id, const std::string& connection_id);
  /// A room was created (or deleted) here.
  void room_created(const std::string& room_id);
  void room_deleted(const std::string& room_id);
  /// A connection of `client_id` opened (closed) here: direct messages to it find this server.
  void connection_opened(const std::string& client_id, const std::string& connection_id);
  void connection_closed(const std::string& client_id, const std::string& connection_id);
  /// Publishes a direct message frame to the connection or client `target` on the other
  /// servers; `done(receivers)` with how many servers hold it (-1: not published).
  void publish_direct(bool by_connection, const std::string& target, const std::shared_ptr<const std::string>& frame,
                      std::function<void(long long)> done);
  /// Publishes a raw frame for every connection of route `path` on the other servers.
  void publish_broadcast(const std::string& path, const std::shared_ptr<const std::string>& data, bool binary);

 private:
  void on_up();
  void on_down();
  void on_subscription(redis_reply_view r);
  void on_state(const std::string& payload);
  /// A message of a room with history, from Redis: "<offset> <epoch>\n<frame>".
  void on_history(const std::string& room_id, const std::string& payload);
  /// Loads `room_id`'s history from Redis into this server's copy (starting it there when
  /// Redis has none); `done` after the reply. False when not connected.
  bool sync_history(const std::string& room_id, std::function<void()> done);
  void apply(const boost::json::value& ev);
  void install(const std::string& snapshot);
  void resync();
  void tick();
  void schedule_tick();
  bool eval(const char* script, std::vector<std::string> args, redis_connection::reply_handler done = {});
  bool publish(const std::string& channel, std::string payload, redis_connection::reply_handler done = {});
  void count_failure();

  // The mirror of the other servers.
  void mirror_join(const std::string& node, const std::string& room_id, const boost::json::value& member);
  void mirror_leave(const std::string& room_id, const std::string& connection_id);
  void mirror_room(const boost::json::value& record);
  void mirror_delete(const std::string& room_id);
  /// Makes `node`'s members exactly `members` (room id -> connection id -> member JSON).
  void mirror_replace(const std::string& node,
                      const std::map<std::string, std::map<std::string, boost::json::value>>& members);
  void mirror_gone(const std::string& node);
  void set_count(const std::string& node, std::size_t count);

  server& server_;
  cluster_options opts_;
  std::string prefix_;  // "<prefix>:"
  std::shared_ptr<redis_connection> pub_;
  std::shared_ptr<redis_connection> sub_;
  net::steady_timer timer_;
  bool subscribed_ = false;
  bool syncing_ = false;
  bool stopped_ = false;
  std::vector<std::string> early_;  // state changes that arrived while loading the snapshot
  std::vector<std::pair<std::string, std::string>> early_history_;  // history messages meanwhile
  std::chrono::steady_clock::time_point next_heartbeat_;
  std::size_t last_count_ = static_cast<std::size_t>(-1);
  std::unordered_map<std::string, std::size_t> counts_;  // other servers' connection counts
  std::unordered_map<std::string, std::size_t> clients_;  // local connections per client id
  std::unordered_set<std::string> connections_;          // local connection ids
  std::atomic<bool> live_{false};
  std::atomic<std::size_t> remote_connections_{0};
};

}  // namespace roomwire
