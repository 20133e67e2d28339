#include "cluster.hpp"

#include <boost/json.hpp>

#include "ids.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "server.hpp"
#include "ws_session.hpp"

namespace roomwire {

namespace json = boost::json;

namespace {

redis_connection::options redis_at(const cluster_options& o) {
  redis_connection::options r;
  r.host = o.host;
  r.port = o.port;
  r.password = o.password;
  r.db = o.db;
  return r;
}

// The Lua scripts. Every state change is one script: the Redis copy changes and the change
// is published on `<prefix>:state` atomically, so every server sees the changes in the
// order Redis applied them. ARGV[1] is always the key prefix ("<prefix>:").
//
// Keys: rooms (hash id -> room record), members:<room> (hash "<node>\0<connection>" ->
// member), nodemembers:<node> (set of "<room>\0<connection>"), nodes (hash node ->
// connection count), alive:<node> (the heartbeat, expiring).
constexpr const char* prelude = R"lua(
local p = ARGV[1]
-- "<a>\0<b>" split at its last NUL: node ids and connection ids have none, room ids may.
local function sep(e)
  return string.match(e, '^(.*)%z([^%z]*)$')
end
local function drop_if_empty(room)
  if redis.call('HLEN', p .. 'members:' .. room) == 0 then
    local rec = redis.call('HGET', p .. 'rooms', room)
    if rec and cjson.decode(rec).ephemeral then redis.call('HDEL', p .. 'rooms', room) end
  end
end
local function forget(node)
  local nm = p .. 'nodemembers:' .. node
  local rooms = {}
  for _, e in ipairs(redis.call('SMEMBERS', nm)) do
    local room, conn = sep(e)
    redis.call('HDEL', p .. 'members:' .. room, node .. '\0' .. conn)
    rooms[room] = true
  end
  redis.call('DEL', nm)
  for room in pairs(rooms) do drop_if_empty(room) end
end
)lua";

// node, room, connection, member, max (0: none), room record, event
constexpr const char* join_script = R"lua(
local node, room, conn = ARGV[2], ARGV[3], ARGV[4]
local mkey = p .. 'members:' .. room
redis.call('HSETNX', p .. 'rooms', room, ARGV[7])
local field = node .. '\0' .. conn
if redis.call('HEXISTS', mkey, field) == 1 then return 'ok' end
local max = tonumber(ARGV[6])
if max > 0 and redis.call('HLEN', mkey) >= max then return 'full' end
redis.call('HSET', mkey, field, ARGV[5])
redis.call('SADD', p .. 'nodemembers:' .. node, room .. '\0' .. conn)
redis.call('PUBLISH', p .. 'state', ARGV[8])
return 'ok'
)lua";

// node, room, connection, event
constexpr const char* leave_script = R"lua(
local node, room, conn = ARGV[2], ARGV[3], ARGV[4]
if redis.call('HDEL', p .. 'members:' .. room, node .. '\0' .. conn) == 0 then return 0 end
redis.call('SREM', p .. 'nodemembers:' .. node, room .. '\0' .. conn)
drop_if_empty(room)
redis.call('PUBLISH', p .. 'state', ARGV[5])
return 1
)lua";

// room, record, event
constexpr const char* create_script = R"lua(
if redis.call('HSETNX', p .. 'rooms', ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('PUBLISH', p .. 'state', ARGV[4])
return 1
)lua";

// room, event
constexpr const char* delete_script = R"lua(
local room = ARGV[2]
local mkey = p .. 'members:' .. room
for _, f in ipairs(redis.call('HKEYS', mkey)) do
  local node, conn = sep(f)
  redis.call('SREM', p .. 'nodemembers:' .. node, room .. '\0' .. conn)
end
redis.call('DEL', mkey, p .. 'hepoch:' .. room, p .. 'hseq:' .. room, p .. 'history:' .. room)
redis.call('HDEL', p .. 'rooms', room)
redis.call('PUBLISH', p .. 'state', ARGV[3])
return 1
)lua";

// Room history (rooms created with `history`). Keys: hepoch:<room> (the epoch), hseq:<room>
// (the last offset), history:<room> (a stream of the newest messages, entry id "<offset>-1",
// fields t (ms) and f (the frame)). A history that is gone (a Redis restarted empty) starts
// over in a new epoch, never reusing offsets of the old one.
constexpr const char* history_keys = R"lua(
local room = ARGV[2]
local ek, sk, st = p .. 'hepoch:' .. room, p .. 'hseq:' .. room, p .. 'history:' .. room
if redis.call('EXISTS', ek) == 0 then
  redis.call('SET', ek, ARGV[3])
  redis.call('DEL', sk, st)
