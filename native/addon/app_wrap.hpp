// The `App` class the binding exports: a thin shell over roomwire::server that takes and
// returns plain values. Validation, defaults and Promises live in lib/.
#pragma once

#include <napi.h>

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
  Napi::Value listen(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value complete(const Napi::CallbackInfo& info);
  Napi::Value reply(const Napi::CallbackInfo& info);
  Napi::Value send(const Napi::CallbackInfo& info);
  Napi::Value broadcast(const Napi::CallbackInfo& info);
  Napi::Value connection_count(const Napi::CallbackInfo& info);
  Napi::Value closed(const Napi::CallbackInfo& info);

  server_options options_;
  std::vector<ws_route_options> ws_routes_;
  std::vector<http_route_options> http_routes_;
  std::shared_ptr<server> server_;
  std::shared_ptr<js_dispatcher> dispatcher_;
  bool closing_ = false;
};

}  // namespace roomwire::addon
