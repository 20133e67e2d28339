#include "app_wrap.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "log.hpp"
#include "protocol.hpp"
#include "hooks/hooks.hpp"

namespace roomwire::addon {
namespace {

std::shared_ptr<const std::string> payload(const Napi::Value& v, bool& binary) {
  if (v.IsBuffer()) {
    auto buf = v.As<Napi::Buffer<char>>();
    binary = true;
    return std::make_shared<const std::string>(buf.Data(), buf.Length());
  }
  binary = false;
  return std::make_shared<const std::string>(v.As<Napi::String>().Utf8Value());
}

std::chrono::milliseconds ms(const Napi::Object& o, const char* key,
                             std::chrono::milliseconds fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? std::chrono::milliseconds(v.As<Napi::Number>().Int64Value()) : fallback;
}

std::size_t bytes(const Napi::Object& o, const char* key, std::size_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? static_cast<std::size_t>(v.As<Napi::Number>().Int64Value()) : fallback;
}

}  // namespace

Napi::Function app_wrap::define(Napi::Env env) {
  return DefineClass(env, "App",
                     {
                         InstanceMethod("addWsRoute", &app_wrap::add_ws_route),
                         InstanceMethod("addHttpRoute", &app_wrap::add_http_route),
                         InstanceMethod("addStatic", &app_wrap::add_static),
                         InstanceMethod("listen", &app_wrap::listen),
                         InstanceMethod("close", &app_wrap::close),
                         InstanceMethod("complete", &app_wrap::complete),
                         InstanceMethod("completeMany", &app_wrap::complete_many),
                         InstanceMethod("reply", &app_wrap::reply),
                         InstanceMethod("send", &app_wrap::send),
                         InstanceMethod("broadcast", &app_wrap::broadcast),
                         InstanceMethod("roomBroadcast", &app_wrap::room_broadcast),
                         InstanceMethod("sendAnywhere", &app_wrap::send_anywhere),
                         InstanceMethod("connectionCount", &app_wrap::connection_count),
                         InstanceMethod("clusterLive", &app_wrap::cluster_live),
                         InstanceMethod("setClusterHost", &app_wrap::set_cluster_host),
                         InstanceMethod("setTls", &app_wrap::set_tls),
                         InstanceMethod("closed", &app_wrap::closed),
                         InstanceMethod("createRoom", &app_wrap::create_room),
                         InstanceMethod("deleteRoom", &app_wrap::delete_room),
                         InstanceMethod("sendRoomMessage", &app_wrap::send_room_message),
                         InstanceMethod("sendDirectMessage", &app_wrap::send_direct_message),
                         InstanceMethod("roomInfo", &app_wrap::room_info),
                         InstanceMethod("allRooms", &app_wrap::all_rooms),
                         InstanceMethod("joinRoom", &app_wrap::join_room),
                         InstanceMethod("leaveRoom", &app_wrap::leave_room),
                         InstanceMethod("clientInfo", &app_wrap::client_info),
                         InstanceMethod("userRooms", &app_wrap::user_rooms),
                         InstanceMethod("checkJoin", &app_wrap::check_join),
                         InstanceMethod("presence", &app_wrap::presence),
                         InstanceMethod("closeConnection", &app_wrap::close_connection),
                         InstanceMethod("messageCount", &app_wrap::message_count),
                         InstanceMethod("enableRoomApi", &app_wrap::enable_room_api),
                         InstanceMethod("enableMetrics", &app_wrap::enable_metrics),
#ifdef ROOMWIRE_BENCH_HOOKS
                         InstanceMethod("benchDispatch", &app_wrap::bench_dispatch),
#endif
                     });
}

namespace {
tls_options read_tls(const Napi::Object& t) {
  tls_options o;
  auto text = [&](const char* key, std::string& out) {
    if (Napi::Value v = t.Get(key); v.IsString()) out = v.As<Napi::String>().Utf8Value();
  };
  text("key", o.key);
  text("cert", o.cert);
  text("ca", o.ca);
  text("passphrase", o.passphrase);
  return o;
}
}  // namespace

// new App({ threads, maxBodySize, maxHeaderSize, maxPayload, maxBackpressure,
//           heartbeatInterval, idleTimeout, requestTimeout, maxPendingFrames, …, cluster })
app_wrap::app_wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<app_wrap>(info) {
  Napi::Object o = info[0].As<Napi::Object>();
  options_.threads = static_cast<unsigned>(bytes(o, "threads", 0));
  options_.max_body_size = bytes(o, "maxBodySize", options_.max_body_size);
  options_.max_header_size = bytes(o, "maxHeaderSize", options_.max_header_size);
  options_.max_payload = bytes(o, "maxPayload", options_.max_payload);
  options_.max_backpressure = bytes(o, "maxBackpressure", options_.max_backpressure);
  options_.max_pending_frames = bytes(o, "maxPendingFrames", options_.max_pending_frames);
  options_.heartbeat_interval = ms(o, "heartbeatInterval", options_.heartbeat_interval);
  options_.idle_timeout = ms(o, "idleTimeout", options_.idle_timeout);
  options_.request_timeout = ms(o, "requestTimeout", options_.request_timeout);
  options_.max_connections = bytes(o, "maxConnections", options_.max_connections);
  options_.close_on_backpressure = bytes(o, "closeOnBackpressure", 0) != 0;
  options_.welcome_delay = ms(o, "welcomeDelayMs", options_.welcome_delay);
  options_.max_rooms_per_connection = bytes(o, "maxRoomsPerConnection", options_.max_rooms_per_connection);
  options_.max_id_length = bytes(o, "maxIdLength", options_.max_id_length);
  options_.max_presence_size = bytes(o, "maxPresenceSize", options_.max_presence_size);
  // tls: { key, cert, ca, passphrase } as strings, checked by lib/; the context is made
  // at listen, where a bad key or certificate is reported.
  if (Napi::Value t = o.Get("tls"); t.IsObject()) tls_ = read_tls(t.As<Napi::Object>());
  // cluster: { host, port, password, db, prefix, nodeId, nodeTimeoutMs }, checked by lib/
  if (Napi::Value c = o.Get("cluster"); c.IsObject()) {
    Napi::Object co = c.As<Napi::Object>();
    auto text = [&](const char* key, std::string& out) {
      if (Napi::Value v = co.Get(key); v.IsString()) out = v.As<Napi::String>().Utf8Value();
    };
    text("host", options_.cluster.host);
    text("password", options_.cluster.password);
    text("prefix", options_.cluster.prefix);
    text("nodeId", options_.cluster.node_id);
    options_.cluster.port = static_cast<int>(bytes(co, "port", 0));
    options_.cluster.db = static_cast<int>(bytes(co, "db", 0));
    options_.cluster.node_timeout = ms(co, "nodeTimeoutMs", options_.cluster.node_timeout);
  }
}

app_wrap::~app_wrap() {
  // Only reached when never listening or already closed (listening holds a reference).
  if (server_) server_->stop(std::chrono::milliseconds(0));
}

// addWsRoute(pattern, handlerId, callbackMask, acks, autoCreateRooms, maxMessagesPerSecond,
//            historySize, historyTtlMs, protocols: string[], requireProtocol,
//            allowedOrigins: string[] | null (lower case), requireOrigin,
//            compression: 0 off | 1 shared | 2 dedicated, compressionThreshold,
//            protocol: 0 rnode | 1 raw | 2 events | 3 hooks, joinTopics, leaveTopics, readEvents,
//            hooks: JSON text | undefined, maxOutput, maxVariables, maxVariableBytes, maxSteps)
// A hooks program that does not compile throws an Error whose `hookPath` is the key path
// of what is wrong (strings and indices).
Napi::Value app_wrap::add_ws_route(const Napi::CallbackInfo& info) {
  ws_route_options r;
  r.pattern = info[0].As<Napi::String>().Utf8Value();
  r.handler_id = info[1].As<Napi::Number>().Uint32Value();
  r.callbacks = info[2].As<Napi::Number>().Uint32Value();
  r.acks = info[3].As<Napi::Boolean>().Value();
  r.auto_create_rooms = info[4].ToBoolean().Value();
  r.max_messages_per_second = info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
  r.history.size = info[6].IsNumber() ? static_cast<std::size_t>(info[6].As<Napi::Number>().Int64Value()) : 0;
  r.history.ttl_ms = info[7].IsNumber() ? static_cast<std::uint64_t>(info[7].As<Napi::Number>().Int64Value()) : 0;
  auto strings = [](const Napi::Value& v) {
    std::vector<std::string> out;
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    return out;
  };
  r.protocols = strings(info[8]);
  r.require_protocol = info[9].ToBoolean().Value();
  r.origins_listed = info[10].IsArray();
  r.allowed_origins = strings(info[10]);
  r.require_origin = info[11].ToBoolean().Value();
  r.compression = static_cast<compression_mode>(info[12].As<Napi::Number>().Uint32Value());
  r.compression_threshold = static_cast<std::size_t>(info[13].As<Napi::Number>().Int64Value());
  r.protocol = static_cast<protocol_kind>(info[14].As<Napi::Number>().Uint32Value());
  r.join_topics = strings(info[15]);
  r.leave_topics = strings(info[16]);
  r.read_events = strings(info[17]);
  if (r.protocol == protocol_kind::hooks) {
    hooks::limits lim;
    auto size_at = [&](std::size_t i, std::size_t fallback) {
      return info[i].IsNumber() ? static_cast<std::size_t>(info[i].As<Napi::Number>().Int64Value()) : fallback;
    };
    lim.max_output = size_at(19, lim.max_output);
    lim.max_variables = size_at(20, lim.max_variables);
    lim.max_variable_bytes = size_at(21, lim.max_variable_bytes);
    lim.max_steps = size_at(22, lim.max_steps);
    try {
      r.hooks = hooks::compile(info[18].As<Napi::String>().Utf8Value(), lim);
    } catch (const hooks::compile_error& e) {
      Napi::Error error = Napi::Error::New(info.Env(), e.what());
      Napi::Array where = Napi::Array::New(info.Env(), e.where().size());
      for (std::size_t i = 0; i < e.where().size(); ++i) {
        const auto& seg = e.where()[i];
        where.Set(static_cast<uint32_t>(i), seg.index >= 0 ? Napi::Value(Napi::Number::New(info.Env(), static_cast<double>(seg.index)))
                                                           : Napi::Value(Napi::String::New(info.Env(), seg.key)));
      }
      error.Set("hookPath", where);
      throw error;
    } catch (const std::exception& e) {
      throw Napi::TypeError::New(info.Env(), e.what());
    }
  }
  try {
    route_pattern check(r.pattern);
    if (server_) server_->add_ws_route(r);
  } catch (const std::exception& e) {
    throw Napi::TypeError::New(info.Env(), e.what());
  }
  ws_routes_.push_back(std::move(r));
  return info.Env().Undefined();
}

// addHttpRoute(method, pattern, routeId)
Napi::Value app_wrap::add_http_route(const Napi::CallbackInfo& info) {
  http_route_options r;
  r.method = info[0].As<Napi::String>().Utf8Value();
  r.pattern = info[1].As<Napi::String>().Utf8Value();
  r.route_id = info[2].As<Napi::Number>().Uint32Value();
  try {
    route_pattern check(r.pattern);
    if (server_) server_->add_http_route(r);
  } catch (const std::exception& e) {
    throw Napi::TypeError::New(info.Env(), e.what());
  }
  http_routes_.push_back(std::move(r));
  return info.Env().Undefined();
}

// addStatic(prefix, root, index, maxAge, etag, lastModified, dotfiles): lib/ has checked
// them and resolved `root` to its real path.
Napi::Value app_wrap::add_static(const Napi::CallbackInfo& info) {
  static_mount m;
  std::string prefix = info[0].As<Napi::String>().Utf8Value(), ignored_path;
  string_pairs ignored_query;
  if (!split_target(prefix, ignored_path, m.prefix, ignored_query))
    throw Napi::TypeError::New(info.Env(), "bad static prefix: " + prefix);
  m.root = info[1].As<Napi::String>().Utf8Value();
  m.index = info[2].As<Napi::String>().Utf8Value();
  m.max_age = info[3].As<Napi::Number>().Int64Value();
  m.etag = info[4].ToBoolean().Value();
  m.last_modified = info[5].ToBoolean().Value();
  m.dotfiles = info[6].ToBoolean().Value();
  if (server_) server_->add_static(m);
  statics_.push_back(std::move(m));
  return info.Env().Undefined();
}

// listen(host, port, dispatch) -> bound port; throws Error{code:'EADDRINUSE'...}
Napi::Value app_wrap::listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (server_) throw Napi::Error::New(env, "already listening");
  std::string host = info[0].As<Napi::String>().Utf8Value();
  auto port = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  Napi::Function dispatch = info[2].As<Napi::Function>();