end
local epoch = redis.call('GET', ek)
)lua";

// room, new epoch, frame without its closing brace, size, ms: the message gets the room's
// next offset, is kept, and is published to every server (this one too) on hroom:<room>
// as "<offset> <epoch>\n<frame>".
constexpr const char* history_publish_script = R"lua(
local n = redis.call('INCR', sk)
local frame = ARGV[4] .. ',"offset":' .. n .. ',"epoch":"' .. epoch .. '"}'
redis.call('XADD', st, 'MAXLEN', ARGV[5], n .. '-1', 't', ARGV[6], 'f', frame)
redis.call('PUBLISH', p .. 'hroom:' .. room, n .. ' ' .. epoch .. '\n' .. frame)
return n
)lua";

// room, new epoch: {epoch, last offset, [[id, [field, value, ...]], ...]}
constexpr const char* history_sync_script = R"lua(
return {epoch, redis.call('GET', sk) or '0', redis.call('XRANGE', st, '-', '+')}
)lua";

// node, connection count, heartbeat ms, rooms [[id, record]], members [[room, conn, member]], event
constexpr const char* sync_script = R"lua(
local node = ARGV[2]
forget(node)
for _, r in ipairs(cjson.decode(ARGV[5])) do redis.call('HSETNX', p .. 'rooms', r[1], r[2]) end
local nm = p .. 'nodemembers:' .. node
for _, m in ipairs(cjson.decode(ARGV[6])) do
  redis.call('HSET', p .. 'members:' .. m[1], node .. '\0' .. m[2], m[3])
  redis.call('SADD', nm, m[1] .. '\0' .. m[2])
end
redis.call('HSET', p .. 'nodes', node, ARGV[3])
redis.call('SET', p .. 'alive:' .. node, '1', 'PX', ARGV[4])
redis.call('PUBLISH', p .. 'state', ARGV[7])
return 1
)lua";

// node, connection count, heartbeat ms: the heartbeat, the count when it changed, and the
// reaping of servers whose heartbeat expired. 'resync' when this server was reaped itself.
constexpr const char* tick_script = R"lua(
local node = ARGV[2]
local old = redis.call('HGET', p .. 'nodes', node)
if not old then return 'resync' end
redis.call('SET', p .. 'alive:' .. node, '1', 'PX', ARGV[4])
if old ~= ARGV[3] then
  redis.call('HSET', p .. 'nodes', node, ARGV[3])
  redis.call('PUBLISH', p .. 'state', cjson.encode({o = 'count', n = node, c = tonumber(ARGV[3])}))
end
for _, other in ipairs(redis.call('HKEYS', p .. 'nodes')) do
  if redis.call('EXISTS', p .. 'alive:' .. other) == 0 then
    forget(other)
    redis.call('HDEL', p .. 'nodes', other)
    redis.call('PUBLISH', p .. 'state', cjson.encode({o = 'gone', n = other}))
  end
end
return 'ok'
)lua";

// node
constexpr const char* bye_script = R"lua(
forget(ARGV[2])
redis.call('HDEL', p .. 'nodes', ARGV[2])
redis.call('DEL', p .. 'alive:' .. ARGV[2])
redis.call('PUBLISH', p .. 'state', cjson.encode({o = 'gone', n = ARGV[2]}))
return 1
)lua";

// The whole cluster: {rooms: {id: record}, members: {room: {"node\0conn": member}}, nodes: {node: count}}
constexpr const char* snapshot_script = R"lua(
local out = {rooms = {}, members = {}, nodes = {}}
local rooms = redis.call('HGETALL', p .. 'rooms')
for i = 1, #rooms, 2 do
  out.rooms[rooms[i]] = rooms[i + 1]
  local m = redis.call('HGETALL', p .. 'members:' .. rooms[i])
  local t = {}
  for j = 1, #m, 2 do t[m[j]] = m[j + 1] end
  out.members[rooms[i]] = t
end
local nodes = redis.call('HGETALL', p .. 'nodes')
for i = 1, #nodes, 2 do
  if redis.call('EXISTS', p .. 'alive:' .. nodes[i]) == 1 then out.nodes[nodes[i]] = tonumber(nodes[i + 1]) end
end
return cjson.encode(out)
)lua";

json::object member_json(const member_info& m) {
  json::object o;
  o["c"] = m.connection_id;
  o["k"] = m.client_id;
  o["u"] = protocol::parse_stored(m.user_info);
  o["t"] = m.joined_at;
  return o;
}

