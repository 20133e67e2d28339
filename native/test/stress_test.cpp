// Connects, joins, fan-outs, app-side room operations and closes from many threads at once
// against one server; run plain in ctest and under ASan+UBSan and TSan (scripts/sanitize.sh).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "net.hpp"
#include "server.hpp"

using namespace roomwire;
using namespace std::chrono_literals;

namespace {

struct counting_sink : event_sink {
  std::atomic<int> events{0};
  void emit(event&&) override { ++events; }
};

/// Blocks until `check` holds, at most `limit`.
template <class F>
bool eventually(F check, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!check()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST(Stress, ConcurrentClientsRoomsAndAppOperations) {
  server_options o;
  o.threads = 4;
  auto sink = std::make_shared<counting_sink>();
  auto srv = std::make_shared<server>(o, sink);
  srv->add_ws_route({"/ws", 1, cb_close, true, true});
  error_code ec;
  unsigned short port = srv->listen("127.0.0.1", 0, ec);
  ASSERT_FALSE(ec);

  const int client_threads = 6;
  const int rounds = 25;
  std::atomic<int> completed{0};
  std::atomic<bool> stop_app{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < client_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        try {
          net::io_context ioc;
          websocket::stream<tcp::socket> ws(ioc);
          ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
          timeval tv{5, 0};
          setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          ws.handshake("127.0.0.1", "/ws?clientId=t" + std::to_string(t));
          beast::flat_buffer b;
          ws.read(b);  // welcome
          std::string room = "room-" + std::to_string((t + r) % 3);
          ws.write(net::buffer(R"({"type":"join_room","room_id":")" + room + "\"}"));
          for (int m = 0; m < 5; ++m)
            ws.write(net::buffer(R"({"type":"room_message","room_id":")" + room + R"(","message":"x"})"));
          ws.write(net::buffer(R"({"type":"direct_message","target_client_id":"t0","message":"dm"})"));
          // Read a little, then leave abruptly on odd rounds and politely on even ones.
          for (int i = 0; i < 3; ++i) {
            b.clear();
            ws.read(b);
          }
          if (r % 2 == 0) {
            ws.close(websocket::close_code::normal);
            error_code ignored;
            for (;;) {
              b.clear();
              ws.read(b, ignored);
              if (ignored) break;
            }
          } else {
            ws.next_layer().close();
          }
          ++completed;
        } catch (const std::exception& e) {
          ADD_FAILURE() << "client thread " << t << ": " << e.what();
          return;
        }
      }
    });
  }
  // The app side at the same time: create, fan out to, join through the API, delete.
  std::thread app([&] {
    int i = 0;
    while (!stop_app) {
      std::string id = srv->rooms().create("tmp", "", 0, "{}", false);
      for (int k = 0; k < 3; ++k) srv->send_room_message("room-" + std::to_string(k), "from app");
      srv->send_direct_message("t1", "dm from app");
      srv->delete_room(id);
      if (++i % 10 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  for (auto& th : threads) th.join();
  stop_app = true;
  app.join();
  EXPECT_EQ(completed.load(), client_threads * rounds);
  EXPECT_TRUE(eventually([&] { return srv->connection_count() == 0; }));
  EXPECT_TRUE(eventually([&] { return srv->rooms().membership_count() == 0; }));
  EXPECT_EQ(srv->rooms().member_connection_count(), 0u);
  // Auto-created rooms are ephemeral: they went away with their last member.
  EXPECT_EQ(srv->rooms().room_count(), 0u);
  EXPECT_TRUE(eventually([&] { return sink->events.load() == client_threads * rounds; }));
  srv->stop(2000ms);
}