  auto dispatcher = std::make_shared<js_dispatcher>();
  auto srv = std::make_shared<server>(options_, dispatcher, rooms_, event_ids_);
  for (const auto& r : ws_routes_) srv->add_ws_route(r);
  for (const auto& r : http_routes_) srv->add_http_route(r);
  for (const auto& m : statics_) srv->add_static(m);
  if (!room_api_prefix_.empty()) srv->enable_room_api(room_api_prefix_);
  if (metrics_) srv->enable_metrics();
  if (tls_.enabled()) {
    try {
      srv->set_tls(std::make_shared<tls_context>(tls_));
    } catch (const std::exception& e) {
      Napi::Error err = Napi::Error::New(env, e.what());
      err.Set("tls", Napi::Boolean::New(env, true));
      throw err;
    }
  }
  error_code ec;
  unsigned short bound = srv->listen(host, port, ec);
  if (ec) {
    Napi::Error err = Napi::Error::New(env, "listen " + host + ":" + std::to_string(port) +
                                                ": " + ec.message());
    err.Set("errno", Napi::Number::New(env, ec.value()));
    throw err;
  }
  // The server is held for the whole batch: a callback may call closed() and drop the
  // last other reference, and the batch's gathered work must still be posted or dropped
  // by the server that gathered it.
  std::weak_ptr<server> weak = srv;
  auto held = std::make_shared<std::shared_ptr<server>>();
  dispatcher->set_batch_hooks(
      [weak, held] {
        if (auto s = weak.lock()) {
          s->defer_begin();
          *held = std::move(s);
        }
      },
      [held] {
        if (auto s = std::exchange(*held, nullptr)) s->defer_end();
      });
  dispatcher->start(env, dispatch);
  server_ = std::move(srv);
  dispatcher_ = std::move(dispatcher);
  Ref();  // listening keeps this object alive until the server has stopped
  return Napi::Number::New(env, bound);
}