json::object room_record(const room_view& r) {
  json::object o;
  o["id"] = r.id;
  o["name"] = r.name;
  o["description"] = r.description;
  o["max"] = r.max_connections;
  o["metadata"] = protocol::parse_stored(r.metadata);
  o["created_at"] = r.created_at;
  o["ephemeral"] = r.ephemeral;
  if (r.history) o["history"] = json::object{{"size", r.history->options().size}, {"ttl", r.history->options().ttl_ms}};
  return o;
}

std::string text_of(const json::value& v, const char* key) {
  if (const auto* o = v.if_object())
    if (const auto* f = o->if_contains(key))
      if (const auto* s = f->if_string()) return std::string(*s);
  return {};
}

double number_of(const json::value& v, const char* key) {
  if (const auto* o = v.if_object())
    if (const auto* f = o->if_contains(key)) {
      if (f->is_double()) return f->get_double();
      if (f->is_int64()) return static_cast<double>(f->get_int64());
      if (f->is_uint64()) return static_cast<double>(f->get_uint64());
    }
  return 0;
}

/// A member of another node, as the registry holds it (no sink: it is delivered there).
member_info remote_member(const std::string& node, const json::value& v) {
  member_info m;
  m.node = node;
  m.connection_id = text_of(v, "c");
  m.client_id = text_of(v, "k");
  if (const auto* o = v.if_object())
    if (const auto* u = o->if_contains("u")) m.user_info = json::serialize(*u);
  m.joined_at = number_of(v, "t");
  return m;
}

json::value parse_or_null(std::string_view text) {
  error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value() : v;
}

}  // namespace

cluster_bus::cluster_bus(server& srv, net::io_context& ioc, cluster_options opts)
    : server_(srv),
      opts_(std::move(opts)),
      prefix_(opts_.prefix + ":"),
      pub_(std::make_shared<redis_connection>(ioc, redis_at(opts_))),
      sub_(std::make_shared<redis_connection>(ioc, redis_at(opts_))),
      timer_(ioc) {}

void cluster_bus::start() {
  std::weak_ptr<cluster_bus> weak = weak_from_this();
  sub_->on_message([weak](redis_reply_view r) {
    if (auto self = weak.lock()) self->on_subscription(r);
  });
  sub_->on_connected([weak] {
    auto self = weak.lock();
    if (!self) return;
    // Redis forgets a connection's subscriptions: every (re)connection subscribes again.
    self->sub_->subscribe({self->prefix_ + "room:*", self->prefix_ + "hroom:*", self->prefix_ + "state",
                               self->prefix_ + "broadcast"}, true);
    std::vector<std::string> channels;
    for (const auto& [client, n] : self->clients_) channels.push_back(self->prefix_ + "client:" + client);
    for (const auto& c : self->connections_) channels.push_back(self->prefix_ + "conn:" + c);
    for (std::size_t i = 0; i < channels.size(); i += 1000) {
      std::vector<std::string> some(channels.begin() + static_cast<std::ptrdiff_t>(i),
                                    channels.begin() + static_cast<std::ptrdiff_t>(std::min(channels.size(), i + 1000)));
      self->sub_->subscribe(some);
    }
  });
  pub_->on_connected([weak] {
    if (auto self = weak.lock()) self->on_up();
  });
  sub_->on_disconnected([weak] {
    if (auto self = weak.lock()) {
      self->subscribed_ = false;
      self->on_down();
    }
  });
  pub_->on_disconnected([weak] {
    if (auto self = weak.lock()) self->on_down();
  });
  pub_->start();
  sub_->start();
  schedule_tick();
}

void cluster_bus::stop(std::function<void()> done) {
  if (stopped_) return done();
  stopped_ = true;
  timer_.cancel();
  live_.store(false, std::memory_order_release);  // leaving, not lost: no warning
  on_down();
  sub_->stop();
  // The others drop this server's members now rather than when its heartbeat expires.
  // Weak: a reply that never comes (Redis hung, the thread stopped) must not keep the bus.
  auto finish = [weak = weak_from_this(), done = std::move(done)](redis_reply_view) {
    auto self = weak.lock();
    if (!self) return done();
    self->pub_->stop();
    // The registry outlives this server (rooms stay across listen and close): it keeps no
    // member of another server.
    std::unordered_set<std::string> nodes;
    for (const auto& [node, n] : self->counts_) nodes.insert(node);
    for (const auto& room : self->server_.rooms().all())
      for (const auto& m : *room.members)
        if (!m.local()) nodes.insert(m.node);
    for (const auto& node : nodes) self->mirror_gone(node);
    self->counts_.clear();
    self->remote_connections_ = 0;
    done();
  };
  if (!eval(bye_script, {opts_.node_id}, finish)) finish(redis_reply_view{});
}

