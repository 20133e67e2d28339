#include "protocol.hpp"

#include <boost/json.hpp>

namespace roomwire::protocol {
namespace json = boost::json;

namespace {
json::parse_options frame_parse_options() {
  json::parse_options opt;
  opt.max_depth = max_json_depth;
  return opt;
}

json::object typed(std::string_view type) {
  json::object o;
  o["type"] = type;
  return o;
}
}  // namespace

std::optional<client_frame> parse_client_frame(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, frame_parse_options());
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
  json::value v = json::parse(text, ec, {}, frame_parse_options());
  return !ec && v.is_object();
}

}  // namespace roomwire::protocol