// close(timeoutMs): the `stopped` event (kind 11) reports the end.
Napi::Value app_wrap::close(const Napi::CallbackInfo& info) {
  if (!server_ || closing_) return Napi::Boolean::New(info.Env(), false);
  closing_ = true;
  // Called from a callback, the sends and verdicts it made so far are still gathered on
  // this thread: they go ahead of the closes.
  server_->post_deferred();
  auto timeout = std::chrono::milliseconds(info[0].As<Napi::Number>().Int64Value());
  std::shared_ptr<server> srv = server_;
  std::shared_ptr<js_dispatcher> dispatcher = dispatcher_;
  dispatcher->run_stopper([srv, dispatcher, timeout] {
    srv->stop(timeout);
    event done;
    done.kind = event_kind::stopped;
    dispatcher->emit(std::move(done));
    dispatcher->release();
  });
  return Napi::Boolean::New(info.Env(), true);
}

namespace {

/// Decodes one verdict from its plain values (see lib/events.ts).
verdict read_verdict(const Napi::Value& cancel, const Napi::Value& error, const Napi::Value& status,
                     const Napi::Value& modified, const Napi::Value& client, const Napi::Value& protocol) {
  verdict v;
  v.cancel = cancel.ToBoolean().Value();
  if (error.IsString()) {
    v.has_error = true;
    v.error = error.As<Napi::String>().Utf8Value();
  }
  v.status = status.IsNumber() ? status.As<Napi::Number>().Int32Value() : 0;
  if (modified.IsString()) {
    v.has_modified = true;
    v.modified = modified.As<Napi::String>().Utf8Value();
  }
  if (client.IsString()) {
    v.has_client_id = true;
    v.client_id = client.As<Napi::String>().Utf8Value();
  }
  if (protocol.IsString()) {
    v.has_protocol = true;
    v.protocol = protocol.As<Napi::String>().Utf8Value();
  }
  return v;
}

std::uint64_t event_id(const Napi::Value& v) {
  return static_cast<std::uint64_t>(v.As<Napi::Number>().Int64Value());
}

}  // namespace

