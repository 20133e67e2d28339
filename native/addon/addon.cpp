// Registers the binding's exports; everything else lives in its own file.
#include <napi.h>

#include "app_wrap.hpp"
#include "log.hpp"

namespace {

Napi::Value set_log_level(const Napi::CallbackInfo& info) {
  roomwire::log_level lvl;
  if (!roomwire::parse_log_level(info[0].As<Napi::String>().Utf8Value(), lvl))
    throw Napi::TypeError::New(info.Env(), "unknown log level");
  roomwire::set_log_level(lvl);
  return info.Env().Undefined();
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("App", roomwire::addon::app_wrap::define(env));
  exports.Set("setLogLevel", Napi::Function::New(env, set_log_level));
  return exports;
}

}  // namespace

NODE_API_MODULE(roomwire, init)