// --- connection state ---

void cluster_bus::on_up() {
  if (stopped_ || syncing_ || live() || !pub_->connected() || !subscribed_) return;
  resync();
}

void cluster_bus::on_down() {
  if (live()) log(log_level::warn, "cluster: Redis unreachable; this server goes on alone until it is back");
  live_.store(false, std::memory_order_release);
  server_.stats().cluster_connected(false);
  syncing_ = false;
  early_.clear();
}

void cluster_bus::resync() {
  // First this server's own rooms and members, replacing whatever Redis had of it (a Redis
  // that restarted has nothing; one that reaped this server has nothing of it either), then
  // the cluster's state, mirrored. The state changes published meanwhile wait in early_.
  syncing_ = true;
  early_.clear();
  // The rooms this server vouches for: every lasting room it knows, and the ephemeral ones
  // it has members in (the others' ephemeral rooms are theirs to register).
  json::array rooms, event_rooms, members, event_members;
  for (const auto& r : server_.rooms().all()) {
    bool has_local = false;
    for (const auto& m : *r.members) has_local = has_local || m.local();
    if (r.ephemeral && !has_local) continue;
    json::object rec = room_record(r);
    rooms.push_back(json::array{json::string(r.id), json::string(json::serialize(rec))});
    event_rooms.push_back(std::move(rec));
  }
  for (const auto& [room_id, m] : server_.rooms().members_of_node({})) {
    json::object mj = member_json(m);
    members.push_back(json::array{json::string(room_id), json::string(m.connection_id), json::string(json::serialize(mj))});
    event_members.push_back(json::array{json::string(room_id), std::move(mj)});
  }
  last_count_ = server_.connection_count();
  json::object ev{{"o", "sync"}, {"n", opts_.node_id}, {"c", last_count_}, {"rooms", std::move(event_rooms)},
                  {"members", std::move(event_members)}};
  const auto ttl = std::to_string(opts_.node_timeout.count());
  auto self = shared_from_this();
  bool sent = eval(sync_script, {opts_.node_id, std::to_string(last_count_), ttl, json::serialize(rooms),
                                 json::serialize(members), json::serialize(ev)},
                   [self](redis_reply_view r) {
                     if (r && r.is_error()) log(log_level::error, "cluster: registering failed: " + r.text());
                   });
  sent = sent && eval(snapshot_script, {}, [self](redis_reply_view r) {
    if (!self->syncing_) return;  // the connection went meanwhile
    if (!r || r.is_error()) {
      log(log_level::error, "cluster: loading the cluster's state failed: " + r.text());
      self->syncing_ = false;
      return;
    }
    self->install(r.text());
  });
  if (!sent) syncing_ = false;
  next_heartbeat_ = std::chrono::steady_clock::now() + opts_.node_timeout / 5;
}

void cluster_bus::install(const std::string& snapshot) {
  json::value all = parse_or_null(snapshot);
  const json::object* o = all.if_object();
  if (!o) {
    syncing_ = false;
    return log(log_level::error, "cluster: the cluster's state is not JSON");
  }
  if (const auto* rooms = o->if_contains("rooms"); rooms && rooms->is_object())
    for (const auto& [id, record] : rooms->get_object())
      if (const auto* text = record.if_string()) mirror_room(parse_or_null(*text));
  // Members by node, then by room and connection.
  std::map<std::string, std::map<std::string, std::map<std::string, json::value>>> by_node;
  if (const auto* members = o->if_contains("members"); members && members->is_object())
    for (const auto& [room, entries] : members->get_object()) {
      if (!entries.is_object()) continue;
      for (const auto& [field, member] : entries.get_object()) {
        std::string_view f = field;
        const auto cut = f.find('\0');
        if (cut == std::string_view::npos || !member.is_string()) continue;
        std::string node(f.substr(0, cut));
        if (node == opts_.node_id) continue;
        by_node[node][std::string(room)][std::string(f.substr(cut + 1))] = parse_or_null(member.get_string());
      }
    }
  std::unordered_map<std::string, std::size_t> alive;
  if (const auto* nodes = o->if_contains("nodes"); nodes && nodes->is_object())
    for (const auto& [node, count] : nodes->get_object())
      if (node != opts_.node_id && count.is_number()) alive[std::string(node)] = static_cast<std::size_t>(count.to_number<double>());
  // Servers this one mirrored that are gone now.
  std::unordered_set<std::string> mirrored;
  for (const auto& [node, n] : counts_) mirrored.insert(node);
  for (const auto& node : mirrored)
    if (!alive.count(node)) mirror_gone(node);
  for (const auto& [node, count] : alive) {
    static const std::map<std::string, std::map<std::string, json::value>> none;
    auto it = by_node.find(node);
    mirror_replace(node, it == by_node.end() ? none : it->second);
    set_count(node, count);
  }
  // Then the histories of the rooms that keep one; live once they are all in.
  std::vector<std::string> histories;
  for (const auto& r : server_.rooms().all())
    if (r.history) histories.push_back(r.id);
  auto pending = std::make_shared<std::size_t>(histories.size() + 1);
  const std::size_t others = alive.size();
  auto one_done = [self = shared_from_this(), pending, others] {
    if (--*pending != 0 || !self->syncing_) return;
    self->syncing_ = false;
    self->live_.store(true, std::memory_order_release);
    self->server_.stats().cluster_connected(true);
    log(log_level::info, "cluster: joined as " + self->opts_.node_id + " with " + std::to_string(others) +
                             " other server(s)");
    auto early = std::move(self->early_);
    self->early_.clear();
    for (const auto& payload : early) self->on_state(payload);
    auto early_history = std::move(self->early_history_);
    self->early_history_.clear();
    for (const auto& [room, payload] : early_history) self->on_history(room, payload);
  };
  for (const auto& id : histories)
    if (!sync_history(id, one_done)) {
      syncing_ = false;  // the connection went: the next one syncs again
      return;
    }
  one_done();
}

