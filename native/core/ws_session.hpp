// One WebSocket connection: an ordered inbound queue that waits behind pending callback
// verdicts, a write queue with byte accounting that never has two writes in flight.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "events.hpp"
#include "net.hpp"
#include "options.hpp"
#include "server.hpp"

namespace roomwire {

/// A WebSocket connection on its own strand.
class ws_session : public closeable, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(server& srv, tcp::socket&& socket, std::shared_ptr<const ws_route> route,
             std::string connection_id, std::string client_id, std::string path,
             std::string metadata);
  ~ws_session() override;

  /// Completes the upgrade for `req`, sends `welcome` and starts reading.
  void run(http::request<http::string_body> req);
  /// Queues one frame from any thread. The status is decided at once from the
  /// buffered byte count: ok, backpressure (queued past the limit) or dropped.
  send_status send(std::shared_ptr<const std::string> data, bool binary);
  /// Sends the JSON heartbeat ping and starts timing the round trip; any thread.
  void heartbeat();
  /// Flushes what is queued and closes with 1001; any thread.
  void shutdown() override;

  const std::string& connection_id() const { return connection_id_; }
  const std::string& path() const { return path_; }
  const ws_route& route() const { return *route_; }
  std::size_t buffered_amount() const { return buffered_.load(std::memory_order_relaxed); }

 private:
  struct inbound {
    std::string data;
    bool binary;
  };
  struct outbound {
    std::shared_ptr<const std::string> data;
    bool binary;
  };

  void on_accept(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void process();
  void handle_text(std::string text);
  void dispatch_frame(std::string text);
  void acknowledge(std::string text);
  void ask(std::uint32_t bit, event&& ev, std::function<void(verdict&&)> then);
  event make_event(event_kind kind) const;
  void write_text(std::string text);
  void enqueue(std::shared_ptr<const std::string> data, bool binary);
  void do_write();
  void on_write(error_code ec, std::size_t bytes);
  void do_close_frame();
  void finish();

  server& server_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<const ws_route> route_;
  std::string connection_id_;
  std::string client_id_;
  std::string path_;
  std::string metadata_;

  std::deque<inbound> inbox_;
  bool accepted_ = false;
  bool busy_ = false;        // waiting for a callback verdict
  bool reading_ = false;
  bool read_done_ = false;
  bool finished_ = false;

  std::deque<outbound> outbox_;
  bool writing_ = false;
  bool close_requested_ = false;
  bool close_sent_ = false;
  bool close_pending_ = false;  // our async_close is in flight
  std::atomic<std::size_t> buffered_{0};

  websocket::close_code close_code_ = websocket::close_code::going_away;
  int closed_code_ = 1006;
  std::string closed_reason_;
  double ping_sent_ms_ = -1;
  double latency_ms_ = -1;
};

}  // namespace roomwire
