// One WebSocket connection: an ordered inbound queue that waits behind pending callback
// verdicts; outgoing data frames framed here and corked with byte accounting.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/intrusive/unordered_set_hook.hpp>
#include <boost/json/object.hpp>

#include "corked_socket.hpp"
#include "events.hpp"
#include "fifo.hpp"
#include "metrics.hpp"
#include "net.hpp"
#include "options.hpp"
#include "room_registry.hpp"
#include "server.hpp"
#include "ws_parser.hpp"
#include "ws_protocol.hpp"

namespace roomwire {

/// A WebSocket connection, living on one I/O thread (every handler of it runs there).
class ws_session : public closeable,
                   public room_member,
                   public std::enable_shared_from_this<ws_session> {
 public:
  /// `tls`: the TLS state the HTTP session began (null for plain ws).
  ws_session(server& srv, tcp_socket&& socket, std::unique_ptr<tls_engine> tls, std::shared_ptr<const ws_route> route,
             std::string connection_id, std::string client_id, std::string path,
             std::string metadata, connection_slot slot = {});
  ~ws_session() override;

  /// Completes the upgrade for `req` (already checked by the HTTP session: a WebSocket
  /// upgrade with a valid key and version 13), sends `welcome` and starts reading.
  /// `protocol`: the subprotocol the 101 names (empty: none).
  void run(const http::request<http::string_body>& req, const std::string& protocol = {});
  /// Queues one frame from any thread. The status is decided at once from the
  /// buffered byte count: ok, backpressure (queued past the limit) or dropped.
  send_status send(std::shared_ptr<const std::string> data, bool binary,
                   tx_type type = tx_type::raw);
  /// Queues a fan-out frame from the session's own thread (no post); false when dropped.
  /// A presence frame is dropped for a connection whose protocol has no presence.
  bool send_local(const std::shared_ptr<const std::string>& frame, tx_type type = tx_type::room_message);
  /// Joins `room_id` on behalf of the app, in order with the connection's frames and
  /// through onJoinRoom; `done(result, error)` runs on the connection's thread.
  void join_from_app(std::string room_id, std::function<void(join_result, std::string)> done);
  /// What a join of `room_id` would meet before onJoinRoom runs: ok, or the refusal it
  /// would get (unknown room, full, already a member, a limit); any thread.
  join_result check_join(const std::string& room_id) const;
  /// Joins `room_id` at once, without callbacks (the REST API); any thread. On success the
  /// client gets `room_joined` and the other members presence `join`.
  join_result join_now(const std::string& room_id);
  /// Tells the client it left `room_id` (after the app removed it); any thread.
  void notify_left(const std::string& room_id);
  /// Closes with `code` and `reason`; any thread. Frames already taken are answered first,
  /// in order, then the close frame goes; frames arriving meanwhile are dropped. With
  /// `urgent`, what is queued is dropped instead and the close goes at once, and the socket
  /// is torn down if the close cannot be sent within the request timeout (a peer that
  /// stopped reading).
  void close_with(int code, std::string reason, bool urgent = false);
  /// The app's close: like close_with, but in order with the connection's frames and the
  /// app operations queued with them (it waits for the frame being handled); any thread.
  void close_in_order(int code, std::string reason);
  /// getClientInfo as a JSON object; any thread.
  boost::json::object info() const;
  /// The coarse sweep, any thread: closes the connection with 1001 when it has been silent
  /// past `idle_ms` (0: never); with `ping`, sends a protocol ping and the JSON heartbeat
  /// ping (whose answer times the round trip).
  void sweep(double now, double idle_ms, bool ping);
  /// Stops taking frames, answers those already taken, then closes with 1001; any thread.
  void shutdown() override;
  std::shared_ptr<closeable> lock_open() override { return weak_from_this().lock(); }
  /// The server's deadline passed: the close frame (1001) goes out if the socket takes it
  /// at once, the socket is closed and the connection reported closed. Only on the
  /// session's thread, or once the I/O threads have stopped.
  void cut_off();

  // Services for the connection's protocol (ws_protocol.hpp), on the session's thread.

  /// The server this connection belongs to (rooms, fan-out, the cluster, stats).
  server& srv() const { return server_; }
  /// Sends one text frame.
  void write_text(std::string text, tx_type type);
  /// Emits `ev` and runs `then` with the callback's verdict; the connection's later frames
  /// wait meanwhile. Without the callback `bit` registered, `then` runs at once with none.
  void ask(std::uint32_t bit, event&& ev, std::function<void(verdict&&)> then);
  /// An event of `kind` carrying this connection's ids and path.
  event make_event(event_kind kind) const;
  /// Joins through onJoinRoom; `done(result, error)` gets the outcome and its error text.
  /// With `since`, the client asks for the room's messages after that position.
  void join(std::string room_id, std::string presence, std::optional<history_position> since,
            std::function<void(join_result, std::string)> done);
  /// A pong (the WebSocket frame, or a protocol's own) answered the last heartbeat: the
  /// round trip becomes the connection's latency.
  void pong_received();
  /// The last measured round trip in ms (-1: none yet).
  double latency_ms() const { return latency_ms_.load(); }
  /// Whether the connection has ended (its close reported).
  bool finished() const { return finished_; }

  /// The upgrade request's path parameters and query, for a protocol that keeps them
  /// (hooks); before run().
  void set_request(string_pairs params, string_pairs query) { protocol_->set_request(std::move(params), std::move(query)); }

  const std::string& connection_id() const { return connection_id_; }
  const std::string& client_id() const { return client_id_; }
  const std::string& path() const { return path_; }
  const ws_route& route() const { return *route_; }
  std::size_t buffered_amount() const { return buffered_.load(std::memory_order_relaxed); }

 private:
  struct inbound {
    std::string data;
    bool binary = false;
    std::function<void()> job;  // an app operation queued in order with the frames
  };

  void on_accept();
  void do_read();
  void on_readable(error_code ec);
  /// Parses bytes read; returns where it stopped: `end`, or earlier once the inbound
  /// queue is full.
  const char* consume(const char* p, const char* end, double now);
  /// Parses on from the input held back (rare_state::unparsed).
  void resume_unparsed();
  void on_read_error(error_code ec);
  /// The client's close frame: the answer to ours, or its own close, which is echoed.
  void on_peer_close();
  /// The client broke the protocol: close with the parser's code and report it.
  void fail_connection();
  /// Remembers the close frame to send once the frames taken before it are answered.
  void owe_close(int code, std::string reason);
  /// After the closing handshake: what is corked goes out, the socket is shut down for
  /// sending, and what the client still sends is read and dropped until it closes too
  /// (bounded by the request timeout).
  void teardown();
  void discard_input();
  /// Closes the socket once the request timeout passes (a closing handshake's bound).
  void arm_teardown();
  void close_socket();
  /// Handles queued frames until one awaits a verdict, then reads on if there is room.
  void process();
  void handle_inbox();
  /// Adds this connection to the registry and announces it, then `then(result)`. A room
  /// with a `maxConnections` in a live cluster first takes its place there (the session is
  /// busy meanwhile, so later frames wait); otherwise at once. On the session's thread.
  void enter_room(const std::string& room_id, std::string user_info, std::optional<history_position> since,
                  std::function<void(join_result)> then);
  /// The registry part of enter_room: the member added (under `mode`'s limits), the room's
  /// earlier members told, and the client sent `room_joined`, then what it missed since
  /// `since` (under the room history's lock, so before any live message of the room).
  join_result admit(const std::string& room_id, member_info m, join_mode mode,
                    const std::optional<history_position>& since);
  member_info as_member(std::string user_info);
  /// Frames `data` into the cork (its bytes are copied: a fan-out frame's count is not
  /// touched per recipient).
  void enqueue(const std::shared_ptr<const std::string>& data, bool binary);
  /// Appends one data frame to the cork (the session's own thread), compressed when
  /// permessage-deflate was agreed and it is at least the route's threshold.
  void put_frame(const std::shared_ptr<const std::string>& data, bool binary);
  /// `data` compressed for this connection, or null to send it as it is (compressing
  /// alone did not make it smaller).
  const std::string* compressed(const std::shared_ptr<const std::string>& data);
  /// Appends a ping, pong or close frame, unless the close went already.
  void put_control(unsigned opcode, std::string_view payload);
  /// Appends the close frame with `code` (none for 1005) and up to 123 bytes of `reason`;
  /// nothing is sent after it.
  void put_close(int code, std::string_view reason);
  void do_close_frame();
  void finish();
  /// Counts `size` more unsent bytes (`before`: the count until now); false, with the drop
  /// counted and the backpressure policy applied, when the queue is already over the limit.
  bool reserve(std::size_t size, std::size_t& before);
  /// Token bucket check for one received frame; false when it must be refused.
  bool admit(double now);

  server& server_;
  corked_socket sock_;
  ws_parser parser_;
  std::shared_ptr<const ws_route> route_;
  connection_slot slot_;  // given back when the connection ends
  std::string connection_id_;
  std::string client_id_;
  std::string path_;
  std::unique_ptr<const std::string> metadata_;  // JSON text; null: none

  // permessage-deflate, when agreed: the window bits of the server's compressor, and with
  // server context takeover (`dedicated`) the connection's own compressor (made at its first
  // compressed message); without it the thread's compressors serve, one per window size.
  bool deflate_ = false;
  bool deflate_takeover_ = false;
  std::uint8_t deflate_bits_ = 15;
  std::unique_ptr<deflater> deflater_;

  std::unique_ptr<ws_protocol> protocol_;  // what its text frames mean (the route's `protocol`)

  fifo<inbound> inbox_;
  bool busy_ = false;        // waiting for a callback verdict
  bool reading_ = false;
  bool read_done_ = false;
  bool finished_ = false;

  bool close_requested_ = false;
  bool close_sent_ = false;
  bool close_pending_ = false;  // our close frame went, the client's answer has not come
  // A close frame owed once the frames taken before it are answered: the echo of the
  // client's close, or ours after a protocol error.
  bool owed_close_ = false;
  int owed_code_ = 1005;
  bool tearing_down_ = false;   // teardown() runs: the timer bounds it past finish()
  std::atomic<std::size_t> buffered_{0};

  int close_code_ = 1001;
  int closed_code_ = 1006;
  double ping_sent_ms_ = -1;
  std::atomic<double> last_seen_ms_;   // last frame (data or control) from the peer
  double tokens_ = 0;                  // rate limit bucket
  double tokens_at_ = 0;
  // What few connections need, made on first use (an open, well-behaved connection holds
  // a null pointer instead of ~170 bytes): the closing handshake's texts and timer, input
  // held back by a full inbound queue, refusals counted for the rate limit.
  struct rare_state {
    std::string owed_reason;    // of the owed close
    std::string close_text;     // of our close
    std::string closed_reason;  // reported with the close
    std::unique_ptr<net::steady_timer> teardown;
    std::string unparsed;       // bytes read but not parsed while the inbound queue was full
    std::size_t unparsed_at = 0;  // how far into `unparsed` parsing got
    fifo<double> refused_at;    // recent refusals, for the 1008 rule
  };
  std::unique_ptr<rare_state> rare_;
  rare_state& rare() {
    if (!rare_) rare_ = std::make_unique<rare_state>();
    return *rare_;
  }
  std::atomic<double> latency_ms_{-1};
  const double connected_at_;
  const std::size_t io_index_;

  // The server's indexes by connection id and by client id link through these
  // (session_index.hpp).
  friend class session_index;
  using index_hook = boost::intrusive::unordered_set_member_hook<>;
  index_hook by_id_hook_;
  index_hook by_client_hook_;

 public:
  /// The I/O thread this connection lives on.
  std::size_t io_index() const { return io_index_; }
};

}  // namespace roomwire
