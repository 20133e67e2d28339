// The core over real loopback sockets, driven by a Beast client, with no Node involved.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <new>
#include <mutex>
#include <thread>

#include "net.hpp"
#include "log.hpp"
#include "server.hpp"

using namespace roomwire;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// Collects events; the test thread plays the host and completes verdicts.
class test_sink : public event_sink {
 public:
  void emit(event&& ev) override {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(ev));
    cv_.notify_all();
  }
  /// Waits (bounded) for the next event of `kind`, removing it and earlier ones.
  event next(event_kind kind, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mutex_);
    event out;
    bool ok = cv_.wait_for(lock, timeout, [&] {
      while (!events_.empty()) {
        event ev = std::move(events_.front());
        events_.pop_front();
        if (ev.kind == kind) {
          out = std::move(ev);
          return true;
        }
      }
      return false;
    });
    if (!ok) throw std::runtime_error("timed out waiting for an event");
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<event> events_;
};

struct fixture {
  std::shared_ptr<test_sink> sink = std::make_shared<test_sink>();
  std::shared_ptr<server> srv;
  unsigned short port = 0;

  explicit fixture(std::uint32_t callbacks, bool acks = true) {
    server_options o;
    o.threads = 2;
    if (std::getenv("RW_DEBUG")) set_log_level(log_level::debug);
    srv = std::make_shared<server>(o, sink);
    srv->add_ws_route({"/chat", 1, callbacks, acks});
    error_code ec;
    port = srv->listen("127.0.0.1", 0, ec);
    if (ec) throw std::runtime_error(ec.message());
  }
  ~fixture() { srv->stop(2000ms); }
};

/// A blocking client whose reads give up after five seconds.
struct client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};

  explicit client(unsigned short port, const std::string& target = "/chat") {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ws.handshake("127.0.0.1", target);
  }
  json::object read_json() {
    beast::flat_buffer b;
    ws.read(b);
    return json::parse(beast::buffers_to_string(b.data())).as_object();
  }
  void write(const std::string& text) { ws.write(net::buffer(text)); }
};

}  // namespace

TEST(Server, WelcomesAndAcknowledgesWithoutCallbacks) {
  fixture f(0);
  client c(f.port, "/chat?clientId=alice");
  auto welcome = c.read_json();
  EXPECT_EQ(welcome.at("type").as_string(), "welcome");
  EXPECT_EQ(welcome.at("client_id").as_string(), "alice");
  EXPECT_EQ(welcome.at("path").as_string(), "/chat");
  c.write(R"({"type":"message","text":"hi"})");
  auto ack = c.read_json();
  EXPECT_EQ(ack.at("type").as_string(), "message_ack");
  EXPECT_EQ(ack.at("message").as_string(), R"({"type":"message","text":"hi"})");
  c.write("not json");
  EXPECT_EQ(c.read_json().at("error_type").as_string(), "invalid_format");
  c.write(R"({"type":"ping"})");
  auto pong = c.read_json();
  EXPECT_EQ(pong.at("type").as_string(), "pong");
  EXPECT_TRUE(pong.at("latency").is_null());
  EXPECT_EQ(f.srv->connection_count(), 1u);
}

TEST(Server, AppliesMessageVerdicts) {
  fixture f(cb_message);
  client c(f.port);
  c.read_json();  // welcome

  c.write(R"({"type":"a"})");
  auto ev = f.sink->next(event_kind::message);
  EXPECT_EQ(ev.data, R"({"type":"a"})");
  verdict blocked;
  blocked.cancel = true;
  blocked.has_error = true;
  blocked.error = "no";
  f.srv->complete(ev.id, std::move(blocked));
  auto msg = c.read_json();
  EXPECT_EQ(msg.at("type").as_string(), "message_blocked");
  EXPECT_EQ(msg.at("reason").as_string(), "no");
  EXPECT_EQ(msg.at("originalMessage").as_string(), R"({"type":"a"})");

  // A silent cancel sends nothing: the next thing the client sees answers frame "c".
  c.write(R"({"type":"b"})");
  verdict silent;
  silent.cancel = true;
  f.srv->complete(f.sink->next(event_kind::message).id, std::move(silent));
  c.write(R"({"type":"c"})");
  verdict modified;
  modified.has_modified = true;
  modified.modified = R"({"type":"c2"})";
  f.srv->complete(f.sink->next(event_kind::message).id, std::move(modified));
  EXPECT_EQ(c.read_json().at("message").as_string(), R"({"type":"c2"})");
}

TEST(Server, KeepsOneConnectionsFramesInOrderBehindVerdicts) {
  fixture f(cb_message);
  client c(f.port);
  c.read_json();
  const int n = 200;
  for (int i = 0; i < n; ++i) c.write(R"({"type":"m","i":)" + std::to_string(i) + "}");
  for (int i = 0; i < n; ++i) {
    auto ev = f.sink->next(event_kind::message);
    EXPECT_EQ(ev.data, R"({"type":"m","i":)" + std::to_string(i) + "}");
    f.srv->complete(ev.id, verdict{});
  }
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(c.read_json().at("message").as_string(), R"({"type":"m","i":)" + std::to_string(i) + "}");
}

