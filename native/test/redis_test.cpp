// The Redis connection against a real redis-server (Debian's), started here on a free
// loopback port and killed at the end: commands, publish/subscribe, and reconnecting when
// the server goes away and comes back.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "redis_client.hpp"
#include "redis_server.hpp"

using namespace roomwire;
using namespace std::chrono_literals;
using roomwire::test_support::free_port;
using roomwire::test_support::redis_server;

namespace {

/// Runs `ioc` until `done()` holds or `timeout` passes; false on the timeout.
bool run_until(net::io_context& ioc, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ioc.restart();
    ioc.run_for(10ms);
  }
  return true;
}

redis_connection::options at(int port) {
  redis_connection::options o;
  o.port = port;
  return o;
}

}  // namespace

TEST(Redis, RunsCommandsAndCarriesPublishesToSubscribers) {
  redis_server server(free_port());
  net::io_context ioc;
  auto pub = std::make_shared<redis_connection>(ioc, at(server.port()));
  auto sub = std::make_shared<redis_connection>(ioc, at(server.port()));
  pub->start();
  sub->start();
  ASSERT_TRUE(run_until(ioc, [&] { return pub->connected() && sub->connected(); }, 5s));

  std::string got;
  ASSERT_TRUE(pub->command({"SET", "k", std::string("v\0x", 3)}, [](redis_reply_view) {}));
  ASSERT_TRUE(pub->command({"GET", "k"}, [&](redis_reply_view r) { got = r.text(); }));
  ASSERT_TRUE(run_until(ioc, [&] { return !got.empty(); }, 5s));
  EXPECT_EQ(got, std::string("v\0x", 3));  // binary-safe

  std::vector<std::string> messages;
  bool subscribed = false;
  sub->on_message([&](redis_reply_view r) {
    if (!r || !r.is_array()) return;
    if (r.at(0).text() == "subscribe") subscribed = true;
    if (r.at(0).text() == "message") messages.push_back(r.at(2).text());
  });
  ASSERT_TRUE(sub->subscribe({"room:1"}));
  ASSERT_TRUE(run_until(ioc, [&] { return subscribed; }, 5s));
  for (int i = 0; i < 100; ++i) pub->command({"PUBLISH", "room:1", "m" + std::to_string(i)});
  ASSERT_TRUE(run_until(ioc, [&] { return messages.size() == 100; }, 5s));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(messages[static_cast<std::size_t>(i)], "m" + std::to_string(i));

  long long receivers = -1;
  pub->command({"PUBLISH", "room:2", "nobody"}, [&](redis_reply_view r) { receivers = r.integer(); });
  ASSERT_TRUE(run_until(ioc, [&] { return receivers >= 0; }, 5s));
  EXPECT_EQ(receivers, 0);

  // Unsubscribing ends the deliveries of that channel only.
  bool unsubscribed = false;
  sub->on_message([&](redis_reply_view r) {
    if (!r || !r.is_array()) return;
    if (r.at(0).text() == "unsubscribe") unsubscribed = true;
    if (r.at(0).text() == "message") messages.push_back(r.at(1).text());
  });
  ASSERT_TRUE(sub->subscribe({"room:3"}));
  ASSERT_TRUE(sub->unsubscribe({"room:1"}));
  ASSERT_TRUE(run_until(ioc, [&] { return unsubscribed; }, 5s));
  messages.clear();
  pub->command({"PUBLISH", "room:1", "gone"});
  pub->command({"PUBLISH", "room:3", "here"});
  ASSERT_TRUE(run_until(ioc, [&] { return !messages.empty(); }, 5s));
  EXPECT_EQ(messages, std::vector<std::string>{"room:3"});
  pub->stop();
  sub->stop();
  run_until(ioc, [&] { return !pub->connected() && !sub->connected(); }, 5s);
}

TEST(Redis, ReconnectsWhenTheServerComesBack) {
  redis_server server(free_port());
  net::io_context ioc;
  auto c = std::make_shared<redis_connection>(ioc, at(server.port()));
  int connects = 0, disconnects = 0;
  c->on_connected([&] { ++connects; });
  c->on_disconnected([&] { ++disconnects; });
  c->start();
  ASSERT_TRUE(run_until(ioc, [&] { return connects == 1; }, 5s));

  // A reply still awaited when the server dies is answered with a null view, once.
  int null_replies = 0;
  ASSERT_TRUE(c->command({"BLPOP", "never", "0"}, [&](redis_reply_view r) { null_replies += r ? 0 : 1; }));
  run_until(ioc, [] { return false; }, 100ms);
  server.kill();
  ASSERT_TRUE(run_until(ioc, [&] { return disconnects == 1; }, 5s));
  EXPECT_EQ(null_replies, 1);
  EXPECT_FALSE(c->connected());
  EXPECT_FALSE(c->command({"PING"}));  // refused while down, not queued

  // Down for a while: the connection keeps trying (with backoff) and is back within 5 s of
  // the server's return.
  run_until(ioc, [] { return false; }, 1500ms);
  server.start();
  ASSERT_TRUE(run_until(ioc, [&] { return connects == 2; }, 5s));
  std::string pong;
  ASSERT_TRUE(c->command({"PING"}, [&](redis_reply_view r) { pong = r.text(); }));
  ASSERT_TRUE(run_until(ioc, [&] { return !pong.empty(); }, 5s));
  EXPECT_EQ(pong, "PONG");
  c->stop();
  run_until(ioc, [&] { return !c->connected(); }, 5s);
}

TEST(Redis, GivesUpNothingWhenNoServerEverAnswers) {
  // Nobody listens: start() keeps retrying in the background, commands are refused, and
  // destroying the connection ends it cleanly.
  net::io_context ioc;
  auto c = std::make_shared<redis_connection>(ioc, at(free_port()));
  c->start();
  run_until(ioc, [] { return false; }, 400ms);
  EXPECT_FALSE(c->connected());
  EXPECT_FALSE(c->command({"PING"}));
  c.reset();
  run_until(ioc, [] { return false; }, 100ms);
}
