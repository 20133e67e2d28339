// RNode's JSON protocol: the welcome, acks, rooms, presence, direct messages and the JSON
// heartbeat, as docs/protocol.md describes them. Each text frame is a JSON object with a
// `type`; onMessage sees it first, then the type's own callback (onJoinRoom,
// onRoomMessage, ...), each of which may cancel or modify it. A room message that both
// onMessage and onRoomMessage see is parsed once and goes into JavaScript once: the host
// runs onRoomMessage after onMessage and answers for both (a verdict with status
// `replaced_frame` says onMessage replaced the frame, which is then handled anew).
#include <boost/json.hpp>

#include <optional>
#include <utility>

#include "ids.hpp"
#include "protocol.hpp"
#include "ws_protocol.hpp"
#include "ws_session.hpp"

namespace roomwire {
namespace json = boost::json;

namespace {

std::string string_field(const json::object& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                     : std::string();
}

/// A chained room message's verdict status when onMessage replaced the frame.
constexpr int replaced_frame = 1;

}  // namespace

class rnode_protocol : public ws_protocol {
 public:
  explicit rnode_protocol(ws_session& s) : s_(s) {}

  void on_open() override { send_welcome(); }
  void on_text(std::string text) override { handle_text(std::move(text)); }
  /// The JSON heartbeat next to the WebSocket ping: its `pong` times the round trip.
  void on_heartbeat() override { s_.write_text(protocol::ping(timestamp_now()), tx_type::ping); }
  /// A refused frame is answered with an error frame.
  void on_refused(err_type type, const std::string& message) override {
    s_.write_text(protocol::error(err_type_name(type), message, timestamp_now()), tx_type::error);
  }

 private:
  /// Sends `welcome` (through onWelcome when registered).
  void send_welcome();
  /// onMessage first (when registered), then the frame's own handling.
  void handle_text(std::string text);
  void dispatch_frame(std::string text);
  /// dispatch_frame for a frame parsed already.
  void dispatch_parsed(protocol::client_frame frame, std::string text);
  void acknowledge(std::string text);
  void handle_join(const json::object& body);
  void handle_leave(const json::object& body);
  void handle_room_message(const json::object& body, std::string text);
  void handle_direct_message(const json::object& body, std::string text);
  void handle_presence_list(const json::object& body);
  void send_error(err_type type, std::string_view message);
  /// The room and message of `frame` when it is a well-formed room_message for a room this
  /// connection is in; nullopt otherwise (it is then handled as any frame).
  std::optional<std::pair<std::string, std::string>> room_message_of(const protocol::client_frame& frame) const;