TEST(Server, SendReportsStatusAndUnknownTargets) {
  fixture f(0, false);
  client c(f.port);
  auto id = std::string(c.read_json().at("connection_id").as_string());
  auto st = f.srv->send(id, std::make_shared<const std::string>("raw"), false);
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, send_status::ok);
  beast::flat_buffer b;
  c.ws.read(b);
  EXPECT_EQ(beast::buffers_to_string(b.data()), "raw");
  EXPECT_FALSE(f.srv->send("nope", std::make_shared<const std::string>("x"), false));
  EXPECT_EQ(f.srv->broadcast("/chat", std::make_shared<const std::string>("all"), false), 1u);
  b.clear();
  c.ws.read(b);
  EXPECT_EQ(beast::buffers_to_string(b.data()), "all");
}

TEST(Server, StopClosesConnectionsWithGoingAway) {
  fixture f(cb_close);
  client c(f.port);
  c.read_json();
  // The client must keep reading while the server stops: the close handshake needs it.
  std::thread stopper([&] { f.srv->stop(2000ms); });
  beast::flat_buffer b;
  error_code ec;
  c.ws.read(b, ec);
  stopper.join();
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(c.ws.reason().code, websocket::close_code::going_away);
  auto closed = f.sink->next(event_kind::close);
  EXPECT_EQ(closed.code, 1001);
}

TEST(Server, ListenOnATakenPortFailsWithoutStartingThreads) {
  fixture f(0);
  server_options o;
  auto other = std::make_shared<server>(o, std::make_shared<test_sink>());
  error_code ec;
  EXPECT_EQ(other->listen("127.0.0.1", f.port, ec), 0);
  EXPECT_EQ(ec, net::error::address_in_use);
  other->stop(0ms);
}

TEST(Server, DestroyedWhileDeferringLeavesNoDeferralBehind) {
  // The host may drop its last reference to a server in the middle of a batch. A server
  // built later at the same address (the allocator reuses it readily) must post its work,
  // not gather it for a batch that never ends.
  alignas(server) unsigned char storage[sizeof(server)];
  server_options o;
  o.threads = 1;
  auto* first = new (storage) server(o, std::make_shared<test_sink>());
  first->defer_begin();
  first->~server();

  auto* second = new (storage) server(o, std::make_shared<test_sink>());
  {
    std::shared_ptr<server> held(second, [](server*) {});  // listen() may share it
    error_code ec;
    ASSERT_NE(held->listen("127.0.0.1", 0, ec), 0);
    std::promise<void> ran;
    held->post_to(0, [&ran] { ran.set_value(); });
    EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
    held->stop(0ms);
  }
  second->~server();
}

TEST(Server, AssemblesMessagesOfEverySizeAndFragmentation) {
  // A message's first 64 bytes land in the session's inline buffer and the rest in the
  // message itself: sizes around that edge, a large one, and one in 100-byte fragments.
  fixture f(0);
  client c(f.port);
  c.read_json();  // welcome
  auto message_of = [](std::size_t size) {
    std::string head = R"({"type":"message","text":")";
    return head + std::string(size - head.size() - 2, 'x') + "\"}";
  };
  for (std::size_t size : {40u, 63u, 64u, 65u, 129u, 4096u, 70000u}) {
    std::string text = message_of(size);
    c.write(text);
    EXPECT_EQ(c.read_json().at("message").as_string(), text) << size;
  }
  c.ws.auto_fragment(true);
  c.ws.write_buffer_bytes(100);
  std::string text = message_of(5000);
  c.write(text);
  EXPECT_EQ(c.read_json().at("message").as_string(), text);
}

TEST(Server, CompletesManyVerdictsAtOnceIgnoringUnknownIds) {
  fixture f(cb_message);
  client a(f.port), b(f.port);
  a.read_json();  // welcome
  b.read_json();
  a.write(R"({"type":"from-a"})");
  auto ev_a = f.sink->next(event_kind::message);
  b.write(R"({"type":"from-b"})");
  auto ev_b = f.sink->next(event_kind::message);
  verdict blocked;
  blocked.cancel = true;
  blocked.has_error = true;
  blocked.error = "no";
  std::vector<std::pair<std::uint64_t, verdict>> verdicts;
  verdicts.emplace_back(ev_b.id, verdict{});
  verdicts.emplace_back(987654321, verdict{});  // unknown: ignored
  verdicts.emplace_back(ev_a.id, std::move(blocked));
  f.srv->complete_many(std::move(verdicts));
  EXPECT_EQ(a.read_json().at("type").as_string(), "message_blocked");
  auto ack = b.read_json();
  EXPECT_EQ(ack.at("type").as_string(), "message_ack");
  EXPECT_EQ(ack.at("message").as_string(), R"({"type":"from-b"})");
}