// complete(id, cancel, error?, status, modified?, clientId?, protocol?)
Napi::Value app_wrap::complete(const Napi::CallbackInfo& info) {
  if (!server_) return info.Env().Undefined();
  server_->complete(event_id(info[0]), read_verdict(info[1], info[2], info[3], info[4], info[5], info[6]));
  return info.Env().Undefined();
}

// completeMany(plainIds: Float64Array, [id, cancel, error?, status, modified?, clientId?, protocol?, ...],
// cancelledIds?: Float64Array): one call per batch; the events in `plainIds` go on unchanged
// and those in `cancelledIds` are cancelled silently (the two common verdicts, read without
// a property access each).
Napi::Value app_wrap::complete_many(const Napi::CallbackInfo& info) {
  if (!server_) return info.Env().Undefined();
  auto plain = info[0].As<Napi::Float64Array>();
  Napi::Array a = info[1].As<Napi::Array>();
  const uint32_t n = a.Length();
  const bool has_cancelled = info[2].IsTypedArray();
  Napi::Float64Array cancelled = has_cancelled ? info[2].As<Napi::Float64Array>() : Napi::Float64Array();
  const std::size_t n_cancelled = has_cancelled ? cancelled.ElementLength() : 0;
  std::vector<std::pair<std::uint64_t, verdict>> verdicts;
  verdicts.reserve(plain.ElementLength() + n_cancelled + n / 7);
  for (std::size_t i = 0; i < plain.ElementLength(); ++i)
    verdicts.emplace_back(static_cast<std::uint64_t>(plain.Data()[i]), verdict{});
  for (std::size_t i = 0; i < n_cancelled; ++i) {
    verdict v;
    v.cancel = true;
    verdicts.emplace_back(static_cast<std::uint64_t>(cancelled.Data()[i]), std::move(v));
  }
  for (uint32_t i = 0; i + 6 < n; i += 7)
    verdicts.emplace_back(event_id(a.Get(i)), read_verdict(a.Get(i + 1), a.Get(i + 2), a.Get(i + 3), a.Get(i + 4),
                                                           a.Get(i + 5), a.Get(i + 6)));
  server_->complete_many(std::move(verdicts));
  return info.Env().Undefined();
}

