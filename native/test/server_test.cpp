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
#include <set>
#include <mutex>
#include <thread>

#include "net.hpp"
#include "log.hpp"
#include "server.hpp"
#include "ws_session.hpp"

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

TEST(Server, FindsConnectionsByIdAndClientAcrossIndexGrowthAndRemoval) {
  // 150 connections, two per client id: the indexes grow past their first buckets twice.
  fixture f(0, false);
  constexpr int clients = 75;
  std::vector<std::unique_ptr<client>> conns;
  std::vector<std::string> ids;
  for (int i = 0; i < clients * 2; ++i) {
    conns.push_back(std::make_unique<client>(f.port, "/chat?clientId=c" + std::to_string(i % clients)));
    ids.emplace_back(conns.back()->read_json().at("connection_id").as_string());
  }
  ASSERT_EQ(f.srv->connection_count(), 150u);
  for (int i = 0; i < clients * 2; ++i) {
    auto s = f.srv->find(ids[i]);
    ASSERT_TRUE(s) << i;
    EXPECT_EQ(s->connection_id(), ids[i]);
    EXPECT_EQ(s->client_id(), "c" + std::to_string(i % clients));
  }
  for (int c = 0; c < clients; ++c) {
    auto found = f.srv->find_targets("c" + std::to_string(c), "");
    ASSERT_EQ(found.size(), 2u) << c;
    std::set<std::string> got{found[0]->connection_id(), found[1]->connection_id()};
    EXPECT_EQ(got, (std::set<std::string>{ids[c], ids[c + clients]})) << c;
  }
  EXPECT_FALSE(f.srv->find("c0"));
  EXPECT_TRUE(f.srv->find_targets(ids[0], "").empty());  // a connection id is not a client id

  // Every client's first connection closes: the second is all its client id finds.
  for (int c = 0; c < clients; ++c) conns[c]->ws.close(websocket::close_code::normal);
  for (int i = 0; i < 500 && f.srv->connection_count() != 75u; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(f.srv->connection_count(), 75u);
  for (int c = 0; c < clients; ++c) {
    EXPECT_FALSE(f.srv->find(ids[c])) << c;
    auto found = f.srv->find_targets("c" + std::to_string(c), "");
    ASSERT_EQ(found.size(), 1u) << c;
    EXPECT_EQ(found[0]->connection_id(), ids[c + clients]);
    EXPECT_EQ(f.srv->find_targets("", ids[c + clients]).size(), 1u);
  }
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

namespace {
/// Reads text frames until the server's close; returns them, and the close code.
std::vector<std::string> read_until_close(client& c, int& code) {
  std::vector<std::string> out;
  for (int i = 0; i < 10000; ++i) {
    beast::flat_buffer b;
    error_code ec;
    c.ws.read(b, ec);
    if (ec) {
      code = ec == websocket::error::closed ? static_cast<int>(c.ws.reason().code) : -1;
      return out;
    }
    out.push_back(beast::buffers_to_string(b.data()));
  }
  code = -2;
  return out;
}

std::string connection_id_of(client& c) {
  return std::string(c.read_json().at("connection_id").as_string());
}
}  // namespace

TEST(Server, StopWritesFanOutsGatheredOnAnotherThreadBeforeTheClose) {
  // A fan-out made on one I/O thread reaches the other thread's members in a batch that
  // thread 0 posts when it goes idle. stop() called meanwhile must not close those members
  // before the batch arrives.
  fixture f(0, false);
  client a(f.port), b(f.port);
  std::string ida = connection_id_of(a), idb = connection_id_of(b);
  const std::size_t thread_a = f.srv->find(ida)->io_index(), thread_b = f.srv->find(idb)->io_index();
  ASSERT_NE(thread_a, thread_b);
  std::string room = f.srv->rooms().create("r", "", 0, "{}", false);
  ASSERT_EQ(f.srv->join_room_now(ida, room), join_result::ok);
  ASSERT_EQ(f.srv->join_room_now(idb, room), join_result::ok);
  auto frame = std::make_shared<const std::string>("fanned-out");
  std::promise<void> gathered, release;
  std::shared_future<void> released = release.get_future().share();
  f.srv->post_to(0, [&, released] {
    f.srv->fan_out_batched(room, frame, tx_type::room_message);
    gathered.set_value();
    released.wait();  // thread 0 holds its batch for thread 1 until released
  });
  ASSERT_EQ(gathered.get_future().wait_for(5s), std::future_status::ready);
  std::thread stopper([&] { f.srv->stop(3000ms); });
  std::this_thread::sleep_for(100ms);  // time for a stop() that does not wait to overtake it
  release.set_value();
  for (client* c : {&a, &b}) {
    int code = 0;
    auto frames = read_until_close(*c, code);
    EXPECT_EQ(code, 1001);
    EXPECT_NE(std::find(frames.begin(), frames.end(), "fanned-out"), frames.end())
        << "member on thread " << (c == &a ? thread_a : thread_b);
  }
  stopper.join();
}

TEST(Server, StopPastItsDeadlineStillReportsEveryClose) {
  // A connection whose callback never answers cannot finish by the deadline: it is cut off
  // with 1001 and still gets its one close event.
  fixture f(cb_message | cb_close);
  client c(f.port);
  c.read_json();  // welcome
  c.write(R"({"type":"stuck"})");
  f.sink->next(event_kind::message);  // never completed
  std::thread stopper([&] { f.srv->stop(200ms); });
  int code = 0;
  read_until_close(c, code);
  stopper.join();
  EXPECT_EQ(code, 1001);
  auto closed = f.sink->next(event_kind::close, 1s);
  EXPECT_EQ(closed.code, 1001);
}

TEST(Server, AnswersFramesAcceptedBeforeAPeerCloseOrAProtocolError) {
  // The client's frame awaits its verdict when its close (or a bad frame) arrives: the
  // answer still goes out, then the close.
  for (bool bad_frame : {false, true}) {
    fixture f(cb_message);
    client c(f.port);
    c.read_json();  // welcome
    c.write(R"({"type":"first"})");
    auto ev = f.sink->next(event_kind::message);
    if (bad_frame) {
      // An unmasked text frame from a client: a protocol error (1002).
      const unsigned char raw[] = {0x81, 0x02, 'h', 'i'};
      net::write(c.ws.next_layer(), net::buffer(raw, sizeof raw));
    } else {
      const unsigned char close[] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};  // masked close 1000
      net::write(c.ws.next_layer(), net::buffer(close, sizeof close));
    }
    std::this_thread::sleep_for(50ms);  // the close reaches the server before the verdict
    f.srv->complete(ev.id, verdict{});
    // Read the raw bytes back: the ack frame must come before the close frame.
    std::string bytes;
    char buf[4096];
    for (int i = 0; i < 100; ++i) {
      error_code ec;
      std::size_t n = c.ws.next_layer().read_some(net::buffer(buf), ec);
      bytes.append(buf, n);
      if (ec) break;
    }
    auto ack = bytes.find("message_ack");
    ASSERT_NE(ack, std::string::npos) << (bad_frame ? "after a protocol error" : "after a close");
    auto close_at = bytes.find("\x88", ack);
    EXPECT_NE(close_at, std::string::npos);
  }
}

TEST(Server, RejoinWithHistoryGetsEveryMissedMessageOnceBeforeLiveOnes) {
  // Messages published from both I/O threads and the test thread while clients join with
  // `since`: each client must see room_joined, then every offset after its position exactly
  // once, in order, with no gap between the replay and the live messages.
  fixture f(0, false);
  std::string room = f.srv->rooms().create("h", "", 0, "{}", false, {}, history_options{100000, 0});
  auto history = f.srv->rooms().history(room);
  ASSERT_TRUE(history);
  constexpr int per_publisher = 500;  // a joiner's unread queue stays under maxBackpressure
  for (int round = 0; round < 4; ++round) {
    std::atomic<bool> go{false};
    std::vector<std::thread> publishers;
    for (std::size_t t = 0; t < 2; ++t)
      publishers.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        for (int i = 0; i < per_publisher; ++i) {
          std::promise<void> done;
          f.srv->post_to(t, [&] {
            f.srv->publish_room_message(room, "m", {});
            done.set_value();
          });
          done.get_future().wait();
        }
      });
    publishers.emplace_back([&] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < per_publisher; ++i) f.srv->publish_room_message(room, "m", "app");
    });
    std::vector<std::unique_ptr<client>> joiners;
    std::vector<std::uint64_t> positions;
    go = true;
    for (int j = 0; j < 6; ++j) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2 + j));
      joiners.push_back(std::make_unique<client>(f.port));
      joiners.back()->read_json();  // welcome
      std::uint64_t at;
      {
        auto held = history->lock();
        at = history->last_offset() / (j % 2 + 1);  // up to date, or far behind
      }
      positions.push_back(at);
      joiners.back()->write(R"({"type":"join_room","room_id":")" + room + R"(","since":{"offset":)" +
                            std::to_string(at) + R"(,"epoch":")" + history->epoch() + "\"}}");
    }
    for (auto& p : publishers) p.join();
    std::uint64_t last;
    {
      auto held = history->lock();
      last = history->last_offset();
    }
    for (std::size_t j = 0; j < joiners.size(); ++j) {
      auto joined = joiners[j]->read_json();
      ASSERT_EQ(joined.at("type").as_string(), "room_joined") << json::serialize(joined);
      EXPECT_EQ(joined.at("recovered").as_bool(), true) << json::serialize(joined);
      std::uint64_t expect = positions[j] + 1;
      while (expect <= last) {
        auto m = joiners[j]->read_json();
        if (m.at("type").as_string() == "presence") continue;  // a later joiner
        ASSERT_EQ(m.at("type").as_string(), "room_message");
        ASSERT_EQ(m.at("offset").to_number<std::uint64_t>(), expect) << "joiner " << j << " round " << round;
        ++expect;
      }
    }
  }
}