bool cluster_bus::sync_history(const std::string& room_id, std::function<void()> done) {
  static const std::string script = std::string(history_keys) + history_sync_script;
  return eval(script.c_str(), {room_id, room_history::new_epoch()}, [self = shared_from_this(), room_id, done](redis_reply_view r) {
    if (r && !r.is_error() && r.is_array() && r.size() == 3) {
      std::vector<room_history::stored> kept;
      const redis_reply_view entries = r.at(2);
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const redis_reply_view e = entries.at(i);
        if (e.size() != 2) continue;
        const std::string id = e.at(0).text();
        room_history::stored k{std::strtoull(id.c_str(), nullptr, 10), 0, nullptr};
        const redis_reply_view fields = e.at(1);
        for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
          const std::string name = fields.at(f).text();
          if (name == "t") k.at_ms = std::strtod(fields.at(f + 1).text().c_str(), nullptr);
          else if (name == "f") k.frame = std::make_shared<const std::string>(fields.at(f + 1).text());
        }
        if (k.offset != 0 && k.frame) kept.push_back(std::move(k));
      }
      self->server_.history_loaded(room_id, r.at(0).text(), std::strtoull(r.at(1).text().c_str(), nullptr, 10),
                                   std::move(kept));
    } else if (r) {
      log(log_level::error, "cluster: loading the history of " + room_id + " failed: " + r.text());
    }
    if (done) done();
  });
}

void cluster_bus::on_history(const std::string& room_id, const std::string& payload) {
  if (syncing_) {
    early_history_.emplace_back(room_id, payload);
    return;
  }
  if (!live()) return;  // the next sync loads it
  // "<offset> <epoch>\n<frame>"
  const auto space = payload.find(' ');
  const auto newline = payload.find('\n');
  if (space == std::string::npos || newline == std::string::npos || newline < space) return;
  const std::uint64_t offset = std::strtoull(payload.c_str(), nullptr, 10);
  if (offset == 0) return;
  server_.history_frame(room_id, payload.substr(space + 1, newline - space - 1), offset,
                        std::make_shared<const std::string>(payload.substr(newline + 1)));
}

void cluster_bus::publish_history(const std::string& room_id, std::string head, std::size_t size) {
  static const std::string script = std::string(history_keys) + history_publish_script;
  auto alone = [this, room_id, head] {
    // Delivered here only, without an offset: not recoverable, not lost to the members here.
    count_failure();
    server_.fan_out_batched(room_id, std::make_shared<const std::string>(head + "}"), tx_type::room_message);
  };
  const std::string size_text = std::to_string(size);
  const std::string now = std::to_string(static_cast<long long>(now_ms()));
  if (!eval(script.c_str(), {room_id, room_history::new_epoch(), head, size_text, now},
            [weak = weak_from_this(), alone](redis_reply_view r) {
              auto self = weak.lock();
              if (!self || !r || !r.is_error()) return;
              log(log_level::error, "cluster: publishing a room message with history failed: " + r.text());
              alone();
            }))
    alone();
}

void cluster_bus::schedule_tick() {
  // 100 ms: how far behind the cluster's connection count may be.
  timer_.expires_after(std::chrono::milliseconds(100));
  timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || ec || self->stopped_) return;
    self->tick();
    self->schedule_tick();
  });
}

