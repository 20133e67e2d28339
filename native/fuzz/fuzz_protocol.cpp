// libFuzzer: the client-frame codec. Any bytes must parse or be refused with a message,
// and whatever parses must survive every accessor and builder the dispatcher uses. The
// checking pass that finds a frame's type must agree with a full parse of it, and the ack
// must carry the frame's text back unchanged.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto frame = roomwire::protocol::parse_client_frame(text, error);
  // The checking pass must agree with a full parse: same frames taken, same type.
  boost::system::error_code ec;
  boost::json::value dom = roomwire::protocol::parse_json(text, ec);
  const boost::json::value* type = !ec && dom.is_object() ? dom.as_object().if_contains("type") : nullptr;
  const bool dom_takes = type && type->is_string();
  if (dom_takes != frame.has_value()) __builtin_trap();
  if (frame && frame->type != std::string_view(type->as_string())) __builtin_trap();
  if (!frame) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  std::string message;
  roomwire::protocol::message_text(frame->body, message);
  auto room = frame->body.find("room_id");
  std::string room_id = room != frame->body.end() && room->value().is_string()
                            ? std::string(room->value().as_string()) : std::string();
  std::string presence = "null";
  if (auto p = frame->body.find("presence"); p != frame->body.end() && p->value().is_object())
    presence = boost::json::serialize(p->value());
  roomwire::member_info m;
  m.connection_id = "c";
  m.client_id = frame->type;
  m.user_info = presence;
  // Every builder must produce valid JSON from whatever the client sent.
  for (const std::string& out :
       {roomwire::protocol::room_message(room_id, message, frame->type, "t"),
        roomwire::protocol::direct_message(message, frame->type, "t"),
        roomwire::protocol::message_ack(text, "t"),
        roomwire::protocol::message_blocked(text, message, "t"),
        roomwire::protocol::presence("join", room_id, m, "t"),
        roomwire::protocol::presence_state(room_id, roomwire::member_set({m}), "t")}) {
    if (!roomwire::protocol::is_json_object(out)) __builtin_trap();
  }
  // The ack carries the frame's text back unchanged.
  boost::json::value ack = boost::json::parse(roomwire::protocol::message_ack(text, "t"), ec);
  if (ec || ack.as_object().at("message").as_string() != text) __builtin_trap();
  return 0;
}
