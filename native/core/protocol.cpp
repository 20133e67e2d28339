#include "protocol.hpp"

#include <boost/json.hpp>

#include "ids.hpp"

namespace roomwire::protocol {
namespace json = boost::json;

namespace {
json::parse_options frame_parse_options() {
  json::parse_options opt;
  opt.max_depth = max_json_depth;
  return opt;
}

/// The value of four hex digits at `at`, or -1.
int hex4(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return -1;
  int v = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    const char c = text[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/// `text` with each escape of a lone surrogate replaced by \ufffd; nullopt when there is
/// none (the common case: no copy). Boost.JSON 1.81 rejects such escapes.
std::optional<std::string> without_lone_surrogates(std::string_view text) {
  std::optional<std::string> out;
  std::size_t copied = 0;
  std::size_t i = text.find('\\');
  while (i != std::string_view::npos && i + 1 < text.size()) {
    std::size_t next = i + 2;  // past an escape other than \u, such as an escaped backslash
    const int v = text[i + 1] == 'u' ? hex4(text, i + 2) : -1;
    if (v >= 0) {
      next = i + 6;
      bool lone = false;
      if (v >= 0xD800 && v <= 0xDBFF) {
        const bool paired = i + 12 <= text.size() && text[i + 6] == '\\' && text[i + 7] == 'u' &&
                            hex4(text, i + 8) >= 0xDC00 && hex4(text, i + 8) <= 0xDFFF;
        if (paired) next = i + 12;
        lone = !paired;
      } else {
        lone = v >= 0xDC00 && v <= 0xDFFF;
      }
      if (lone) {
        if (!out) out.emplace().reserve(text.size());
        out->append(text.substr(copied, i - copied)).append("\\ufffd");
        copied = i + 6;
      }
    }
    i = text.find('\\', next);
  }
  if (out) out->append(text.substr(copied));
  return out;
}

json::object typed(std::string_view type) {
  json::object o;
  o["type"] = type;
  return o;
}
}  // namespace

json::value parse_json(std::string_view text, boost::system::error_code& ec) {
  if (auto mapped = without_lone_surrogates(text)) return json::parse(*mapped, ec, {}, frame_parse_options());
  return json::parse(text, ec, {}, frame_parse_options());
}

std::optional<client_frame> parse_client_frame(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  json::value v = parse_json(text, ec);
  if (ec) {
    error = "Invalid JSON: " + ec.message();
    return std::nullopt;
  }
  if (!v.is_object()) {
    error = "Message must be a JSON object";
    return std::nullopt;
  }
  json::object& obj = v.as_object();
  auto it = obj.find("type");
  if (it == obj.end() || !it->value().is_string()) {
    error = "Message must have a string 'type' field";
    return std::nullopt;
  }
  client_frame frame;
  frame.type = std::string(it->value().as_string());
  frame.body = std::move(obj);
  return frame;
}

std::string welcome(std::string_view connection_id, std::string_view client_id,
                    std::string_view path, std::string_view timestamp) {
  json::object o = typed("welcome");
  o["connection_id"] = connection_id;
  o["client_id"] = client_id;
  o["path"] = path;
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string message_ack(std::string_view message, std::string_view timestamp) {
  json::object o = typed("message_ack");
  o["message"] = message;
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string message_blocked(std::string_view original, std::string_view reason,
                            std::string_view timestamp) {
  json::object o = typed("message_blocked");
  o["originalMessage"] = original;
  o["reason"] = reason;
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string error(std::string_view error_type, std::string_view message,
                  std::string_view timestamp) {
  json::object o = typed("error");
  o["error_type"] = error_type;
  o["error"] = message;
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string ping(std::string_view timestamp) {
  json::object o = typed("ping");
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string pong(std::string_view timestamp, double latency_ms) {
  json::object o = typed("pong");
  o["timestamp"] = timestamp;
  if (latency_ms < 0)
    o["latency"] = nullptr;
  else
    o["latency"] = latency_ms;
  return json::serialize(o);
}

std::string http_error_body(std::string_view message) {
  json::object o;
  o["error"] = message;
  return json::serialize(o);
}

bool is_json_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = parse_json(text, ec);
  return !ec && v.is_object();
}

std::string room_joined(std::string_view room_id, std::string_view timestamp,
                        const joined_history& history) {
  json::object o = typed("room_joined");
  o["room_id"] = room_id;
  o["timestamp"] = timestamp;
  if (history.has_history) {
    o["offset"] = history.offset;
    o["epoch"] = history.epoch;
  }
  if (history.asked) o["recovered"] = history.recovered;
  return json::serialize(o);
}

std::string room_left(std::string_view room_id, std::string_view timestamp) {
  json::object o = typed("room_left");
  o["room_id"] = room_id;
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string room_message(std::string_view room_id, std::string_view message,
                         std::string_view from_client_id, std::string_view timestamp,
                         std::uint64_t offset, std::string_view epoch) {
  json::object o = typed("room_message");
  o["room_id"] = room_id;
  o["message"] = message;
  if (!from_client_id.empty()) o["from_client_id"] = from_client_id;
  o["timestamp"] = timestamp;
  if (offset != 0) {
    o["offset"] = offset;
    o["epoch"] = epoch;
  }
  return json::serialize(o);
}

std::string direct_message(std::string_view message, std::string_view from_client_id,
                           std::string_view timestamp) {
  json::object o = typed("direct_message");
  o["message"] = message;
  if (!from_client_id.empty()) o["from_client_id"] = from_client_id;
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

json::value parse_stored(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

std::string presence(std::string_view event, std::string_view room_id, const member_info& m,
                     std::string_view timestamp) {
  json::object o = typed("presence");
  o["event"] = event;
  o["room_id"] = room_id;
  o["connection_id"] = m.connection_id;
  o["client_id"] = m.client_id;
  o["user_info"] = parse_stored(m.user_info);
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

namespace {
json::array members_array(const member_set& members) {
  json::array a;
  a.reserve(members.size());
  for (const auto& m : members) {
    json::object o;
    o["connection_id"] = m.connection_id;
    o["client_id"] = m.client_id;
    o["user_info"] = parse_stored(m.user_info);
    o["joined_at"] = rfc3339(m.joined_at);
    a.push_back(std::move(o));
  }
  return a;
}
}  // namespace

std::string presence_state(std::string_view room_id, const member_set& members,
                           std::string_view timestamp) {
  json::object o = typed("presence_state");
  o["room_id"] = room_id;
  o["members"] = members_array(members);
  o["timestamp"] = timestamp;
  return json::serialize(o);
}

std::string members_json(const member_set& members) {
  return json::serialize(members_array(members));
}

json::object room_object(const room_view& room) {
  json::object o;
  o["id"] = room.id;
  o["name"] = room.name;
  o["description"] = room.description;
  if (room.max_connections == 0)
    o["maxConnections"] = nullptr;
  else
    o["maxConnections"] = room.max_connections;
  json::array conns;
  if (room.members) {
    conns.reserve(room.members->size());
    for (const auto& m : *room.members) conns.push_back(json::string(m.connection_id));
  }
  o["connectionsCount"] = conns.size();
  o["connections"] = std::move(conns);
  o["metadata"] = parse_stored(room.metadata);
  o["createdAt"] = rfc3339(room.created_at);
  o["ephemeral"] = room.ephemeral;
  if (room.history) {
    auto held = room.history->lock();
    o["history"] = json::object{{"size", room.history->options().size},
                                {"ttlMs", room.history->options().ttl_ms},
                                {"offset", room.history->last_offset()},
                                {"epoch", room.history->epoch()}};
  }
  return o;
}

bool message_text(const json::object& body, std::string& out) {
  if (auto it = body.find("message"); it != body.end() && it->value().is_string()) {
    out = std::string(it->value().as_string());
    return true;
  }
  auto it = body.find("data");
  if (it == body.end()) return false;
  if (it->value().is_string()) {
    out = std::string(it->value().as_string());
    return true;
  }
  if (it->value().is_object()) {
    const auto& d = it->value().as_object();
    if (auto m = d.find("message"); m != d.end() && m->value().is_string()) {
      out = std::string(m->value().as_string());
      return true;
    }
  }
  return false;
}

}  // namespace roomwire::protocol