void cluster_bus::tick() {
  if (!live()) return;
  const auto now = std::chrono::steady_clock::now();
  const std::size_t count = server_.connection_count();
  if (count == last_count_ && now < next_heartbeat_) return;
  // A heartbeat 5 times per node_timeout: a server is reaped only after missing several.
  next_heartbeat_ = now + opts_.node_timeout / 5;
  last_count_ = count;
  eval(tick_script, {opts_.node_id, std::to_string(count), std::to_string(opts_.node_timeout.count())},
       [weak = weak_from_this()](redis_reply_view r) {
         auto self = weak.lock();
         if (!self || !r) return;
         if (r.is_error()) return log(log_level::error, "cluster: heartbeat failed: " + r.text());
         if (r.text() == "resync" && self->live()) {
           // The others took this server for dead (it was cut off longer than node_timeout).
           log(log_level::warn, "cluster: this server was reaped; registering again");
           self->live_.store(false, std::memory_order_release);
           self->resync();
         }
       });
}

// --- sending ---

bool cluster_bus::eval(const char* script, std::vector<std::string> args, redis_connection::reply_handler done) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 4);
  argv.emplace_back("EVAL");
  argv.push_back(std::string(prelude) + script);
  argv.emplace_back("0");
  argv.push_back(prefix_);
  for (auto& a : args) argv.push_back(std::move(a));
  return pub_->command(argv, std::move(done));
}

bool cluster_bus::publish(const std::string& channel, std::string payload, redis_connection::reply_handler done) {
  if (!pub_->command({"PUBLISH", channel, payload}, std::move(done))) {
    count_failure();
    return false;
  }
  return true;
}

void cluster_bus::count_failure() { server_.stats().cluster_publish_failed(); }

void cluster_bus::publish_room(const std::string& room_id, const std::shared_ptr<const std::string>& frame) {
  // The payload names its server, so that server skips its own message (it delivered it
  // locally already): "<node id>\n<frame>".
  std::string payload;
  payload.reserve(opts_.node_id.size() + 1 + frame->size());
  payload.append(opts_.node_id).append(1, '\n').append(*frame);
  publish(prefix_ + "room:" + room_id, std::move(payload));
}

void cluster_bus::joined(const std::string& room_id, const member_info& m) {
  auto room = server_.rooms().info(room_id);
  if (!room) return;
  json::object mj = member_json(m);
  json::object rec = room_record(*room);
  json::object ev{{"o", "join"}, {"n", opts_.node_id}, {"r", room_id}, {"room", rec}, {"m", mj}};
  eval(join_script, {opts_.node_id, room_id, m.connection_id, json::serialize(mj), "0", json::serialize(rec),
                     json::serialize(ev)});
}

bool cluster_bus::reserve(const std::string& room_id, const member_info& m, std::size_t max,
                          std::function<void(bool)> done) {
  if (!live()) return false;
  auto room = server_.rooms().info(room_id);
  if (!room) return false;
  json::object mj = member_json(m);
  json::object rec = room_record(*room);
  json::object ev{{"o", "join"}, {"n", opts_.node_id}, {"r", room_id}, {"room", rec}, {"m", mj}};
  return eval(join_script,
              {opts_.node_id, room_id, m.connection_id, json::serialize(mj), std::to_string(max),
               json::serialize(rec), json::serialize(ev)},
              [done = std::move(done)](redis_reply_view r) {
                // No answer (Redis went meanwhile): the join goes ahead on this server's count.
                done(!r || r.is_error() || r.text() != "full");
              });
}

void cluster_bus::left(const std::string& room_id, const std::string& connection_id) {
  json::object ev{{"o", "leave"}, {"n", opts_.node_id}, {"r", room_id}, {"c", connection_id}};
  eval(leave_script, {opts_.node_id, room_id, connection_id, json::serialize(ev)});
}

void cluster_bus::room_created(const std::string& room_id) {
  auto room = server_.rooms().info(room_id);
  if (!room) return;
  json::object rec = room_record(*room);
  json::object ev{{"o", "create"}, {"n", opts_.node_id}, {"room", rec}};
  eval(create_script, {room_id, json::serialize(rec), json::serialize(ev)});
  if (room->history && live()) sync_history(room_id, {});
}

void cluster_bus::room_deleted(const std::string& room_id) {
  json::object ev{{"o", "delete"}, {"n", opts_.node_id}, {"r", room_id}};
  eval(delete_script, {room_id, json::serialize(ev)});
}

void cluster_bus::connection_opened(const std::string& client_id, const std::string& connection_id) {
  if (clients_[client_id]++ == 0) sub_->subscribe({prefix_ + "client:" + client_id});
  connections_.insert(connection_id);
  sub_->subscribe({prefix_ + "conn:" + connection_id});
}