// reply(id, status, headersFlat, body: string | Buffer)
Napi::Value app_wrap::reply(const Napi::CallbackInfo& info) {
  if (!server_) return info.Env().Undefined();
  verdict v;
  auto id = static_cast<std::uint64_t>(info[0].As<Napi::Number>().Int64Value());
  v.status = info[1].As<Napi::Number>().Int32Value();
  Napi::Array headers = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i + 1 < headers.Length(); i += 2)
    v.headers.emplace_back(headers.Get(i).As<Napi::String>().Utf8Value(),
                           headers.Get(i + 1).As<Napi::String>().Utf8Value());
  bool binary;
  v.body = *payload(info[3], binary);
  server_->complete(id, std::move(v));
  return info.Env().Undefined();
}

// send(connectionId, data) -> -1 unknown, else send_status
Napi::Value app_wrap::send(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Number::New(info.Env(), -1);
  bool binary;
  auto data = payload(info[1], binary);
  auto status = server_->send(info[0].As<Napi::String>().Utf8Value(), std::move(data), binary);
  return Napi::Number::New(info.Env(), status ? static_cast<int>(*status) : -1);
}

// broadcast(path, data, localOnly) -> number of connections on this server
Napi::Value app_wrap::broadcast(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Number::New(info.Env(), 0);
  bool binary;
  auto data = payload(info[1], binary);
  auto n = server_->broadcast(info[0].As<Napi::String>().Utf8Value(), std::move(data), binary,
                              info[2].ToBoolean().Value());
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// roomBroadcast(roomId, text) -> whether the room exists here: the frame as it is to its
// members, on every server of a cluster (an events route's emit)
Napi::Value app_wrap::room_broadcast(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Boolean::New(info.Env(), false);
  auto frame = std::make_shared<const std::string>(info[1].As<Napi::String>().Utf8Value());
  return Napi::Boolean::New(info.Env(), server_->send_room_frame(info[0].As<Napi::String>().Utf8Value(), std::move(frame)));
}

// sendAnywhere(connectionId, text) -> 'ok' | 'backpressure' | 'dropped' for a connection
// here; 'published' when it is not here and the cluster carries the frame to the server
// holding it (if any does); null when it is nowhere this server can reach.
Napi::Value app_wrap::send_anywhere(const Napi::CallbackInfo& info) {
  if (!server_) return info.Env().Null();
  const std::string id = info[0].As<Napi::String>().Utf8Value();
  auto frame = std::make_shared<const std::string>(info[1].As<Napi::String>().Utf8Value());
  if (auto status = server_->send(id, frame, false)) {
    const char* names[] = {"ok", "backpressure", "dropped"};
    return Napi::String::New(info.Env(), names[static_cast<int>(*status)]);
  }
  if (server_->cluster_live() && server_->publish_direct(true, id, std::move(frame), nullptr))
    return Napi::String::New(info.Env(), "published");
  return info.Env().Null();
}

// clusterLive() -> whether the cluster bus is connected and in step
Napi::Value app_wrap::cluster_live(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), server_ && server_->cluster_live());
}

