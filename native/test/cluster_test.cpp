// Two servers made one by Redis: a room message published on either reaches the room's
// members on both, once each and in order. A redis-server of the test's own, on a free port.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "redis_server.hpp"
#include "server.hpp"

using namespace roomwire;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct null_sink : event_sink {
  void emit(event&&) override {}
};

std::shared_ptr<server> cluster_node(int redis_port, const std::string& node_id, unsigned short& port) {
  server_options o;
  o.threads = 2;
  o.welcome_delay = std::chrono::milliseconds(0);
  o.cluster.port = redis_port;
  o.cluster.prefix = "test";
  o.cluster.node_id = node_id;
  auto srv = std::make_shared<server>(o, std::make_shared<null_sink>());
  srv->add_ws_route({"/ws", 1, 0, false});
  error_code ec;
  port = srv->listen("127.0.0.1", 0, ec);
  if (ec) throw std::runtime_error(ec.message());
  return srv;
}

struct client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  std::string id;
  explicit client(unsigned short port) {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ws.handshake("127.0.0.1", "/ws");
    id = std::string(read().at("connection_id").as_string());
  }
  json::object read() {
    beast::flat_buffer b;
    ws.read(b);
    return json::parse(beast::buffers_to_string(b.data())).as_object();
  }
  /// The next frame of `type`, skipping others (presence, room_joined).
  json::object next(const std::string& type) {
    for (int i = 0; i < 1000; ++i) {
      auto o = read();
      if (o.at("type").as_string() == type) return o;
    }
    throw std::runtime_error("no " + type);
  }
};

}  // namespace

TEST(Cluster, RoomMessagesReachMembersOnEveryServerOnceInOrder) {
  test_support::redis_server redis(test_support::free_port());
  unsigned short port_a = 0, port_b = 0;
  auto a = cluster_node(redis.port(), "node-a", port_a);
  auto b = cluster_node(redis.port(), "node-b", port_b);
  // Both subscribed before anything is published (bounded: 5 s).
  for (int i = 0; i < 100 && !(a->cluster_ready() && b->cluster_ready()); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(a->cluster_ready() && b->cluster_ready());

  // The same room on both servers, one member on each.
  const std::string room = "room-x";
  ASSERT_FALSE(a->rooms().create("x", "", 0, "{}", false, room).empty());
  ASSERT_FALSE(b->rooms().create("x", "", 0, "{}", false, room).empty());
  client on_a(port_a), on_b(port_b);
  ASSERT_EQ(a->join_room_now(on_a.id, room), join_result::ok);
  ASSERT_EQ(b->join_room_now(on_b.id, room), join_result::ok);

  const int n = 50;
  for (int i = 0; i < n; ++i)
    on_a.ws.write(net::buffer(R"({"type":"room_message","room_id":"room-x","message":"m)" + std::to_string(i) + "\"}"));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(on_a.next("room_message").at("message").as_string(), "m" + std::to_string(i));  // its own echo, once
    EXPECT_EQ(on_b.next("room_message").at("message").as_string(), "m" + std::to_string(i));  // across, in order
  }
  // The other way, and from the app (no sender).
  on_b.ws.write(net::buffer(std::string(R"({"type":"room_message","room_id":"room-x","message":"back"})")));
  EXPECT_EQ(on_a.next("room_message").at("message").as_string(), "back");
  EXPECT_EQ(on_b.next("room_message").at("message").as_string(), "back");
  ASSERT_TRUE(a->send_room_message(room, "from the app"));
  auto app_msg = on_b.next("room_message");
  EXPECT_EQ(app_msg.at("message").as_string(), "from the app");
  EXPECT_FALSE(app_msg.contains("from_client_id"));
  EXPECT_EQ(on_a.next("room_message").at("message").as_string(), "from the app");

  // Nothing twice: a marker sent last is the next thing each side sees.
  on_a.ws.write(net::buffer(std::string(R"({"type":"room_message","room_id":"room-x","message":"end"})")));
  EXPECT_EQ(on_a.next("room_message").at("message").as_string(), "end");
  EXPECT_EQ(on_b.next("room_message").at("message").as_string(), "end");
  a->stop(1000ms);
  b->stop(1000ms);
}
