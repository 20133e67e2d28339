// Rover's model: named events and topics. A client joins and leaves topics (rooms) and
// sends named events; the app's handlers are named by topic and event, and the core
// answers whatever has no handler itself, with no JavaScript call:
//   client: {"type":"join","topic":T,"payload":P}  {"type":"leave","topic":T,"payload":P}
//           {"type":"event","event":E,"payload":P}
//   server: {"type":"join_ack","topic":T}  {"type":"join_error","topic":T,"reason":R}
//           {"type":"leave_ack","topic":T}  {"type":"event","event":E,"payload":P[,"topic":T]}
//           {"type":"error","error_type":...}: unknown_topic, unknown_event, not_joined,
//           leave_error, invalid_format
// A join runs the topic's join handler (onJoinRoom underneath: a cancel is the handler's
// error) and then the room join with its limits; a leave runs the topic's leave handler
// when there is one. Events go to their read handler without waiting for its result.
#include <boost/json.hpp>

#include <algorithm>

#include "ids.hpp"
#include "ws_protocol.hpp"
#include "ws_session.hpp"

namespace roomwire {
namespace json = boost::json;

namespace {

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// {"type":<type>,"topic":<topic>} plus `extra` members.
std::string topic_frame(const char* type, const std::string& topic, json::object extra = {}) {
  json::object o;
  o["type"] = type;
  o["topic"] = topic;
  for (auto& kv : extra) o[kv.key()] = kv.value();
  return json::serialize(o);
}

}  // namespace

class events_protocol : public ws_protocol {
 public:
  explicit events_protocol(ws_session& s) : s_(s) {}

  void on_open() override {
    // The app's connect(ws): told, not asked.
    if (!s_.route().has(cb_welcome)) return;
    event ev = s_.make_event(event_kind::welcome);
    ev.data = "{}";
    s_.srv().emit(std::move(ev));
  }

  void on_text(std::string text) override {
    error_code ec;
    json::value v = json::parse(text, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::string* type = o ? string_of(*o, "type") : nullptr;
    if (!type) return error("invalid_format", "a frame is a JSON object with a string type");
    if (*type == "join") return join(*o);
    if (*type == "leave") return leave(*o);
    if (*type == "event") return read(*o, std::move(text));
    error("invalid_format", "unknown type: " + std::string(*type));
  }

  bool wants_presence() const override { return false; }
  std::string joined_frame(const std::string& room_id, const protocol::joined_history&) const override {
    return topic_frame("join_ack", room_id);
  }
  std::string left_frame(const std::string& room_id) const override { return topic_frame("leave_ack", room_id); }
  void on_refused(err_type type, const std::string& message) override { error(err_type_name(type), message); }

 private:
  static const json::string* string_of(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    return v ? v->if_string() : nullptr;
  }
  static std::string payload_of(const json::object& o) {
    const json::value* v = o.if_contains("payload");
    return v ? json::serialize(*v) : std::string("null");
  }

  void error(std::string_view error_type, std::string_view message, json::object extra = {}) {
    json::object o;
    o["type"] = "error";
    o["error_type"] = error_type;
    o["message"] = message;
    for (auto& kv : extra) o[kv.key()] = kv.value();
    s_.write_text(json::serialize(o), tx_type::error);
  }

  void join(const json::object& o) {
    s_.srv().stats().received(rx_type::join_room);
    const json::string* topic = string_of(o, "topic");
    if (!topic || topic->empty()) return error("invalid_format", "join needs a topic");
    std::string name(*topic);
    if (!listed(s_.route().options.join_topics, name))
      return error("unknown_topic", "no such topic: " + name, {{"topic", name}});
    // The payload goes to the join handler and is kept as the member's presence.
    s_.join(name, payload_of(o), std::nullopt, [this, name](join_result result, std::string reason) {
      if (result != join_result::ok) s_.write_text(topic_frame("join_error", name, {{"reason", reason}}), tx_type::error);
    });
  }

  void leave(const json::object& o) {
    s_.srv().stats().received(rx_type::leave_room);
    const json::string* topic = string_of(o, "topic");
    if (!topic || topic->empty()) return error("invalid_format", "leave needs a topic");
    std::string name(*topic);
    if (!s_.srv().rooms().is_member(name, s_.connection_id()))
      return error("not_joined", "not joined to topic " + name, {{"topic", name}});
    auto done = [this, name] {
      if (!s_.srv().leave_room(s_.connection_id(), name))
        error("not_joined", "not joined to topic " + name, {{"topic", name}});
    };
    if (!listed(s_.route().options.leave_topics, name)) return done();
    event ev = s_.make_event(event_kind::leave_room);
    ev.room_id = name;
    ev.data = payload_of(o);
    s_.ask(cb_leave_room, std::move(ev), [this, name, done](verdict&& v) {
      if (v.cancel) return error("leave_error", v.has_error ? v.error : "leave refused", {{"topic", name}});
      done();
    });
  }

  void read(const json::object& o, std::string text) {
    s_.srv().stats().received(rx_type::other);
    const json::string* name = string_of(o, "event");
    if (!name || name->empty()) return error("invalid_format", "an event needs its name");
    if (!listed(s_.route().options.read_events, std::string(*name)))
      return error("unknown_event", "no handler for event " + std::string(*name), {{"event", *name}});
    event ev = s_.make_event(event_kind::message);
    ev.data = std::move(text);
    s_.srv().emit(std::move(ev));  // no verdict asked: the connection reads on
  }

  ws_session& s_;
};

std::unique_ptr<ws_protocol> make_events_protocol(ws_session& session) {
  return std::make_unique<events_protocol>(session);
}

}  // namespace roomwire