  ws_session& s_;
};

void rnode_protocol::send_welcome() {
  std::string ts = timestamp_now();
  std::string welcome = protocol::welcome(s_.connection_id(), s_.client_id(), s_.path(), ts);
  event ev = s_.make_event(event_kind::welcome);
  ev.data = welcome;
  s_.ask(cb_welcome, std::move(ev), [this, welcome](verdict&& v) mutable {
    if (v.cancel) return;
    s_.write_text(v.has_modified ? std::move(v.modified) : std::move(welcome), tx_type::welcome);
  });
}

void rnode_protocol::handle_text(std::string text) {
  if (!s_.route().has(cb_message)) return dispatch_frame(std::move(text));
  // Both callbacks for a room message: one event carries the room and the message too. The
  // frame is parsed now, once, and that parse serves whatever the frame turns out to be.
  std::optional<protocol::client_frame> parsed;
  std::optional<std::pair<std::string, std::string>> room;
  if (s_.route().has(cb_room_message)) {
    std::string error;
    parsed = protocol::parse_client_frame(text, error);
    if (parsed) room = room_message_of(*parsed);
  }
  event ev = s_.make_event(event_kind::message);
  ev.data = text;
  if (room) {
    ev.room_id = room->first;
    ev.message = room->second;
  }
  s_.ask(cb_message, std::move(ev), [this, text, room = std::move(room), parsed = std::move(parsed)](verdict&& v) mutable {
    if (v.cancel) {
      // A cancel with an error tells the sender; without one the frame was handled.
      s_.srv().stats().dropped(drop_reason::cancelled);
      if (v.has_error)
        s_.write_text(protocol::message_blocked(text, v.error, timestamp_now()),
                   tx_type::message_blocked);
      return;
    }
    if (room && v.status != replaced_frame) {
      // onRoomMessage has answered too: what it left (or made) goes to the room.
      s_.srv().stats().received(rx_type::room_message);
      if (!s_.srv().rooms().is_member(room->first, s_.connection_id()))
        return send_error(err_type::not_in_room, "Not in room " + room->first);
      s_.srv().publish_room_message(room->first, v.has_modified ? v.modified : room->second, s_.client_id());
      return;
    }
    if (v.has_modified) return dispatch_frame(std::move(v.modified));
    if (parsed) return dispatch_parsed(std::move(*parsed), std::move(text));
    dispatch_frame(std::move(text));
  });
}

std::optional<std::pair<std::string, std::string>> rnode_protocol::room_message_of(const protocol::client_frame& frame) const {
  if (frame.type != "room_message") return std::nullopt;
  std::string room_id = string_field(frame.body, "room_id");
  std::string message;
  if (room_id.empty() || !protocol::message_text(frame.body, message)) return std::nullopt;
  if (!s_.srv().rooms().is_member(room_id, s_.connection_id())) return std::nullopt;
  return std::make_pair(std::move(room_id), std::move(message));
}

void rnode_protocol::send_error(err_type type, std::string_view message) {
  s_.srv().stats().error(type);
  s_.write_text(protocol::error(err_type_name(type), message, timestamp_now()),
             tx_type::error);
}

void rnode_protocol::dispatch_frame(std::string text) {
  std::string error;
  auto frame = protocol::parse_client_frame(text, error);
  if (!frame) {
    s_.srv().stats().received(rx_type::invalid);
    return send_error(err_type::invalid_format, error);
  }
  dispatch_parsed(std::move(*frame), std::move(text));
}

void rnode_protocol::dispatch_parsed(protocol::client_frame frame, std::string text) {
  const std::string& type = frame.type;
  if (type == "join_room") {
    s_.srv().stats().received(rx_type::join_room);
    return handle_join(frame.body);
  }
  if (type == "leave_room") {
    s_.srv().stats().received(rx_type::leave_room);
    return handle_leave(frame.body);
  }
  if (type == "room_message") {
    s_.srv().stats().received(rx_type::room_message);
    return handle_room_message(frame.body, std::move(text));
  }
  if (type == "direct_message") {
    s_.srv().stats().received(rx_type::direct_message);
    return handle_direct_message(frame.body, std::move(text));
  }
  if (type == "presence_list") {
    s_.srv().stats().received(rx_type::presence_list);
    return handle_presence_list(frame.body);
  }
  if (type == "ping") {
    s_.srv().stats().received(rx_type::ping);
    event ev = s_.make_event(event_kind::ping);
    ev.data = text;
    s_.ask(cb_ping, std::move(ev), [this](verdict&& v) {
      if (!v.cancel) s_.write_text(protocol::pong(timestamp_now(), s_.latency_ms()), tx_type::pong);
    });
    return;
  }
  if (type == "pong") {
    s_.srv().stats().received(rx_type::pong);
    s_.pong_received();
    event ev = s_.make_event(event_kind::pong);
    ev.data = text;
    s_.ask(cb_pong, std::move(ev), [this, text](verdict&& v) mutable {
      if (!v.cancel) acknowledge(std::move(text));
    });
    return;
  }
  s_.srv().stats().received(rx_type::other);
  acknowledge(std::move(text));
}

void rnode_protocol::acknowledge(std::string text) {
  if (!s_.route().options.acks) return;
  std::string ack = protocol::message_ack(text, timestamp_now());
  if (!s_.route().has(cb_message_ack)) return s_.write_text(std::move(ack), tx_type::message_ack);
  event ev = s_.make_event(event_kind::message_ack);
  ev.data = ack;
  s_.ask(cb_message_ack, std::move(ev), [this, ack](verdict&& v) mutable {
    if (v.cancel) return;
    s_.write_text(v.has_modified ? std::move(v.modified) : std::move(ack), tx_type::message_ack);
  });
}

void rnode_protocol::handle_join(const json::object& body) {
  std::string room_id = string_field(body, "room_id");
  if (room_id.empty()) return send_error(err_type::room_join_error, "room_id is required");
  std::string presence = "null";
  if (auto it = body.find("presence"); it != body.end() && !it->value().is_null()) {
    if (!it->value().is_object())
      return send_error(err_type::room_join_error, "presence must be an object");
    presence = json::serialize(it->value());
    const std::size_t limit = s_.srv().options().max_presence_size;
    if (limit != 0 && presence.size() > limit)
      return send_error(err_type::room_join_error,
                        "presence is larger than " + std::to_string(limit) + " bytes (maxPresenceSize)");
  }
  std::optional<history_position> since;
  if (auto it = body.find("since"); it != body.end() && !it->value().is_null()) {
    const json::object* o = it->value().if_object();
    const json::value* offset = o ? o->if_contains("offset") : nullptr;
    const json::value* epoch = o ? o->if_contains("epoch") : nullptr;
    std::uint64_t n = 0;
    if (offset && offset->is_uint64()) n = offset->get_uint64();
    else if (offset && offset->is_int64() && offset->get_int64() >= 0) n = static_cast<std::uint64_t>(offset->get_int64());
    else if (offset && offset->is_double() && offset->get_double() >= 0 && offset->get_double() < 9007199254740992.0 &&
             offset->get_double() == static_cast<double>(static_cast<std::uint64_t>(offset->get_double())))
      n = static_cast<std::uint64_t>(offset->get_double());
    else offset = nullptr;
    if (!offset || !epoch || !epoch->is_string())
      return send_error(err_type::room_join_error,
                        "since must be {\"offset\": a whole number >= 0, \"epoch\": a string}");
    since = history_position{n, std::string(epoch->get_string())};
  }
  s_.join(room_id, std::move(presence), std::move(since), [this](join_result result, std::string error) {
    if (result != join_result::ok) send_error(err_type::room_join_error, error);
  });
}

void rnode_protocol::handle_leave(const json::object& body) {
  std::string room_id = string_field(body, "room_id");
  if (room_id.empty()) return send_error(err_type::room_leave_error, "room_id is required");
  if (!s_.srv().rooms().is_member(room_id, s_.connection_id()))
    return send_error(err_type::room_leave_error, "Not in room");
  event ev = s_.make_event(event_kind::leave_room);
  ev.room_id = room_id;
  s_.ask(cb_leave_room, std::move(ev), [this, room_id](verdict&& v) {
    if (v.cancel) return send_error(err_type::room_leave_error, v.has_error ? v.error : "Leave rejected");
    member_list remaining;
    auto removed = s_.srv().rooms().leave(room_id, s_.connection_id(), &remaining);
    if (!removed) return send_error(err_type::room_leave_error, "Not in room");
    s_.srv().cluster_left(room_id, s_.connection_id());
    s_.write_text(protocol::room_left(room_id, timestamp_now()), tx_type::room_left);
    s_.srv().fan_out_batched(remaining,
                    std::make_shared<const std::string>(
                        protocol::presence("leave", room_id, *removed, timestamp_now())),
                    tx_type::presence);
  });
}

void rnode_protocol::handle_room_message(const json::object& body, std::string text) {
  std::string room_id = string_field(body, "room_id");
  std::string message;
  if (room_id.empty() || !protocol::message_text(body, message))
    return send_error(err_type::invalid_format, "room_message needs room_id and message");
  if (!s_.srv().rooms().is_member(room_id, s_.connection_id()))
    return send_error(err_type::not_in_room, "Not in room " + room_id);
  event ev = s_.make_event(event_kind::room_message);
  ev.room_id = room_id;
  ev.message = message;
  ev.data = text;
  s_.ask(cb_room_message, std::move(ev), [this, room_id, message, text](verdict&& v) mutable {
    if (v.cancel) {
      s_.srv().stats().dropped(drop_reason::cancelled);
      if (v.has_error)
        s_.write_text(protocol::message_blocked(text, v.error, timestamp_now()), tx_type::message_blocked);
      return;
    }
    s_.srv().publish_room_message(room_id, v.has_modified ? v.modified : message, s_.client_id());
  });
}

void rnode_protocol::handle_direct_message(const json::object& body, std::string text) {
  std::string target_client = string_field(body, "target_client_id");
  std::string target_connection = string_field(body, "target_connection_id");
  std::string message;
  if ((target_client.empty() && target_connection.empty()) || !protocol::message_text(body, message))
    return send_error(err_type::invalid_format,
                      "direct_message needs target_client_id (or target_connection_id) and message");
  // Both at once would leave onDirectMessage judging one target while another gets it.
  if (!target_client.empty() && !target_connection.empty())
    return send_error(err_type::invalid_format,
                      "direct_message takes target_client_id or target_connection_id, not both");
  std::string target = target_client.empty() ? target_connection : target_client;
  auto found = s_.srv().find_targets(target_client, target_connection);
  // In a live cluster the target may be on another server: Redis tells after the callback.
  if (found.empty() && !s_.srv().cluster_live())
    return send_error(err_type::client_not_found, "Client not found: " + target);
  event ev = s_.make_event(event_kind::direct_message);
  // The event names the real target: by connection id, that connection and its client
  // (a connection on another server: its id alone).
  ev.target_client_id = !target_client.empty() ? target_client : found.empty() ? std::string() : found.front()->client_id();
  ev.target_connection_id = target_connection;
  ev.message = message;
  ev.data = text;
  s_.ask(cb_direct_message, std::move(ev),
      [this, target_client, target_connection, message, text](verdict&& v) mutable {
        if (v.cancel) {
          s_.srv().stats().dropped(drop_reason::cancelled);
          if (v.has_error)
            s_.write_text(protocol::message_blocked(text, v.error, timestamp_now()), tx_type::message_blocked);
          return;
        }
        auto targets = s_.srv().find_targets(target_client, target_connection);
        const std::string to = target_client.empty() ? target_connection : target_client;
        // Every connection of a client, on every server; a connection, wherever it is.
        const bool ask_cluster = s_.srv().cluster_live() && (!target_client.empty() || targets.empty());
        if (targets.empty() && !ask_cluster)
          return send_error(err_type::client_not_found, "Client not found: " + to);
        auto frame = std::make_shared<const std::string>(protocol::direct_message(
            v.has_modified ? v.modified : message, s_.client_id(), timestamp_now()));
        for (const auto& t : targets) t->send(frame, false, tx_type::direct_message);
        if (!ask_cluster) return;
        const bool nowhere_here = targets.empty();
        s_.srv().publish_direct(target_client.empty(), to, frame,
                               [session = s_.shared_from_this(), self = this, to, nowhere_here](long long receivers) {
                                 if (!nowhere_here || receivers > 0) return;
                                 // The session holds its protocol: alive while `session` is.
                                 session->srv().post_to(session->io_index(), [session, self, to] {
                                   if (!session->finished())
                                     self->send_error(err_type::client_not_found, "Client not found: " + to);
                                 });
                               });
      });
}

void rnode_protocol::handle_presence_list(const json::object& body) {
  std::string room_id = string_field(body, "room_id");
  auto members = room_id.empty() ? nullptr : s_.srv().rooms().members(room_id);
  if (!members) return send_error(err_type::room_not_found, "Room not found: " + room_id);
  s_.write_text(protocol::presence_state(room_id, *members, timestamp_now()), tx_type::presence_state);
}

std::unique_ptr<ws_protocol> make_rnode_protocol(ws_session& session) {
  return std::make_unique<rnode_protocol>(session);
}

}  // namespace roomwire
