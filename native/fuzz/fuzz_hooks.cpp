// libFuzzer: the hooks compiler and machine. The first byte picks the mode:
// - even: the rest is a whole `ws_hooks` JSON text, compiled (or refused with an error)
//   and, when it compiles, run for on_connect, two messages and on_disconnect;
// - odd: the rest is "<template>\n<message>": the template is used as a send, a SetVar
//   value and an If condition, and run against the message.
// Either way: errors are exceptions or logged stops, never a crash, and a run never
// exceeds its step budget or output limit.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "hooks/hooks.hpp"

namespace {

using namespace roomwire;

struct null_host : hooks::host {
  std::string param_value = "p";
  std::size_t max_output = 0;
  std::string_view connection_id() const override { return "c"; }
  std::string_view client_id() const override { return "u"; }
  std::string_view path() const override { return "/f"; }
  const std::string* param(std::string_view) const override { return &param_value; }
  const std::string* query(std::string_view) const override { return nullptr; }
  void check(const std::string& text) const {
    if (text.size() > max_output) __builtin_trap();
  }
  void send(std::string text) override { check(text); }
  void broadcast(const std::string*, std::string text) override { check(text); }
  void join(const std::string&, std::function<void(std::string)> done) override { done({}); }
  std::string leave(const std::string&) override { return {}; }
  void log(log_level, std::string) override {}
};

void run(const std::string& json, const std::string& message) {
  hooks::limits lim;
  lim.max_output = 4096;
  lim.max_steps = 2000;
  std::shared_ptr<const hooks::program> prog;
  try {
    prog = hooks::compile(json, lim);
  } catch (const std::invalid_argument&) {
    return;
  }
  null_host h;
  h.max_output = lim.max_output;
  hooks::machine m(prog, h);
  m.run(hooks::hook::on_connect);
  m.run(hooks::hook::on_message, message);
  m.run(hooks::hook::on_message, message + message);
  m.run(hooks::hook::on_disconnect, {}, 1000, message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    run(input, "hello:world");
    return 0;
  }
  const auto nl = input.find('\n');
  const std::string tmpl = input.substr(0, nl);
  const std::string message = nl == std::string::npos ? std::string() : input.substr(nl + 1);
  namespace json = boost::json;
  json::object send{{"WsOp", json::object{{"command", "send"}, {"message", tmpl}}}};
  json::object set{{"SetVar", json::object{{"name", "v"}, {"value", tmpl}}}};
  json::object cond{{"If", json::object{{"condition", tmpl}, {"then", json::array{send}}, {"else", json::array{set}}}}};
  json::object hooks{{"on_message", json::array{set, send, cond}}};
  run(json::serialize(hooks), message);
  return 0;
}
