// roomwire load generator: many WebSocket connections from one process on Beast.
//
// fanout mode: S subscribers and P publishers join one room; each publisher keeps K
// room messages of B bytes in flight (a message completes when the fan-out brings it back
// to its sender) and every subscriber counts what it receives. Prints one JSON line with
// deliveries/s over the measured window.
//
// Usage: roomwire_loadgen --port N [--host 127.0.0.1] [--path /bench] [--room bench]
//          [--subscribers 1000] [--publishers 1] [--inflight 8] [--size 100]
//          [--warmup 1] [--seconds 5] [--connect-batch 200]
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

struct settings {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string path = "/bench";
  std::string room = "bench";
  int subscribers = 1000;
  int publishers = 1;
  int inflight = 8;
  int size = 100;
  double warmup = 1;
  double seconds = 5;
  int connect_batch = 200;
};

struct totals {
  int joined = 0;
  int failed = 0;
  bool counting = false;
  bool running = true;
  std::uint64_t deliveries = 0;
  std::uint64_t published = 0;
};

class client : public std::enable_shared_from_this<client> {
 public:
  client(net::io_context& ioc, const settings& s, totals& t, std::string id, bool publisher)
      : ws_(net::make_strand(ioc)), s_(s), t_(t), id_(std::move(id)), publisher_(publisher) {
    own_marker_ = "\"from_client_id\":\"" + id_ + "\"";
    std::string body(static_cast<std::size_t>(s_.size), 'x');
    message_ = std::make_shared<const std::string>(
        "{\"type\":\"room_message\",\"room_id\":\"" + s_.room + "\",\"message\":\"" + body + "\"}");
  }

  void start(tcp::endpoint ep, std::function<void()> connected) {
    connected_ = std::move(connected);
    beast::get_lowest_layer(ws_).async_connect(ep, [self = shared_from_this()](error_code ec) {
      if (ec) return self->fail("connect", ec);
      self->ws_.async_handshake(self->s_.host, self->s_.path + "?clientId=" + self->id_,
                                [self](error_code ec) {
                                  if (ec) return self->fail("handshake", ec);
                                  self->send(std::make_shared<const std::string>(
                                      "{\"type\":\"join_room\",\"room_id\":\"" + self->s_.room + "\"}"));
                                  self->read();
                                });
    });
  }

  /// Starts publishing (on the client's strand).
  void publish() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      for (int i = 0; i < self->s_.inflight; ++i) self->send(self->message_);
    });
  }

  void stop() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

 private:
  void fail(const char* what, error_code ec) {
    if (!t_.running) return;
    if (!joined_) {
      ++t_.failed;
      std::fprintf(stderr, "loadgen: %s: %s\n", what, ec.message().c_str());
      if (connected_) std::exchange(connected_, nullptr)();
    }
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->fail("read", ec);
      self->on_frame();
      self->buf_.consume(self->buf_.size());
      self->read();
    });
  }

  void on_frame() {
    auto data = buf_.cdata();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (text.compare(0, 22, "{\"type\":\"room_message\"") == 0) {
      if (t_.counting) ++t_.deliveries;
      if (publisher_ && t_.running && text.find(own_marker_) != std::string_view::npos) {
        if (t_.counting) ++t_.published;
        send(message_);
      }
      return;
    }
    if (!joined_ && text.find("\"room_joined\"") != std::string_view::npos) {
      joined_ = true;
      ++t_.joined;
      if (connected_) std::exchange(connected_, nullptr)();
    }
  }

  void send(std::shared_ptr<const std::string> msg) {
    queue_.push_back(std::move(msg));
    if (!writing_) write();
  }

  void write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](error_code ec, std::size_t) {
      self->writing_ = false;
      self->queue_.pop_front();
      if (ec) return self->fail("write", ec);
      if (!self->queue_.empty()) self->write();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  const settings& s_;
  totals& t_;
  std::string id_;
  bool publisher_;
  bool joined_ = false;
  bool writing_ = false;
  std::string own_marker_;
  std::shared_ptr<const std::string> message_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::function<void()> connected_;
};