void cluster_bus::connection_closed(const std::string& client_id, const std::string& connection_id) {
  auto it = clients_.find(client_id);
  if (it != clients_.end() && --it->second == 0) {
    clients_.erase(it);
    sub_->unsubscribe({prefix_ + "client:" + client_id});
  }
  if (connections_.erase(connection_id)) sub_->unsubscribe({prefix_ + "conn:" + connection_id});
}

void cluster_bus::publish_direct(bool by_connection, const std::string& target,
                                 const std::shared_ptr<const std::string>& frame, std::function<void(long long)> done) {
  std::string payload;
  payload.reserve(opts_.node_id.size() + 1 + frame->size());
  payload.append(opts_.node_id).append(1, '\n').append(*frame);
  const std::string channel = prefix_ + (by_connection ? "conn:" : "client:") + target;
  bool sent = publish(channel, std::move(payload), [done](redis_reply_view r) {
    if (done) done(r && !r.is_error() ? r.integer() : -1);
  });
  if (!sent && done) done(-1);
}

void cluster_bus::publish_broadcast(const std::string& path, const std::shared_ptr<const std::string>& data,
                                    bool binary) {
  // "<node>\n<b|t><path>\n<data>"
  std::string payload;
  payload.reserve(opts_.node_id.size() + path.size() + data->size() + 3);
  payload.append(opts_.node_id).append(1, '\n').append(1, binary ? 'b' : 't').append(path).append(1, '\n').append(*data);
  publish(prefix_ + "broadcast", std::move(payload));
}

// --- receiving ---

void cluster_bus::on_subscription(redis_reply_view r) {
  if (!r || !r.is_array() || r.size() < 3) return;
  const std::string kind = r.at(0).text();
  if (kind == "psubscribe") {
    if (!subscribed_ && r.at(1).text() == prefix_ + "broadcast") {
      subscribed_ = true;  // the last of the patterns
      on_up();
    }
    return;
  }
  std::string channel, payload;
  if (kind == "pmessage" && r.size() == 4) {
    channel = r.at(2).text();
    payload = r.at(3).text();
  } else if (kind == "message") {
    channel = r.at(1).text();
    payload = r.at(2).text();
  } else {
    return;
  }
  if (channel.compare(0, prefix_.size(), prefix_) != 0) return;
  std::string_view rest = std::string_view(channel).substr(prefix_.size());
  if (rest == "state") return on_state(payload);
  if (rest.substr(0, 6) == "hroom:") return on_history(std::string(rest.substr(6)), payload);
  const auto newline = payload.find('\n');
  if (newline == std::string::npos) return;
  if (std::string_view(payload.data(), newline) == opts_.node_id) return;  // ours
  std::string_view body = std::string_view(payload).substr(newline + 1);
  auto starts = [&](std::string_view p) { return rest.substr(0, p.size()) == p; };
  if (starts("room:")) {
    server_.fan_out_batched(std::string(rest.substr(5)), std::make_shared<const std::string>(body),
                            tx_type::room_message);
  } else if (starts("client:") || starts("conn:")) {
    const bool by_connection = starts("conn:");
    const std::string target(rest.substr(by_connection ? 5 : 7));
    auto frame = std::make_shared<const std::string>(body);
    for (const auto& s : server_.find_targets(by_connection ? std::string() : target, by_connection ? target : std::string()))
      s->send(frame, false, tx_type::direct_message);
  } else if (rest == "broadcast" && !body.empty()) {
    const bool binary = body[0] == 'b';
    const auto cut = body.find('\n');
    if (cut == std::string_view::npos) return;
    server_.broadcast(std::string(body.substr(1, cut - 1)), std::make_shared<const std::string>(body.substr(cut + 1)),
                      binary);
  }
}

void cluster_bus::on_state(const std::string& payload) {
  if (syncing_) {
    early_.push_back(payload);
    return;
  }
  if (!live()) return;  // the next resync loads the state afresh
  json::value ev = parse_or_null(payload);
  if (!ev.is_object()) return;
  log(log_level::debug, "cluster: state " + payload.substr(0, 200));
  if (text_of(ev, "n") == opts_.node_id) return;  // applied here already
  apply(ev);
}