// setTls({ key, cert, ca, passphrase }): new connections use this material from now on;
// throws (keeping the old) when it is not valid.
Napi::Value app_wrap::set_tls(const Napi::CallbackInfo& info) {
  tls_options o = read_tls(info[0].As<Napi::Object>());
  std::shared_ptr<tls_context> ctx;
  try {
    ctx = std::make_shared<tls_context>(o);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  tls_ = std::move(o);
  if (server_) server_->set_tls(std::move(ctx));
  return info.Env().Undefined();
}

// setClusterHost(address): the cluster's Redis host name, resolved by lib/ before listen
Napi::Value app_wrap::set_cluster_host(const Napi::CallbackInfo& info) {
  options_.cluster.host = info[0].As<Napi::String>().Utf8Value();
  return info.Env().Undefined();
}

// connectionCount(localOnly) -> this server's connections, or the cluster's
Napi::Value app_wrap::connection_count(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Number::New(info.Env(), 0);
  const bool local_only = info[0].ToBoolean().Value();
  return Napi::Number::New(info.Env(), static_cast<double>(local_only ? server_->connection_count()
                                                                      : server_->cluster_connection_count()));
}

}  // namespace roomwire::addon

namespace roomwire::addon {

// closed(): called by lib/ once the `stopped` event arrived; the object may now be collected.
Napi::Value app_wrap::closed(const Napi::CallbackInfo& info) {
  if (server_ && closing_) {
    server_.reset();
    dispatcher_.reset();
    closing_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

}  // namespace roomwire::addon

namespace roomwire::addon {
namespace {

std::string str(const Napi::CallbackInfo& info, std::size_t i) {
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Value status_value(Napi::Env env, std::optional<send_status> st) {
  return Napi::Number::New(env, st ? static_cast<int>(*st) : -1);
}

}  // namespace

// createRoom(name, description, maxConnections, metadataJson, ephemeral, id, historySize,
//            historyTtlMs) -> id, or '' when `id` is given and taken
Napi::Value app_wrap::create_room(const Napi::CallbackInfo& info) {
  history_options history;
  history.size = info[6].IsNumber() ? static_cast<std::size_t>(info[6].As<Napi::Number>().Int64Value()) : 0;
  history.ttl_ms = info[7].IsNumber() ? static_cast<std::uint64_t>(info[7].As<Napi::Number>().Int64Value()) : 0;
  std::string id = rooms_->create(str(info, 0), str(info, 1),
                                  static_cast<std::size_t>(info[2].As<Napi::Number>().Int64Value()),
                                  str(info, 3), info[4].ToBoolean().Value(), str(info, 5), history);
  if (server_ && !id.empty()) server_->cluster_room_created(id);  // before listen: registered when the cluster is joined
  return Napi::String::New(info.Env(), id);
}

// deleteRoom(id) -> boolean
Napi::Value app_wrap::delete_room(const Napi::CallbackInfo& info) {
  bool ok = server_ ? server_->delete_room(str(info, 0)) : rooms_->remove(str(info, 0));
  return Napi::Boolean::New(info.Env(), ok);
}

// sendRoomMessage(roomId, message) -> status or -1 (unknown room)
Napi::Value app_wrap::send_room_message(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Number::New(info.Env(), rooms_->info(str(info, 0)) ? 0 : -1);
  return status_value(info.Env(), server_->send_room_message(str(info, 0), str(info, 1)));
}

// sendDirectMessage(clientOrConnectionId, message) -> status or -1 (no such target)
Napi::Value app_wrap::send_direct_message(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Number::New(info.Env(), -1);
  return status_value(info.Env(), server_->send_direct_message(str(info, 0), str(info, 1)));
}

// roomInfo(id) -> JSON text or null
Napi::Value app_wrap::room_info(const Napi::CallbackInfo& info) {
  auto view = rooms_->info(str(info, 0));
  if (!view) return info.Env().Null();
  return Napi::String::New(info.Env(), boost::json::serialize(protocol::room_object(*view)));
}

// allRooms() -> JSON text of an array
Napi::Value app_wrap::all_rooms(const Napi::CallbackInfo& info) {
  boost::json::array list;
  for (const auto& r : rooms_->all()) list.push_back(protocol::room_object(r));
  return Napi::String::New(info.Env(), boost::json::serialize(list));
}

// joinRoom(connectionId, roomId, token): the outcome arrives as an op_result event (id = token)
Napi::Value app_wrap::join_room(const Napi::CallbackInfo& info) {
  auto token = static_cast<std::uint64_t>(info[2].As<Napi::Number>().Int64Value());
  if (!server_) return Napi::Boolean::New(info.Env(), false);
  std::weak_ptr<js_dispatcher> sink = dispatcher_;
  server_->join_room(str(info, 0), str(info, 1), [sink, token](join_result result, std::string error) {
    auto d = sink.lock();
    if (!d) return;
    event ev;
    ev.kind = event_kind::op_result;
    ev.id = token;
    ev.code = static_cast<int>(result);  // lib/native.ts: JoinResult
    ev.reason = std::move(error);
    d->emit(std::move(ev));
  });
  return Napi::Boolean::New(info.Env(), true);
}

// checkJoin(connectionId, roomId) -> JoinResult: what a join would meet now, before onJoinRoom
Napi::Value app_wrap::check_join(const Napi::CallbackInfo& info) {
  join_result r = server_ ? server_->check_join(str(info, 0), str(info, 1)) : join_result::unknown_connection;
  return Napi::Number::New(info.Env(), static_cast<int>(r));
}

// leaveRoom(connectionId, roomId) -> boolean
Napi::Value app_wrap::leave_room(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Boolean::New(info.Env(), false);
  return Napi::Boolean::New(info.Env(), server_->leave_room(str(info, 0), str(info, 1)));
}

// clientInfo(connectionId) -> JSON text or null
Napi::Value app_wrap::client_info(const Napi::CallbackInfo& info) {
  auto s = server_ ? server_->find(str(info, 0)) : nullptr;
  if (!s) return info.Env().Null();
  return Napi::String::New(info.Env(), boost::json::serialize(server_->client_info(*s)));
}

// userRooms(connectionId) -> string[] or null (unknown connection)
Napi::Value app_wrap::user_rooms(const Napi::CallbackInfo& info) {
  std::string id = str(info, 0);
  if (!server_ || !server_->find(id)) return info.Env().Null();
  auto ids = rooms_->rooms_of(id);
  Napi::Array a = Napi::Array::New(info.Env(), ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) a.Set(i, Napi::String::New(info.Env(), ids[i]));
  return a;
}

// presence(roomId) -> JSON text of the members, or null
Napi::Value app_wrap::presence(const Napi::CallbackInfo& info) {
  auto members = rooms_->members(str(info, 0));
  if (!members) return info.Env().Null();
  return Napi::String::New(info.Env(), protocol::members_json(*members));
}

// closeConnection(connectionId, code, reason) -> boolean
Napi::Value app_wrap::close_connection(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Boolean::New(info.Env(), false);
  return Napi::Boolean::New(info.Env(), server_->close_connection(
      str(info, 0), info[1].As<Napi::Number>().Int32Value(), str(info, 2)));
}

Napi::Value app_wrap::message_count(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), server_ ? static_cast<double>(server_->message_count()) : 0);
}

// enableRoomApi(prefix)
Napi::Value app_wrap::enable_room_api(const Napi::CallbackInfo& info) {
  room_api_prefix_ = str(info, 0);
  if (server_) server_->enable_room_api(room_api_prefix_);
  return info.Env().Undefined();
}

// enableMetrics()
Napi::Value app_wrap::enable_metrics(const Napi::CallbackInfo& info) {
  metrics_ = true;
  if (server_) server_->enable_metrics();
  return info.Env().Undefined();
}

#ifdef ROOMWIRE_BENCH_HOOKS
// benchDispatch(count, handlerId, window): for bench/, not part of the API. A thread of its
// own emits `count` message events for route `handlerId`, each awaiting its verdict through
// the server like a frame's, keeping at most `window` unanswered: the JS boundary (batched
// thread-safe calls, events built, callbacks run, verdicts returned) without sockets.
Napi::Value app_wrap::bench_dispatch(const Napi::CallbackInfo& info) {
  if (!server_ || closing_) return Napi::Boolean::New(info.Env(), false);
  auto count = static_cast<std::uint64_t>(info[0].As<Napi::Number>().Int64Value());
  auto route = info[1].As<Napi::Number>().Uint32Value();
  auto window = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(info[2].As<Napi::Number>().Int64Value()));
  std::shared_ptr<server> srv = server_;
  std::shared_ptr<js_dispatcher> sink = dispatcher_;
  std::thread([srv, sink, count, route, window] {
    auto answered = std::make_shared<std::atomic<std::uint64_t>>(0);
    for (std::uint64_t i = 0; i < count; ++i) {
      while (i - answered->load(std::memory_order_acquire) >= window) {
        if (srv->stopping()) return;  // unanswered verdicts are dropped at stop
        std::this_thread::yield();
      }
      if (srv->stopping()) return;
      event ev;
      ev.kind = event_kind::message;
      ev.route = route;
      ev.time_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
      ev.connection_id = "bench-" + std::to_string(i % 1000);
      ev.client_id = ev.connection_id;
      ev.path = "/bench";
      ev.data = R"({"type":"bench"})";
      ev.id = srv->await_verdict([answered](verdict&&) { answered->fetch_add(1, std::memory_order_release); });
      sink->emit(std::move(ev));
    }
  }).detach();
  return Napi::Boolean::New(info.Env(), true);
}

#endif  // ROOMWIRE_BENCH_HOOKS

}  // namespace roomwire::addon
