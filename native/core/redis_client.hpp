// A Redis connection for the cluster: hiredis's asynchronous context, driven by one of the
// server's Asio I/O threads through a small adapter on its socket descriptor (no thread of
// its own, no home-made RESP parser). It reconnects by itself with backoff.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net.hpp"

struct redisAsyncContext;
struct redisReply;

namespace roomwire {

/// One Redis reply, read-only, valid during the callback it is given to.
struct redis_reply_view {
  const redisReply* reply = nullptr;  // null: no reply (the connection went first)
  explicit operator bool() const { return reply != nullptr; }
  bool is_error() const;
  bool is_array() const;
  /// The text of a string, status or error reply; empty otherwise.
  std::string text() const;
  long long integer() const;
  std::size_t size() const;            // elements of an array reply
  redis_reply_view at(std::size_t i) const;
};

/// One connection to a Redis server. All of it runs on `ioc`'s thread: construct, start,
/// send commands and receive callbacks there.
class redis_connection : public std::enable_shared_from_this<redis_connection> {
 public:
  struct options {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string password;  // AUTH on each connection when set
    int db = 0;            // SELECT on each connection when not 0
    /// Reconnect backoff: the first wait, doubled after each failure up to the cap
    /// (100 ms to 2 s: back within 5 s of Redis returning, without hammering a dead one).
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{2000};
  };
  /// Called once per reply. A null view means the connection ended before the reply came.
  using reply_handler = std::function<void(redis_reply_view)>;

  redis_connection(net::io_context& ioc, options opts);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Connects, and keeps reconnecting whenever the connection drops, until stop().
  void start();
  /// Disconnects for good; pending replies get a null view.
  void stop();
  bool connected() const { return connected_; }
  /// Called each time a connection is established (the place to resubscribe).
  void on_connected(std::function<void()> fn) { on_connected_ = std::move(fn); }
  /// Called each time an established connection is lost.
  void on_disconnected(std::function<void()> fn) { on_disconnected_ = std::move(fn); }
  /// Sends one command; false (and no callback) when not connected. Not for the
  /// subscription commands: those are subscribe() and unsubscribe().
  bool command(const std::vector<std::string>& argv, reply_handler handler = {});
  /// Receives every reply of the subscriptions: the (p)subscribe and unsubscribe
  /// confirmations, and each `message` / `pmessage`.
  void on_message(reply_handler fn) { on_message_ = std::move(fn); }
  /// SUBSCRIBE (or PSUBSCRIBE with `pattern`) to `channels`; what arrives goes to on_message.
  bool subscribe(const std::vector<std::string>& channels, bool pattern = false);
  /// UNSUBSCRIBE from `channels`.
  bool unsubscribe(const std::vector<std::string>& channels);

 private:
  void connect();
  void schedule_reconnect();
  /// Waits for the descriptor to become readable (or writable) while hiredis wants it.
  void watch(bool write);
  void detach();
  // The hiredis event hooks and callbacks.
  static void add_read(void* self);
  static void del_read(void* self);
  static void add_write(void* self);
  static void del_write(void* self);
  static void cleanup(void* self);
  static void connected_cb(const redisAsyncContext* ac, int status);
  static void disconnected_cb(const redisAsyncContext* ac, int status);
  static void reply_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void message_cb(redisAsyncContext* ac, void* reply, void* privdata);
  bool send_argv(const char* first, const std::vector<std::string>& rest, void (*cb)(redisAsyncContext*, void*, void*),
                 void* privdata);

  net::io_context& ioc_;
  options opts_;
  redisAsyncContext* ac_ = nullptr;
  net::posix::stream_descriptor socket_;  // hiredis's descriptor, watched, never closed here
  net::steady_timer retry_;
  std::chrono::milliseconds backoff_;
  bool want_read_ = false, want_write_ = false;
  bool read_waiting_ = false, write_waiting_ = false;
  bool connected_ = false;
  bool stopped_ = false;
  std::function<void()> on_connected_, on_disconnected_;
  reply_handler on_message_;
};

}  // namespace roomwire
