#include "js_dispatcher.hpp"

#include "log.hpp"

namespace roomwire::addon {

void js_dispatcher::start(Napi::Env env, Napi::Function fn) {
  auto* fin = new finalize_data{shared_from_this()};
  tsfn_ = tsfn_t::New(env, fn, "roomwire.events", 0, 1, this, &js_dispatcher::on_finalize, fin);
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = true;
}

void js_dispatcher::emit(event&& ev) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    wake = queue_.empty();
    queue_.push_back(std::move(ev));
  }
  if (!wake) return;
  // The queue is unbounded (size 0), so napi_queue_full cannot happen; napi_closing means
  // the environment is going away and the events can no longer be delivered.
  napi_status status = tsfn_.NonBlockingCall();
  if (status != napi_ok) log(log_level::debug, "event delivery refused: the environment is closing");
}

void js_dispatcher::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    open_ = false;
  }
  tsfn_.Release();
}

void js_dispatcher::run_stopper(std::function<void()> job) {
  stopper_ = std::thread(std::move(job));
}

void js_dispatcher::on_finalize(Napi::Env, finalize_data* data, js_dispatcher* self) {
  if (self->stopper_.joinable()) self->stopper_.join();
  delete data;
}

void js_dispatcher::set_batch_hooks(std::function<void()> before, std::function<void()> after) {
  before_batch_ = std::move(before);
  after_batch_ = std::move(after);
}

event_keys::event_keys(Napi::Env env)
    : kind(Napi::String::New(env, "kind")),
      id(Napi::String::New(env, "id")),
      route(Napi::String::New(env, "route")),
      time(Napi::String::New(env, "time")),
      connection_id(Napi::String::New(env, "connectionId")),
      client_id(Napi::String::New(env, "clientId")),
      path(Napi::String::New(env, "path")),
      data(Napi::String::New(env, "data")),
      code(Napi::String::New(env, "code")),
      reason(Napi::String::New(env, "reason")),
      error_type(Napi::String::New(env, "errorType")),
      method(Napi::String::New(env, "method")),
      room_id(Napi::String::New(env, "roomId")),
      target(Napi::String::New(env, "target")),
      message(Napi::String::New(env, "message")),
      params(Napi::String::New(env, "params")),
      query(Napi::String::New(env, "query")),
      headers(Napi::String::New(env, "headers")) {}

Napi::Object event_to_js(Napi::Env env, const event_keys& k, event& ev) {
  Napi::Object o = Napi::Object::New(env);
  o.Set(k.kind, Napi::Number::New(env, static_cast<int>(ev.kind)));
  o.Set(k.id, Napi::Number::New(env, static_cast<double>(ev.id)));
  o.Set(k.route, Napi::Number::New(env, ev.route));
  o.Set(k.time, Napi::Number::New(env, ev.time_ms));
  if (!ev.connection_id.empty()) o.Set(k.connection_id, Napi::String::New(env, ev.connection_id));
  if (!ev.client_id.empty()) o.Set(k.client_id, Napi::String::New(env, ev.client_id));
  if (!ev.path.empty()) o.Set(k.path, Napi::String::New(env, ev.path));
  if (ev.binary || ev.kind == event_kind::http_request) {
    o.Set(k.data, Napi::Buffer<char>::Copy(env, ev.data.data(), ev.data.size()));
  } else if (!ev.data.empty() || ev.kind == event_kind::message || ev.kind == event_kind::ping ||
             ev.kind == event_kind::pong) {
    o.Set(k.data, Napi::String::New(env, ev.data));
  }
  if (ev.kind == event_kind::close) o.Set(k.code, Napi::Number::New(env, ev.code));
  if (!ev.reason.empty()) o.Set(k.reason, Napi::String::New(env, ev.reason));
  if (!ev.error_type.empty()) o.Set(k.error_type, Napi::String::New(env, ev.error_type));
  if (!ev.method.empty()) o.Set(k.method, Napi::String::New(env, ev.method));
  if (!ev.room_id.empty()) o.Set(k.room_id, Napi::String::New(env, ev.room_id));
  if (!ev.target_client_id.empty()) o.Set(k.target, Napi::String::New(env, ev.target_client_id));
  if (ev.kind == event_kind::room_message || ev.kind == event_kind::direct_message)
    o.Set(k.message, Napi::String::New(env, ev.message));
  if (ev.kind == event_kind::op_result) o.Set(k.code, Napi::Number::New(env, ev.code));
  auto flat = [&](const Napi::String& name, const string_pairs& pairs) {
    if (pairs.empty()) return;
    Napi::Array a = Napi::Array::New(env, pairs.size() * 2);
    uint32_t i = 0;
    for (const auto& [k, v] : pairs) {
      a.Set(i++, Napi::String::New(env, k));
      a.Set(i++, Napi::String::New(env, v));
    }
    o.Set(name, a);
  };
  flat(k.params, ev.params);
  flat(k.query, ev.query);
  flat(k.headers, ev.headers);
  return o;
}

void js_dispatcher::call_js(Napi::Env env, Napi::Function fn, js_dispatcher* self, void*) {
  std::vector<event> batch;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    batch.swap(self->queue_);
  }
  // A null env means the function is being torn down: the batch is simply freed.
  if (env == nullptr || batch.empty()) return;
  Napi::HandleScope scope(env);
  event_keys keys(env);
  Napi::Array arr = Napi::Array::New(env, batch.size());
  for (uint32_t i = 0; i < batch.size(); ++i) arr.Set(i, event_to_js(env, keys, batch[i]));
  if (self->before_batch_) self->before_batch_();
  try {
    fn.Call({arr});
  } catch (const Napi::Error& e) {
    log(log_level::error, std::string("event dispatcher threw: ") + e.Message());
  }
  if (self->after_batch_) self->after_batch_();
}

}  // namespace roomwire::addon
