// The event sink the Node binding gives the core: events from any I/O thread are queued
// and reach JavaScript in batches over one TypedThreadSafeFunction.
#pragma once

#include <napi.h>

#include <memory>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "events.hpp"

namespace roomwire::addon {

/// Batches core events into one JS call per wake-up.
class js_dispatcher : public event_sink, public std::enable_shared_from_this<js_dispatcher> {
 public:
  /// Creates the thread-safe function that calls `fn(nums, strs, extras)` on the JS thread
  /// for each batch: per event, [kind, id, route, time] in the Float64Array `nums`,
  /// [connectionId, clientId, path, data] in the array `strs` (holes where absent), and in
  /// `extras` (undefined when no event has any) an object of its other fields. It is
  /// ref'd: it keeps the process alive until release().
  void start(Napi::Env env, Napi::Function fn);
  /// Queues an event; wakes the JS thread only when the queue was empty.
  void emit(event&& ev) override;
  void emit_many(std::vector<event>& events) override;
  /// Last call: no event is accepted after it; queued ones are still delivered.
  void release();
  /// Hooks run on the JS thread around each batch (the server gathers its cross-thread
  /// posts between them).
  void set_batch_hooks(std::function<void()> before, std::function<void()> after);
  /// Runs `job` on a thread of its own, joined on the JS thread once the thread-safe
  /// function has been finalized (so that thread may call release() as its last act).
  void run_stopper(std::function<void()> job);

 private:
  /// Calls the thread-safe function once: the JS thread will drain the queue.
  void wake_js();
  struct finalize_data {
    std::shared_ptr<js_dispatcher> self;
  };
  static void call_js(Napi::Env env, Napi::Function fn, js_dispatcher* self, void* unused);
  static void on_finalize(Napi::Env env, finalize_data* data, js_dispatcher* self);

  using tsfn_t = Napi::TypedThreadSafeFunction<js_dispatcher, void, &js_dispatcher::call_js>;
  std::mutex mutex_;
  std::vector<event> queue_;
  std::vector<event> spare_;  // an emptied batch, kept for its capacity
  bool open_ = false;
  tsfn_t tsfn_;
  std::thread stopper_;
  std::function<void()> before_batch_, after_batch_;
};

/// Property names, created once per batch and shared by its events (V8 would otherwise
/// look each name up again for every event).
struct event_keys {
  explicit event_keys(Napi::Env env);
  Napi::String code, reason, error_type, method, room_id, target, target_connection, message, params, query, headers;
};

/// The fields of an event beyond kind, id, route, time, connectionId, clientId, path and
/// data, as an object (those eight travel in the batch's flat columns); an empty value when
/// it has none. `keys` is made on first use and shared by the batch.
Napi::Value event_extras(Napi::Env env, std::optional<event_keys>& keys, const event& ev);

}  // namespace roomwire::addon
