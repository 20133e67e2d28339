#include "app_wrap.hpp"

#include <chrono>

#include "log.hpp"

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
                         InstanceMethod("listen", &app_wrap::listen),
                         InstanceMethod("close", &app_wrap::close),
                         InstanceMethod("complete", &app_wrap::complete),
                         InstanceMethod("reply", &app_wrap::reply),
                         InstanceMethod("send", &app_wrap::send),
                         InstanceMethod("broadcast", &app_wrap::broadcast),
                         InstanceMethod("connectionCount", &app_wrap::connection_count),
                         InstanceMethod("closed", &app_wrap::closed),
                     });
}

// new App({ threads, maxBodySize, maxHeaderSize, maxPayload, maxBackpressure,
//           heartbeatInterval, idleTimeout, requestTimeout, maxPendingFrames })
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
}

app_wrap::~app_wrap() {
  // Only reached when never listening or already closed (listening holds a reference).
  if (server_) server_->stop(std::chrono::milliseconds(0));
}

// addWsRoute(pattern, handlerId, callbackMask, acks)
Napi::Value app_wrap::add_ws_route(const Napi::CallbackInfo& info) {
  ws_route_options r;
  r.pattern = info[0].As<Napi::String>().Utf8Value();
  r.handler_id = info[1].As<Napi::Number>().Uint32Value();
  r.callbacks = info[2].As<Napi::Number>().Uint32Value();
  r.acks = info[3].As<Napi::Boolean>().Value();
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

// listen(host, port, dispatch) -> bound port; throws Error{code:'EADDRINUSE'...}
Napi::Value app_wrap::listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (server_) throw Napi::Error::New(env, "already listening");
  std::string host = info[0].As<Napi::String>().Utf8Value();
  auto port = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  Napi::Function dispatch = info[2].As<Napi::Function>();

  auto dispatcher = std::make_shared<js_dispatcher>();
  auto srv = std::make_shared<server>(options_, dispatcher);
  for (const auto& r : ws_routes_) srv->add_ws_route(r);
  for (const auto& r : http_routes_) srv->add_http_route(r);
  error_code ec;
  unsigned short bound = srv->listen(host, port, ec);
  if (ec) {
    Napi::Error err = Napi::Error::New(env, "listen " + host + ":" + std::to_string(port) +
                                                ": " + ec.message());
    err.Set("errno", Napi::Number::New(env, ec.value()));
    throw err;
  }
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

// complete(id, cancel, error?, status, modified?, clientId?)
Napi::Value app_wrap::complete(const Napi::CallbackInfo& info) {
  if (!server_) return info.Env().Undefined();
  verdict v;
  auto id = static_cast<std::uint64_t>(info[0].As<Napi::Number>().Int64Value());
  v.cancel = info[1].ToBoolean().Value();
  if (info[2].IsString()) {
    v.has_error = true;
    v.error = info[2].As<Napi::String>().Utf8Value();
  }
  v.status = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  if (info[4].IsString()) {
    v.has_modified = true;
    v.modified = info[4].As<Napi::String>().Utf8Value();
  }
  if (info[5].IsString()) {
    v.has_client_id = true;
    v.client_id = info[5].As<Napi::String>().Utf8Value();
  }
  server_->complete(id, std::move(v));
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

// broadcast(path, data) -> number of connections
Napi::Value app_wrap::broadcast(const Napi::CallbackInfo& info) {
  if (!server_) return Napi::Number::New(info.Env(), 0);
  bool binary;
  auto data = payload(info[1], binary);
  auto n = server_->broadcast(info[0].As<Napi::String>().Utf8Value(), std::move(data), binary);
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

Napi::Value app_wrap::connection_count(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), server_ ? static_cast<double>(server_->connection_count()) : 0);
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
