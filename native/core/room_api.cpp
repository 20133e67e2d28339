#include "room_api.hpp"

#include <boost/json.hpp>

#include "protocol.hpp"
#include "router.hpp"
#include "server.hpp"

namespace roomwire {
namespace json = boost::json;

namespace {

http_answer answer(unsigned status, json::object body) {
  return {status, json::serialize(body), "application/json"};
}

http_answer fail(unsigned status, std::string_view error) {
  json::object o;
  o["success"] = false;
  o["error"] = error;
  return answer(status, std::move(o));
}

http_answer ok(json::object o = {}) {
  // `success` first reads better: rebuild with it in front.
  json::object out;
  out["success"] = true;
  for (auto& kv : o)
    if (kv.key() != "success") out[kv.key()] = std::move(kv.value());
  return answer(200, std::move(out));
}

/// Parses a JSON object body; an empty body is an empty object.
std::optional<json::object> object_body(const std::string& body, http_answer& error) {
  if (body.empty()) return json::object{};
  boost::system::error_code ec;
  json::value v = protocol::parse_json(body, ec);
  if (ec) {
    error = fail(400, "Malformed JSON body: " + ec.message());
    return std::nullopt;
  }
  if (!v.is_object()) {
    error = fail(400, "Body must be a JSON object");
    return std::nullopt;
  }
  return std::move(v.as_object());
}

const json::value* field(const json::object& o, const char* key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

/// A query parameter as a decimal integer: nullopt when absent, `bad` set when malformed.
std::optional<std::uint64_t> number_param(const string_pairs& query, const char* name, bool& bad) {
  for (const auto& [k, v] : query) {
    if (k != name) continue;
    if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
      bad = true;
      return std::nullopt;
    }
    return std::stoull(v);
  }
  return std::nullopt;
}

std::optional<http_answer> rooms_endpoint(server& srv, const std::string& method,
                                          const std::vector<std::string>& rest,
                                          const std::string& body, const string_pairs& query) {
  room_registry& rooms = srv.rooms();
  if (rest.size() == 1 && method == "GET") {
    bool bad_limit = false, bad_cursor = false;
    auto limit = number_param(query, "limit", bad_limit);
    auto cursor = number_param(query, "cursor", bad_cursor);
    if (bad_limit || (limit && (*limit < 1 || *limit > max_rooms_per_page)))
      return fail(400, "limit must be an integer from 1 to " + std::to_string(max_rooms_per_page));
    if (bad_cursor) return fail(400, "cursor must be a nextCursor this endpoint returned");
    room_page page = rooms.page(cursor, limit ? static_cast<std::size_t>(*limit) : max_rooms_per_page);
    json::array list;
    for (const auto& r : page.rooms) list.push_back(protocol::room_object(r));
    json::object o;
    o["count"] = list.size();
    o["total"] = page.total;
    o["rooms"] = std::move(list);
    o["nextCursor"] = page.next ? json::value(std::to_string(*page.next)) : json::value(nullptr);
    return ok(std::move(o));
  }
  if (rest.size() == 1 && method == "POST") {
    http_answer error;
    auto b = object_body(body, error);
    if (!b) return error;
    const json::value* name = field(*b, "name");
    if (!name || !name->is_string() || name->as_string().empty())
      return fail(400, "name is required (a non-empty string)");
    std::string description;
    if (const json::value* d = field(*b, "description")) {
      if (!d->is_string()) return fail(400, "description must be a string");
      description = std::string(d->as_string());
    }
    std::size_t max = 0;
    if (const json::value* m = field(*b, "maxConnections")) {
      if (!m->is_int64() && !m->is_uint64()) return fail(400, "maxConnections must be a non-negative integer");
      if (m->is_int64() && m->as_int64() < 0) return fail(400, "maxConnections must be a non-negative integer");
      max = m->is_int64() ? static_cast<std::size_t>(m->as_int64()) : static_cast<std::size_t>(m->as_uint64());
    }
    std::string metadata = "{}";
    if (const json::value* md = field(*b, "metadata")) {
      if (!md->is_object()) return fail(400, "metadata must be an object");
      metadata = json::serialize(*md);
    }
    // history: {size: 1..100000, ttlMs?: 0..2^31-1}, as createRoom takes it.
    history_options history;
    if (const json::value* h = field(*b, "history")) {
      const json::object* ho = h->if_object();
      const json::value* size = ho ? ho->if_contains("size") : nullptr;
      const json::value* ttl = ho ? ho->if_contains("ttlMs") : nullptr;
      auto whole = [](const json::value* v, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
        if (v && v->is_int64() && v->as_int64() >= 0) out = static_cast<std::uint64_t>(v->as_int64());
        else if (v && v->is_uint64()) out = v->as_uint64();
        else return false;
        return out >= lo && out <= hi;
      };
      std::uint64_t n = 0, t = 0;
      if (!ho || !whole(size, 1, 100000, n) || (ttl && !whole(ttl, 0, 2147483647, t)) ||
          ho->size() != 1 + (ttl ? 1u : 0u))
        return fail(400, "history must be {\"size\": 1 to 100000, \"ttlMs\"?: a whole number of ms}");
      history.size = static_cast<std::size_t>(n);
      history.ttl_ms = t;
    }
    std::string id = rooms.create(std::string(name->as_string()), description, max, metadata, false, {}, history);
    srv.cluster_room_created(id);
    json::object o;
    o["success"] = true;
    o["roomId"] = id;
    return answer(201, std::move(o));
  }
  const std::string& room_id = rest.size() >= 2 ? rest[1] : std::string();
  if (rest.size() == 2 && method == "GET") {
    auto view = rooms.info(room_id);
    if (!view) return fail(404, "Room not found");
    json::object o;
    o["room"] = protocol::room_object(*view);
    return ok(std::move(o));
  }
  if (rest.size() == 2 && method == "DELETE") {
    return srv.delete_room(room_id) ? ok() : fail(404, "Room not found");
  }
  if (rest.size() == 3 && method == "POST") {
    const std::string& action = rest[2];
    if (action != "message" && action != "join" && action != "leave") return std::nullopt;
    // Malformed requests are told so (400) before anything is looked up (404).
    http_answer error;
    auto b = object_body(body, error);
    if (!b) return error;
    if (action == "message") {
      const json::value* m = field(*b, "message");
      if (!m || !m->is_string()) return fail(400, "message is required (a string)");
      if (!srv.send_room_message(room_id, std::string(m->as_string()))) return fail(404, "Room not found");
      return ok();
    }
    const json::value* c = field(*b, "connectionId");
    if (!c || !c->is_string()) return fail(400, "connectionId is required (a string)");
    std::string conn(c->as_string());
    if (!rooms.info(room_id)) return fail(404, "Room not found");
    if (action == "leave") {
      if (!srv.find(conn)) return fail(404, "Connection not found");
      return srv.leave_room(conn, room_id) ? ok() : fail(404, "Connection is not in the room");
    }
    switch (srv.join_room_now(conn, room_id)) {
      case join_result::ok: return ok();
      case join_result::unknown_connection: return fail(404, "Connection not found");
      case join_result::unknown_room: return fail(404, "Room not found");
      case join_result::full: return fail(409, "Room is full");
      case join_result::too_many_rooms: return fail(409, "Too many rooms for this connection");
      case join_result::already_member: return fail(409, "Already in room");
      case join_result::id_too_long:  // the room exists: its id is not too long
      case join_result::rejected:     // no callback runs here
        break;
    }
    return fail(409, "Join refused");
  }
  return std::nullopt;
}

std::optional<http_answer> clients_endpoint(server& srv, const std::string& method,
                                            const std::vector<std::string>& rest) {
  if (method != "GET" || rest.size() < 2 || rest.size() > 3) return std::nullopt;
  if (rest.size() == 3 && rest[2] != "rooms") return std::nullopt;
  auto s = srv.find(rest[1]);
  if (!s) return fail(404, "Client not found");
  json::object o;
  if (rest.size() == 2) {
    o["client"] = srv.client_info(*s);
  } else {
    json::array list;
    for (auto& id : srv.rooms().rooms_of(rest[1])) list.push_back(json::string(id));
    o["count"] = list.size();
    o["rooms"] = std::move(list);
  }
  return ok(std::move(o));
}

}  // namespace

std::optional<http_answer> builtin_endpoint(server& srv, const std::string& method,
                                            const std::vector<std::string>& segments,
                                            const std::string& body, const string_pairs& query) {
  if (srv.metrics_enabled() && method == "GET" && segments.size() == 1 && segments[0] == "metrics")
    return http_answer{200, srv.metrics_text(), "text/plain; version=0.0.4; charset=utf-8"};

  std::string prefix = srv.room_api_prefix();
  if (prefix.empty()) return std::nullopt;
  std::string path;
  std::vector<std::string> prefix_segments;
  string_pairs ignored;
  split_target(prefix, path, prefix_segments, ignored);
  if (segments.size() <= prefix_segments.size()) return std::nullopt;
  for (std::size_t i = 0; i < prefix_segments.size(); ++i)
    if (segments[i] != prefix_segments[i]) return std::nullopt;
  std::vector<std::string> rest(segments.begin() + static_cast<std::ptrdiff_t>(prefix_segments.size()),
                                segments.end());
  if (rest[0] == "rooms") return rooms_endpoint(srv, method, rest, body, query);
  if (rest[0] == "clients") return clients_endpoint(srv, method, rest);
  return std::nullopt;
}

}  // namespace roomwire
