#include "protocol.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include "ids.hpp"
#include "json_escape.hpp"

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

/// A handler for json::basic_parser that builds nothing: it notes the top-level "type"
/// member's string value (the last one, as the DOM parser keeps) while the parser checks
/// the whole text.
struct type_scan {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  int depth = 0;
  bool top_is_object = false;
  bool key_is_type = false;  // the member being read is the top level's "type"
  bool has_type = false;     // ... and its value was a string
  std::string key;           // a top-level key arriving in parts
  std::string type;

  /// A value other than a string: a top-level "type" member holding it has no string type.
  bool not_string() {
    key_is_type = false;
    return true;
  }
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    if (depth == 0) top_is_object = true;
    if (depth == 1) not_string();
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_array_begin(json::error_code&) {
    if (depth == 1) not_string();
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    if (depth != 1) return true;
    key.append(s.data(), s.size());
    key_is_type = key == "type";
    key.clear();
    if (key_is_type) {  // a later "type" member replaces an earlier one
      has_type = false;
      type.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (depth == 1 && key_is_type) {
      has_type = true;
      type.append(s.data(), s.size());
    }
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    on_string_part(s, 0, ec);
    key_is_type = false;
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return not_string(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return not_string(); }
  bool on_double(double, json::string_view, json::error_code&) { return not_string(); }
  bool on_bool(bool, json::error_code&) { return not_string(); }
  bool on_null(json::error_code&) { return not_string(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

/// The frame types whose handling reads the frame's members (the others need only the
/// type and the text).
bool reads_body(std::string_view type) {
  return type == "join_room" || type == "leave_room" || type == "room_message" || type == "direct_message" ||
         type == "presence_list";
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
  // First a pass that checks the text and finds its type without building anything: most
  // frames (an app's own types, pings) need no more than that.
  std::optional<std::string> mapped = without_lone_surrogates(text);
  const std::string_view checked = mapped ? std::string_view(*mapped) : text;
  json::basic_parser<type_scan> scan(frame_parse_options());
  const std::size_t used = scan.write_some(false, checked.data(), checked.size(), ec);
  if (!ec && used < checked.size()) ec = json::error::extra_data;
  if (ec) {
    error = "Invalid JSON: " + ec.message();
    return std::nullopt;
  }
  if (!scan.handler().top_is_object) {
    error = "Message must be a JSON object";
    return std::nullopt;
  }
  if (!scan.handler().has_type) {
    error = "Message must have a string 'type' field";
    return std::nullopt;
  }
  if (!reads_body(scan.handler().type)) {
    client_frame frame;
    frame.type = std::move(scan.handler().type);
    return frame;
  }
  json::value v = json::parse(checked, ec, {}, frame_parse_options());
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
  // Written directly (one buffer, no object): every acknowledged frame makes one.
  std::string out;
  out.reserve(message.size() + timestamp.size() + 64);
  out += R"({"type":"message_ack","message":)";
  append_json_string(out, message);
  out += R"(,"timestamp":)";
  append_json_string(out, timestamp);
  out += '}';
  return out;
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
