#include "js_dispatcher.hpp"

#include <string_view>

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
  if (wake) wake_js();
}

void js_dispatcher::wake_js() {
  // The queue is unbounded (size 0), so napi_queue_full cannot happen; napi_closing means
  // the environment is going away and the events can no longer be delivered.
  napi_status status = tsfn_.NonBlockingCall();
  if (status != napi_ok) log(log_level::debug, "event delivery refused: the environment is closing");
}

void js_dispatcher::emit_many(std::vector<event>& events) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return events.clear();
    wake = queue_.empty();
    if (wake) {
      queue_.swap(events);
    } else {
      for (auto& ev : events) queue_.push_back(std::move(ev));
    }
  }
  events.clear();
  if (wake) wake_js();
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
    : code(Napi::String::New(env, "code")),
      reason(Napi::String::New(env, "reason")),
      error_type(Napi::String::New(env, "errorType")),
      method(Napi::String::New(env, "method")),
      room_id(Napi::String::New(env, "roomId")),
      target(Napi::String::New(env, "target")),
      target_connection(Napi::String::New(env, "targetConnection")),
      message(Napi::String::New(env, "message")),
      params(Napi::String::New(env, "params")),
      query(Napi::String::New(env, "query")),
      headers(Napi::String::New(env, "headers")) {}

namespace {

/// The data of an event as JS sees it: a Buffer, a string, or nothing.
napi_value data_value(Napi::Env env, const event& ev) {
  if (ev.binary || ev.kind == event_kind::http_request)
    return Napi::Buffer<char>::Copy(env, ev.data.data(), ev.data.size());
  if (!ev.data.empty() || ev.kind == event_kind::message || ev.kind == event_kind::ping ||
      ev.kind == event_kind::pong)
    return Napi::String::New(env, ev.data);
  return nullptr;
}

}  // namespace

Napi::Value event_extras(Napi::Env env, std::optional<event_keys>& keys, const event& ev) {
  // The object, and the batch's property names, are made only once there is a field to set.
  Napi::Object o;
  auto set = [&](Napi::String event_keys::*name, Napi::Value value) {
    if (!keys) keys.emplace(env);
    if (o.IsEmpty()) o = Napi::Object::New(env);
    o.Set((*keys).*name, value);
  };
  if (ev.kind == event_kind::close || ev.kind == event_kind::op_result)
    set(&event_keys::code, Napi::Number::New(env, ev.code));
  if (!ev.reason.empty()) set(&event_keys::reason, Napi::String::New(env, ev.reason));
  if (!ev.error_type.empty()) set(&event_keys::error_type, Napi::String::New(env, ev.error_type));
  if (!ev.method.empty()) set(&event_keys::method, Napi::String::New(env, ev.method));
  if (!ev.room_id.empty()) set(&event_keys::room_id, Napi::String::New(env, ev.room_id));
  if (!ev.target_client_id.empty()) set(&event_keys::target, Napi::String::New(env, ev.target_client_id));
  if (!ev.target_connection_id.empty())
    set(&event_keys::target_connection, Napi::String::New(env, ev.target_connection_id));
  // A message event with a room is a room message onRoomMessage sees after onMessage.
  if (ev.kind == event_kind::room_message || ev.kind == event_kind::direct_message ||
      (ev.kind == event_kind::message && !ev.room_id.empty()))
    set(&event_keys::message, Napi::String::New(env, ev.message));
  auto flat = [&](Napi::String event_keys::*name, const string_pairs& pairs) {
    if (pairs.empty()) return;
    Napi::Array a = Napi::Array::New(env, pairs.size() * 2);
    uint32_t i = 0;
    for (const auto& [k, v] : pairs) {
      a.Set(i++, Napi::String::New(env, k));
      a.Set(i++, Napi::String::New(env, v));
    }
    set(name, a);
  };
  flat(&event_keys::params, ev.params);
  flat(&event_keys::query, ev.query);
  flat(&event_keys::headers, ev.headers);
  return o;
}

void js_dispatcher::call_js(Napi::Env env, Napi::Function fn, js_dispatcher* self, void*) {
  // The batch's vector comes back as the spare once drained, so the queue and the I/O
  // threads' gathering vectors (emit_many swaps with an empty queue) keep their capacity
  // instead of growing again, moving every event, on each round.
  std::vector<event> batch;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    batch.swap(self->queue_);
    self->queue_.swap(self->spare_);
  }
  struct give_back {
    js_dispatcher* self;
    std::vector<event>& batch;
    ~give_back() {
      batch.clear();
      std::lock_guard<std::mutex> lock(self->mutex_);
      // Up to 1,024 events (about half a MiB): a burst's capacity is not kept for good.
      if (batch.capacity() > self->spare_.capacity() && batch.capacity() <= 1024) self->spare_.swap(batch);
    }
  } recycle{self, batch};
  // A null env means the function is being torn down: the batch is simply freed.
  if (env == nullptr || batch.empty()) return;
  Napi::HandleScope scope(env);
  // Flat columns instead of an object per event: numbers written straight into one typed
  // array, the four common strings into one array, and an object only for the rare fields.
  const auto n = static_cast<uint32_t>(batch.size());
  Napi::Float64Array nums = Napi::Float64Array::New(env, std::size_t{n} * 4);
  double* out = nums.Data();
  napi_value strs;
  napi_create_array_with_length(env, std::size_t{n} * 4, &strs);
  Napi::Array extras;
  std::optional<event_keys> keys;
  struct column {
    std::string_view text;  // into the batch, which outlives the loop
    napi_value value = nullptr;
  } connection_col, client_col, path_col;
  for (uint32_t i = 0; i < n; ++i) {
    event& ev = batch[i];
    out[4 * i] = static_cast<double>(ev.kind);
    out[4 * i + 1] = static_cast<double>(ev.id);
    out[4 * i + 2] = ev.route;
    out[4 * i + 3] = ev.time_ms;
    // Each column reuses its previous JS string when the text repeats (a connection's
    // run of frames, one route's path, a client id equal to the connection id).
    auto put = [&](uint32_t at, const std::string& s, column& c) {
      if (s.empty()) return;
      if (c.value == nullptr || c.text != s) {
        napi_create_string_utf8(env, s.data(), s.size(), &c.value);
        c.text = s;
      }
      napi_set_element(env, strs, at, c.value);
    };
    put(4 * i, ev.connection_id, connection_col);
    if (ev.client_id == ev.connection_id && !ev.client_id.empty()) napi_set_element(env, strs, 4 * i + 1, connection_col.value);
    else put(4 * i + 1, ev.client_id, client_col);
    put(4 * i + 2, ev.path, path_col);
    if (napi_value d = data_value(env, ev)) napi_set_element(env, strs, 4 * i + 3, d);
    Napi::Value extra = event_extras(env, keys, ev);
    if (!extra.IsEmpty()) {
      if (extras.IsEmpty()) extras = Napi::Array::New(env, n);
      extras.Set(i, extra);
    }
  }
  if (self->before_batch_) self->before_batch_();
  try {
    fn.Call({nums, Napi::Value(env, strs), extras.IsEmpty() ? env.Undefined() : Napi::Value(extras)});
  } catch (const Napi::Error& e) {
    log(log_level::error, std::string("event dispatcher threw: ") + e.Message());
  }
  if (self->after_batch_) self->after_batch_();
}

}  // namespace roomwire::addon
