// What a text frame means on a route. The WebSocket session (ws_session) is the
// transport: frames, corked writes, the ordered inbox that waits behind a verdict,
// heartbeats, limits, the close. A protocol, one per connection, is given the text
// frames in order and answers through the session's services (write_text, ask, join,
// the server's rooms); it never touches the socket. The protocols live in
// native/core/protocols/, one file each:
// - rnode: RNode's JSON protocol (welcome, acks, rooms, presence, direct messages, the
//   JSON heartbeat), the default;
// - raw: nothing added: each text frame goes to onMessage as it is;
// - events: Rover's named events and topics (topics are rooms);
// - hooks: declarative programs (Worpen's ws_hooks) run by the core, no JavaScript.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "events.hpp"
#include "ids.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "protocol.hpp"

namespace roomwire {

class ws_session;

/// The meaning of one connection's text frames.
class ws_protocol {
 public:
  virtual ~ws_protocol() = default;
  /// The upgrade's path parameters and query (before on_open); a protocol that reads them keeps them.
  virtual void set_request(string_pairs params, string_pairs query) {
    (void)params;
    (void)query;
  }
  /// The connection is open: the 101 went, and the welcome delay passed.
  virtual void on_open() = 0;
  /// One whole text message, in arrival order (the session holds the next ones while a
  /// verdict the protocol asked for is pending).
  virtual void on_text(std::string text) = 0;
  /// The heartbeat: the session has sent a WebSocket ping; a protocol may add its own.
  virtual void on_heartbeat() {}
  /// Whether presence frames (other members joining and leaving a room) reach this client.
  virtual bool wants_presence() const { return true; }
  /// The frame telling this client it joined `room_id` (RNode's `room_joined`, with the
  /// room history's position); empty: none.
  virtual std::string joined_frame(const std::string& room_id, const protocol::joined_history& where) const {
    return protocol::room_joined(room_id, timestamp_now(), where);
  }
  /// The frame telling this client it left `room_id` (RNode's `room_left`); empty: none.
  virtual std::string left_frame(const std::string& room_id) const {
    return protocol::room_left(room_id, timestamp_now());
  }
  /// The connection ended (after it left its rooms): the close code and reason.
  virtual void on_close(int code, const std::string& reason) {
    (void)code;
    (void)reason;
  }
  /// A frame was refused by the session (the rate limit), in order with the frames'
  /// answers: a protocol with error frames says so.
  virtual void on_refused(err_type type, const std::string& message) {
    (void)type;
    (void)message;
  }
};

/// RNode's JSON protocol for `session` (protocols/rnode.cpp).
std::unique_ptr<ws_protocol> make_rnode_protocol(ws_session& session);
/// Frames as they are, to onMessage (protocols/raw.cpp).
std::unique_ptr<ws_protocol> make_raw_protocol(ws_session& session);
/// Rover's events and topics (protocols/events.cpp).
std::unique_ptr<ws_protocol> make_events_protocol(ws_session& session);
/// The route's compiled hooks (protocols/hooks.cpp).
std::unique_ptr<ws_protocol> make_hooks_protocol(ws_session& session);

}  // namespace roomwire