void cluster_bus::apply(const json::value& ev) {
  const std::string op = text_of(ev, "o");
  const std::string node = text_of(ev, "n");
  const json::object& o = ev.get_object();
  if (op == "join") {
    if (const auto* rec = o.if_contains("room")) mirror_room(*rec);
    if (const auto* m = o.if_contains("m")) mirror_join(node, text_of(ev, "r"), *m);
  } else if (op == "leave") {
    mirror_leave(text_of(ev, "r"), text_of(ev, "c"));
  } else if (op == "create") {
    if (const auto* rec = o.if_contains("room")) mirror_room(*rec);
  } else if (op == "delete") {
    mirror_delete(text_of(ev, "r"));
  } else if (op == "count") {
    set_count(node, static_cast<std::size_t>(number_of(ev, "c")));
  } else if (op == "gone") {
    mirror_gone(node);
  } else if (op == "sync") {
    if (const auto* rooms = o.if_contains("rooms"); rooms && rooms->is_array())
      for (const auto& rec : rooms->get_array()) mirror_room(rec);
    std::map<std::string, std::map<std::string, json::value>> members;
    if (const auto* list = o.if_contains("members"); list && list->is_array())
      for (const auto& entry : list->get_array()) {
        const auto* pair = entry.if_array();
        if (!pair || pair->size() != 2 || !(*pair)[0].is_string()) continue;
        members[std::string((*pair)[0].get_string())][text_of((*pair)[1], "c")] = (*pair)[1];
      }
    mirror_replace(node, members);
    set_count(node, static_cast<std::size_t>(number_of(ev, "c")));
  }
}

// --- the mirror ---

void cluster_bus::mirror_room(const json::value& record) {
  if (!record.is_object()) return;
  room_view v;
  v.id = text_of(record, "id");
  if (v.id.empty()) return;
  v.name = text_of(record, "name");
  v.description = text_of(record, "description");
  v.max_connections = static_cast<std::size_t>(number_of(record, "max"));
  if (const auto* md = record.get_object().if_contains("metadata")) v.metadata = json::serialize(*md);
  v.created_at = number_of(record, "created_at");
  if (const auto* e = record.get_object().if_contains("ephemeral")) v.ephemeral = e->is_bool() && e->get_bool();
  if (const auto* h = record.get_object().if_contains("history"); h && h->is_object()) {
    history_options ho;
    ho.size = static_cast<std::size_t>(number_of(*h, "size"));
    ho.ttl_ms = static_cast<std::uint64_t>(number_of(*h, "ttl"));
    if (ho.enabled()) v.history = std::make_shared<room_history>(ho);
  }
  if (server_.rooms().adopt(v) && v.history && live()) sync_history(v.id, {});
}

void cluster_bus::mirror_join(const std::string& node, const std::string& room_id, const json::value& member) {
  member_info m = remote_member(node, member);
  if (m.connection_id.empty() || room_id.empty()) return;
  auto announce = std::make_shared<const std::string>(protocol::presence("join", room_id, m, timestamp_now()));
  member_list before;
  if (server_.rooms().join(room_id, std::move(m), true, &before, join_mode::mirror) == join_result::ok)
    server_.fan_out_batched(before, announce, tx_type::presence);
}

void cluster_bus::mirror_leave(const std::string& room_id, const std::string& connection_id) {
  member_list after;
  auto removed = server_.rooms().leave(room_id, connection_id, &after);
  if (!removed) return;
  server_.fan_out_batched(
      after, std::make_shared<const std::string>(protocol::presence("leave", room_id, *removed, timestamp_now())),
      tx_type::presence);
}

void cluster_bus::mirror_delete(const std::string& room_id) { server_.delete_room(room_id, false); }

void cluster_bus::mirror_replace(const std::string& node,
                                 const std::map<std::string, std::map<std::string, json::value>>& members) {
  // Leaves first (those no longer listed), then joins (those new): each tells the local
  // members of the change once; members listed before and now stay without a word.
  for (const auto& [room_id, m] : server_.rooms().members_of_node(node)) {
    auto room = members.find(room_id);
    if (room == members.end() || !room->second.count(m.connection_id)) mirror_leave(room_id, m.connection_id);
  }
  for (const auto& [room_id, list] : members)
    for (const auto& [connection_id, member] : list)
      if (!server_.rooms().is_member(room_id, connection_id)) mirror_join(node, room_id, member);
}

void cluster_bus::mirror_gone(const std::string& node) {
  for (const auto& [room_id, m] : server_.rooms().members_of_node(node)) mirror_leave(room_id, m.connection_id);
  set_count(node, 0);
  counts_.erase(node);
}

void cluster_bus::set_count(const std::string& node, std::size_t count) {
  if (node.empty() || node == opts_.node_id) return;
  counts_[node] = count;
  std::size_t total = 0;
  for (const auto& [n, c] : counts_) total += c;
  remote_connections_.store(total, std::memory_order_relaxed);
}

}  // namespace roomwire
