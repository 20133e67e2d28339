// The Boost.JSON codec for the wire protocol in docs/protocol.md: parsing client frames and
// building server messages. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "room_registry.hpp"

namespace roomwire::protocol {

/// Nesting limit for client JSON (frames and REST bodies), the object itself counted:
/// deeper input is `invalid_format` (400 on REST). 64 levels is far past any message's
/// structure, and bounds the stack deep input costs.
constexpr std::size_t max_json_depth = 64;

/// Parses client JSON (a frame or a REST body) within max_json_depth. An escape of a lone
/// UTF-16 surrogate — what JSON.stringify writes for half an emoji — stands for U+FFFD, the
/// character a WebSocket client's UTF-8 encoder sends for one.
boost::json::value parse_json(std::string_view text, boost::system::error_code& ec);

/// A parsed client frame: a JSON object with a string `type`.
struct client_frame {
  /// The members, for the types whose handling reads them (join_room, leave_room,
  /// room_message, direct_message, presence_list); empty for any other type, whose frame
  /// is only checked.
  boost::json::object body;
  std::string type;
};

/// Parses a client text frame. Returns nullopt and fills `error` when the text is not a
/// JSON object or lacks a string `type`.
std::optional<client_frame> parse_client_frame(std::string_view text, std::string& error);

/// {"type":"welcome","connection_id","client_id","path","timestamp"}
std::string welcome(std::string_view connection_id, std::string_view client_id,
                    std::string_view path, std::string_view timestamp);
/// {"type":"message_ack","message","timestamp"}
std::string message_ack(std::string_view message, std::string_view timestamp);
/// {"type":"message_blocked","originalMessage","reason","timestamp"}
std::string message_blocked(std::string_view original, std::string_view reason,
                            std::string_view timestamp);
/// {"type":"error","error_type","error","timestamp"}
std::string error(std::string_view error_type, std::string_view message,
                  std::string_view timestamp);
/// {"type":"ping","timestamp"}
std::string ping(std::string_view timestamp);
/// {"type":"pong","timestamp","latency"}; latency < 0 is written as null.
std::string pong(std::string_view timestamp, double latency_ms);
/// {"error": message}: the body of a refused upgrade or an HTTP error.
std::string http_error_body(std::string_view message);
/// True when `text` parses as a JSON object (used for replacement welcome/ack objects).
bool is_json_object(std::string_view text);

/// Where a room_joined leaves the client in the room's history.
struct joined_history {
  bool has_history = false;  // the room keeps history: `offset` and `epoch` are sent
  std::uint64_t offset = 0;  // the room's last offset at the join
  std::string epoch;
  bool asked = false;        // the join gave `since`: `recovered` is sent
  bool recovered = false;
};
/// {"type":"room_joined","room_id","timestamp"}, plus "offset" and "epoch" for a room with
/// history and "recovered" when the join asked to recover.
std::string room_joined(std::string_view room_id, std::string_view timestamp,
                        const joined_history& history = {});
/// {"type":"room_left","room_id","timestamp"}
std::string room_left(std::string_view room_id, std::string_view timestamp);
/// {"type":"room_message","room_id","message","from_client_id"?,"timestamp"}; an empty
/// `from_client_id` (a message sent by the app) omits the field.
/// A room with history adds its "offset" and "epoch" (offset 0: none).
std::string room_message(std::string_view room_id, std::string_view message,
                         std::string_view from_client_id, std::string_view timestamp,
                         std::uint64_t offset = 0, std::string_view epoch = {});
/// {"type":"direct_message","message","from_client_id"?,"timestamp"}
std::string direct_message(std::string_view message, std::string_view from_client_id,
                           std::string_view timestamp);
/// {"type":"presence","event","room_id","connection_id","client_id","user_info","timestamp"}
std::string presence(std::string_view event, std::string_view room_id, const member_info& m,
                     std::string_view timestamp);
/// {"type":"presence_state","room_id","members":[...],"timestamp"}
std::string presence_state(std::string_view room_id, const member_set& members,
                           std::string_view timestamp);
/// The members array alone (getPresence).
std::string members_json(const member_set& members);
/// One room: {id,name,description,maxConnections,connections,connectionsCount,metadata,createdAt,
/// ephemeral}, and history {size,ttlMs,offset,epoch} for a room that keeps one.
boost::json::object room_object(const room_view& room);
/// Parses JSON text known to be valid (stored metadata, presence info); null when it is not.
boost::json::value parse_stored(std::string_view text);
/// The text of a client's message field: `message` (string), else `data` (a string, or an
/// object's `message` string). Returns false when none is present.
bool message_text(const boost::json::object& body, std::string& out);

}  // namespace roomwire::protocol
