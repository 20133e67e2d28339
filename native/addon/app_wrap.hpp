// The `App` class the binding exports: a thin shell over roomwire::server that takes and
// returns plain values. Validation, defaults and Promises live in lib/.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "js_dispatcher.hpp"
#include "options.hpp"
#include "server.hpp"

namespace roomwire::addon {

/// One server instance as seen from JavaScript.
class app_wrap : public Napi::ObjectWrap<app_wrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit app_wrap(const Napi::CallbackInfo& info);
  ~app_wrap() override;

 private:
  Napi::Value add_ws_route(const Napi::CallbackInfo& info);
  Napi::Value add_http_route(const Napi::CallbackInfo& info);
  Napi::Value add_static(const Napi::CallbackInfo& info);
  Napi::Value listen(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value complete(const Napi::CallbackInfo& info);
  Napi::Value complete_many(const Napi::CallbackInfo& info);
  Napi::Value reply(const Napi::CallbackInfo& info);
  Napi::Value send(const Napi::CallbackInfo& info);
  Napi::Value broadcast(const Napi::CallbackInfo& info);
  Napi::Value room_broadcast(const Napi::CallbackInfo& info);
  Napi::Value send_anywhere(const Napi::CallbackInfo& info);
  Napi::Value connection_count(const Napi::CallbackInfo& info);
  Napi::Value cluster_live(const Napi::CallbackInfo& info);
  Napi::Value set_cluster_host(const Napi::CallbackInfo& info);
  Napi::Value set_tls(const Napi::CallbackInfo& info);
  Napi::Value closed(const Napi::CallbackInfo& info);
  Napi::Value create_room(const Napi::CallbackInfo& info);
  Napi::Value delete_room(const Napi::CallbackInfo& info);
  Napi::Value send_room_message(const Napi::CallbackInfo& info);
  Napi::Value send_direct_message(const Napi::CallbackInfo& info);
  Napi::Value room_info(const Napi::CallbackInfo& info);
  Napi::Value all_rooms(const Napi::CallbackInfo& info);
  Napi::Value join_room(const Napi::CallbackInfo& info);
  Napi::Value check_join(const Napi::CallbackInfo& info);
  Napi::Value leave_room(const Napi::CallbackInfo& info);
  Napi::Value client_info(const Napi::CallbackInfo& info);
  Napi::Value user_rooms(const Napi::CallbackInfo& info);
  Napi::Value presence(const Napi::CallbackInfo& info);
  Napi::Value close_connection(const Napi::CallbackInfo& info);
  Napi::Value message_count(const Napi::CallbackInfo& info);
  Napi::Value enable_room_api(const Napi::CallbackInfo& info);
  Napi::Value enable_metrics(const Napi::CallbackInfo& info);
#ifdef ROOMWIRE_BENCH_HOOKS
  /// bench/dispatch.js's event source; only in a bench build (-DROOMWIRE_BENCH_HOOKS=ON).
  Napi::Value bench_dispatch(const Napi::CallbackInfo& info);
#endif

  server_options options_;
  tls_options tls_;  // the PEM material of createApp's `tls` (or the last setTls)
  std::vector<ws_route_options> ws_routes_;
  std::vector<http_route_options> http_routes_;
  std::vector<static_mount> statics_;
  std::shared_ptr<room_registry> rooms_ = std::make_shared<room_registry>();
  /// Event ids for every server this app runs: never repeated, so a verdict still pending
  /// when one server stopped cannot reach a connection of the next.
  std::shared_ptr<std::atomic<std::uint64_t>> event_ids_ = std::make_shared<std::atomic<std::uint64_t>>(1);
  std::string room_api_prefix_;
  bool metrics_ = false;
  std::shared_ptr<server> server_;
  std::shared_ptr<js_dispatcher> dispatcher_;
  bool closing_ = false;
};

}  // namespace roomwire::addon
