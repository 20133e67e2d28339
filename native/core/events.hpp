// The plain values that cross from the core to its host (the Node binding, a test, the
// bench): events out, verdicts back. No N-API types ever appear here.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace roomwire {

using string_pairs = std::vector<std::pair<std::string, std::string>>;

/// What happened; the numeric values are part of the binding's contract with lib/.
enum class event_kind : std::uint8_t {
  connect = 0,       // upgrade request, before it is accepted (verdict)
  welcome = 1,       // before `welcome` is sent (verdict)
  message = 2,       // client text frame, before dispatch (verdict)
  message_ack = 3,   // before `message_ack` is sent (verdict)
  ping = 4,          // client JSON ping (verdict)
  pong = 5,          // client JSON pong (verdict)
  binary = 6,        // client binary frame
  close = 7,         // connection closed
  error = 8,         // protocol error on a connection
  server_error = 9,  // internal fault
  http_request = 10, // HTTP request on a JS route (reply)
  stopped = 11,      // the server has stopped and joined its threads
  join_room = 12,    // a join, by the client or by the app (verdict)
  leave_room = 13,   // a client's explicit leave (verdict)
  room_message = 14, // before a room fan-out (verdict)
  direct_message = 15, // before a direct delivery (verdict)
  op_result = 16,    // the outcome of an asynchronous app operation (app.joinRoom)
};

/// Callback bits of a WebSocket route: only events whose bit is set reach the host.
enum callback_bit : std::uint32_t {
  cb_connect = 1u << 0,
  cb_welcome = 1u << 1,
  cb_message = 1u << 2,
  cb_message_ack = 1u << 3,
  cb_ping = 1u << 4,
  cb_pong = 1u << 5,
  cb_binary = 1u << 6,
  cb_close = 1u << 7,
  cb_error = 1u << 8,
  cb_server_error = 1u << 9,
  cb_join_room = 1u << 10,
  cb_leave_room = 1u << 11,
  cb_room_message = 1u << 12,
  cb_direct_message = 1u << 13,
};

/// One event bound for the host. `id` is non-zero when the core waits for a verdict.
struct event {
  event_kind kind = event_kind::server_error;
  std::uint64_t id = 0;
  std::uint32_t route = 0;       // WebSocket handler id or HTTP route id
  double time_ms = 0;            // wall clock, ms since the epoch
  std::string connection_id;
  std::string client_id;
  std::string path;
  std::string data;              // frame payload, JSON object text, or HTTP body
  bool binary = false;
  int code = 0;                  // close code
  std::string reason;            // close reason or error message
  std::string error_type;
  std::string room_id;
  std::string target_client_id;      // a direct message's target client
  std::string target_connection_id;  // ... and connection, when addressed by connection id
  std::string message;           // room / direct message text
  std::string method;            // HTTP method
  string_pairs params, query, headers;
};

/// A callback's answer (or an HTTP handler's response).
struct verdict {
  bool cancel = false;
  bool has_error = false;
  std::string error;             // the reason told to the client
  int status = 0;                // HTTP status (onConnect refusal, HTTP reply)
  bool has_modified = false;
  std::string modified;          // replacement text: frame, welcome or ack JSON, metadata
  bool has_client_id = false;
  std::string client_id;         // onConnect: the client id to store
  bool has_protocol = false;
  std::string protocol;          // onConnect: the subprotocol chosen (empty: none)
  string_pairs headers;          // HTTP reply headers
  std::string body;              // HTTP reply body
};

/// Implemented by the host: receives events from any core thread, never blocks them.
class event_sink {
 public:
  virtual ~event_sink() = default;
  /// Takes one event.
  virtual void emit(event&& ev) = 0;
  /// Takes every event in `events`, in order, and leaves it empty. A host that can take
  /// them at once (one lock, one wake-up) overrides this.
  virtual void emit_many(std::vector<event>& events) {
    for (auto& ev : events) emit(std::move(ev));
    events.clear();
  }
};

}  // namespace roomwire