bool parse(int argc, char** argv, settings& s) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--host") s.host = v;
    else if (k == "--port") s.port = static_cast<unsigned short>(std::atoi(v.c_str()));
    else if (k == "--path") s.path = v;
    else if (k == "--room") s.room = v;
    else if (k == "--subscribers") s.subscribers = std::atoi(v.c_str());
    else if (k == "--publishers") s.publishers = std::atoi(v.c_str());
    else if (k == "--inflight") s.inflight = std::atoi(v.c_str());
    else if (k == "--size") s.size = std::atoi(v.c_str());
    else if (k == "--warmup") s.warmup = std::atof(v.c_str());
    else if (k == "--seconds") s.seconds = std::atof(v.c_str());
    else if (k == "--connect-batch") s.connect_batch = std::atoi(v.c_str());
    else return false;
  }
  return s.port != 0 && s.subscribers >= 0 && s.publishers > 0 && s.inflight > 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  if (!parse(argc, argv, s)) {
    std::fprintf(stderr, "usage: roomwire_loadgen --port N [--subscribers 1000] [--publishers 1] "
                         "[--inflight 8] [--size 100] [--warmup 1] [--seconds 5]\n");
    return 2;
  }
  net::io_context ioc(1);
  totals t;
  tcp::endpoint ep(net::ip::make_address(s.host), s.port);
  std::vector<std::shared_ptr<client>> subs, pubs;
  for (int i = 0; i < s.subscribers; ++i)
    subs.push_back(std::make_shared<client>(ioc, s, t, "sub" + std::to_string(i), false));
  for (int i = 0; i < s.publishers; ++i)
    pubs.push_back(std::make_shared<client>(ioc, s, t, "pub" + std::to_string(i), true));
  std::vector<std::shared_ptr<client>> all(subs);
  all.insert(all.end(), pubs.begin(), pubs.end());

  // Connect in waves so the listen backlog never overflows.
  std::size_t next = 0;
  int outstanding = 0;
  const int total = static_cast<int>(all.size());
  std::function<void()> pump;
  net::steady_timer timer(ioc);
  auto started = std::chrono::steady_clock::now();
  double measured = 0;
  auto begin_measure = [&] {
    for (auto& p : pubs) p->publish();
    timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s.warmup)));
    timer.async_wait([&](error_code) {
      t.counting = true;
      started = std::chrono::steady_clock::now();
      timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s.seconds)));
      timer.async_wait([&](error_code) {
        t.counting = false;
        t.running = false;
        measured = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        for (auto& c : all) c->stop();
        ioc.stop();
      });
    });
  };
  pump = [&] {
    while (next < all.size() && outstanding < s.connect_batch) {
      ++outstanding;
      all[next++]->start(ep, [&] {
        --outstanding;
        if (t.joined + t.failed == total) {
          if (t.failed > 0) {
            std::fprintf(stderr, "loadgen: %d connections failed\n", t.failed);
            ioc.stop();
            return;
          }
          begin_measure();
        } else {
          pump();
        }
      });
    }
  };
  pump();
  // Never run longer than connecting plus the measurement plus a margin.
  net::steady_timer guard(ioc);
  guard.expires_after(std::chrono::seconds(60) + std::chrono::duration_cast<std::chrono::seconds>(std::chrono::duration<double>(s.warmup + s.seconds)));
  guard.async_wait([&](error_code ec) {
    if (!ec) {
      std::fprintf(stderr, "loadgen: gave up waiting\n");
      ioc.stop();
    }
  });
  ioc.run();
  if (measured <= 0) return 1;
  std::printf("{\"mode\":\"fanout\",\"subscribers\":%d,\"publishers\":%d,\"inflight\":%d,\"size\":%d,"
              "\"seconds\":%.3f,\"deliveries\":%llu,\"published\":%llu,\"deliveries_per_s\":%.0f}\n",
              s.subscribers, s.publishers, s.inflight, s.size, measured,
              static_cast<unsigned long long>(t.deliveries), static_cast<unsigned long long>(t.published),
              t.deliveries / measured);
  return 0;
}
