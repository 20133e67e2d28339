// libFuzzer: the built-in REST room API. The first byte picks the method, the bytes up to
// the first newline are the path, the rest is the body. Every answer must be a JSON object
// with a boolean `success`, with a status the API documents, whatever the request.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "events.hpp"
#include "room_api.hpp"
#include "router.hpp"
#include "server.hpp"

namespace {
struct null_sink : roomwire::event_sink {
  void emit(roomwire::event&&) override {}
};

roomwire::server& instance() {
  static auto srv = [] {
    auto s = std::make_shared<roomwire::server>(roomwire::server_options{}, std::make_shared<null_sink>());
    s->enable_room_api("/api");
    s->rooms().create("seed", "", 2, "{}", false, "room_seed");
    return s;
  }();
  return *srv;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* methods[] = {"GET", "POST", "DELETE", "PUT"};
  std::string method = methods[data[0] % 4];
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  auto nl = rest.find('\n');
  std::string target = "/api/" + (nl == std::string::npos ? rest : rest.substr(0, nl));
  std::string body = nl == std::string::npos ? std::string() : rest.substr(nl + 1);
  std::string path;
  std::vector<std::string> segments;
  roomwire::string_pairs query;
  if (!roomwire::split_target(target, path, segments, query)) return 0;
  auto& srv = instance();
  auto answer = roomwire::builtin_endpoint(srv, method, segments, body);
  if (!answer) return 0;
  boost::system::error_code ec;
  auto v = boost::json::parse(answer->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("success")) __builtin_trap();
  switch (answer->status) {
    case 200: case 201: case 400: case 404: case 409: break;
    default: __builtin_trap();
  }
  // Keep the registry small so each run exercises parsing and the endpoints, not the
  // serialisation of an ever-growing room list.
  if (srv.rooms().room_count() > 16)
    for (const auto& r : srv.rooms().all())
      if (r.id != "room_seed") srv.rooms().remove(r.id);
  return 0;
}
