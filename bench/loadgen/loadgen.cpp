// roomwire load generator: many WebSocket connections from one process on Beast.
//
// --mode fanout: S subscribers and P publishers join one room; each publisher keeps K
//   room messages of B bytes in flight (a message completes when the fan-out brings it
//   back to its sender) and every subscriber counts what it receives: deliveries/s.
// --mode echo: C connections each keep K frames of B bytes in flight; any frame that comes
//   back (the echo, or the server's message_ack) completes one: messages/s.
// --mode latency: C connections send B-byte frames open-loop at R frames/s in total, each
//   stamped; the round trip of each is recorded: p50/p99/p999 in ms.
// --mode idle: opens C connections (source addresses 127.0.0.1, .2, ... 25,000 apiece,
//   past the ephemeral port range of one address), prints {"ready":C} once all are
//   welcomed, holds them for the measured window, and closes.
// --protocol roomwire (default) speaks roomwire's JSON protocol (also spoken by the ws
//   peers); --protocol socketio speaks Socket.IO 4 over its WebSocket transport: Engine.IO
//   open "0{..}", namespace connect "40", events as 42["name",data], pings "2" answered "3";
//   the room is joined with a `join` event (answered by `joined`), room messages are
//   `room_message` events, echoes `echo` events.
// Prints one JSON line. Runs stop by themselves (warm-up + window + 60 s at most).
//
// Usage: roomwire_loadgen --port N [--mode fanout|echo|latency|idle] [--protocol roomwire|socketio]
//          [--host 127.0.0.1]
//          [--path /bench] [--room bench] [--subscribers 1000] [--publishers 1]
//          [--connections 100] [--inflight 8] [--size 100] [--rate 10000]
//          [--warmup 1] [--seconds 5] [--connect-batch 200]
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
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

#include "corked_socket.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string mode = "fanout";
  bool socketio = false;
  int connections = 100;
  double rate = 10000;
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
  int ready = 0;
  int failed = 0;
  bool counting = false;
  bool running = true;
  std::uint64_t received = 0;   // deliveries (fanout) or replies (echo, latency)
  std::uint64_t published = 0;
  std::vector<double> rtts_ms;
  clock_type::time_point epoch = clock_type::now();
};

/// A JSON frame of exactly `size` bytes (at least the envelope), optionally stamped with
/// `#T<ns>#` so its echo or its message_ack can be timed.
std::string make_payload(const settings& s, const char* type, long long stamp) {
  std::string head = std::string("{\"type\":\"") + type + "\",\"data\":\"";
  if (stamp >= 0) head += "#T" + std::to_string(stamp) + "#";
  std::size_t envelope = head.size() + 2;
  std::size_t pad = s.size > static_cast<int>(envelope) ? s.size - envelope : 0;
  return head + std::string(pad, 'x') + "\"}";
}

/// Wraps a frame for the protocol spoken: as is, or as a Socket.IO `event` packet.
std::string framed(const settings& s, const char* event, const std::string& data) {
  if (!s.socketio) return data;
  return std::string("42[\"") + event + "\"," + data + "]";
}

class client : public std::enable_shared_from_this<client> {
 public:
  client(net::io_context& ioc, const settings& s, totals& t, std::string id, bool publisher)
      : ws_(tcp::socket(ioc)), s_(s), t_(t), id_(std::move(id)), publisher_(publisher) {
    delivery_prefix_ = s_.socketio ? "42[\"room_message\"" : "{\"type\":\"room_message\"";
    if (s_.mode == "fanout") {
      own_marker_ = "\"from_client_id\":\"" + id_ + "\"";
      std::string body(static_cast<std::size_t>(s_.size), 'x');
      std::string room_message = s_.socketio
          ? "{\"room_id\":\"" + s_.room + "\",\"message\":\"" + body + "\"}"
          : "{\"type\":\"room_message\",\"room_id\":\"" + s_.room + "\",\"message\":\"" + body + "\"}";
      message_ = std::make_shared<const std::string>(framed(s_, "room_message", room_message));
    } else {
      message_ = std::make_shared<const std::string>(framed(s_, "echo", make_payload(s_, "echo", -1)));
    }
  }

  void start(tcp::endpoint ep, net::ip::address source, std::function<void()> ready) {
    ready_ = std::move(ready);
    auto& sock = beast::get_lowest_layer(ws_);
    error_code ec;
    sock.open(ep.protocol(), ec);
    if (!ec && !source.is_unspecified()) sock.bind(tcp::endpoint(source, 0), ec);
    if (ec) return fail("bind", ec);
    sock.async_connect(ep, [self = shared_from_this()](error_code ec) {
      if (ec) return self->fail("connect", ec);
      std::string target = self->s_.socketio
          ? "/socket.io/?EIO=4&transport=websocket&clientId=" + self->id_
          : self->s_.path + "?clientId=" + self->id_;
      self->ws_.async_handshake(self->s_.host, target,
                                [self](error_code ec) {
                                  if (ec) return self->fail("handshake", ec);
                                  self->read();
                                });
    });
  }

  /// Starts the closed loop (fanout publishers, echo): K frames in flight.
  void begin() {
    for (int i = 0; i < s_.inflight; ++i) send(message_);
  }

  /// Sends one stamped frame (latency mode).
  void send_stamped() {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t_.epoch).count();
    send(std::make_shared<const std::string>(framed(s_, "echo", make_payload(s_, "echo", ns))));
  }

  void stop() {
    error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

 private:
  void fail(const char* what, error_code ec) {
    if (!t_.running) return;
    if (!ready_flag_) {
      ++t_.failed;
      std::fprintf(stderr, "loadgen: %s: %s\n", what, ec.message().c_str());
      if (ready_) std::exchange(ready_, nullptr)();
    }
  }

  void mark_ready() {
    ready_flag_ = true;
    ++t_.ready;
    if (ready_) std::exchange(ready_, nullptr)();
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
    if (s_.socketio) {
      // Engine.IO: a ping is answered at once; the open packet is answered with the
      // namespace connect, whose acknowledgement ("40{..}") plays the welcome's part.
      if (text == "2") return send(std::make_shared<const std::string>("3"));
      if (!opened_) {
        if (!text.empty() && text[0] == '0') {
          opened_ = true;
          send(std::make_shared<const std::string>("40"));
        }
        return;
      }
      if (welcomed_ && text.compare(0, 2, "42") != 0) return;
    }
    if (!welcomed_) {
      welcomed_ = true;
      if (s_.mode == "fanout")
        send(std::make_shared<const std::string>(
            s_.socketio ? "42[\"join\",\"" + s_.room + "\"]"
                        : "{\"type\":\"join_room\",\"room_id\":\"" + s_.room + "\"}"));
      else
        mark_ready();
      return;
    }
    if (s_.mode == "fanout") {
      if (text.compare(0, delivery_prefix_.size(), delivery_prefix_) == 0) {
        if (t_.counting) ++t_.received;
        if (publisher_ && t_.running && text.find(own_marker_) != std::string_view::npos) {
          if (t_.counting) ++t_.published;
          send(message_);
        }
      } else if (!ready_flag_ && (text.find("\"room_joined\"") != std::string_view::npos ||
                                  text.compare(0, 11, "42[\"joined\"") == 0)) {
        mark_ready();
      }
      return;
    }
    if (s_.mode == "echo") {
      if (t_.counting) ++t_.received;
      if (t_.running) send(message_);
      return;
    }
    if (s_.mode == "latency") {
      auto at = text.find("#T");
      if (at == std::string_view::npos) return;
      long long sent = std::atoll(std::string(text.substr(at + 2, 20)).c_str());
      auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t_.epoch).count();
      if (t_.counting) {
        ++t_.received;
        t_.rtts_ms.push_back((now - sent) / 1e6);
      }
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

  // Corked like the server's: frames queued in one turn leave in one write.
  websocket::stream<roomwire::corked_socket> ws_;
  beast::flat_buffer buf_;
  const settings& s_;
  totals& t_;
  std::string id_;
  bool publisher_;
  bool opened_ = false;  // Socket.IO: the Engine.IO open packet has arrived
  bool welcomed_ = false;
  bool ready_flag_ = false;
  bool writing_ = false;
  std::string own_marker_;
  std::string delivery_prefix_;
  std::shared_ptr<const std::string> message_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::function<void()> ready_;
};

bool parse(int argc, char** argv, settings& s) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--mode") s.mode = v;
    else if (k == "--host") s.host = v;
    else if (k == "--protocol" && (v == "roomwire" || v == "socketio")) s.socketio = v == "socketio";
    else if (k == "--port") s.port = static_cast<unsigned short>(std::atoi(v.c_str()));
    else if (k == "--path") s.path = v;
    else if (k == "--room") s.room = v;
    else if (k == "--subscribers") s.subscribers = std::atoi(v.c_str());
    else if (k == "--publishers") s.publishers = std::atoi(v.c_str());
    else if (k == "--connections") s.connections = std::atoi(v.c_str());
    else if (k == "--inflight") s.inflight = std::atoi(v.c_str());
    else if (k == "--size") s.size = std::atoi(v.c_str());
    else if (k == "--rate") s.rate = std::atof(v.c_str());
    else if (k == "--warmup") s.warmup = std::atof(v.c_str());
    else if (k == "--seconds") s.seconds = std::atof(v.c_str());
    else if (k == "--connect-batch") s.connect_batch = std::atoi(v.c_str());
    else return false;
  }
  bool mode_ok = s.mode == "fanout" || s.mode == "echo" || s.mode == "latency" || s.mode == "idle";
  return mode_ok && s.port != 0 && s.inflight > 0 && s.connections > 0 && s.rate > 0;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(p * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

clock_type::duration seconds(double s) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  if (!parse(argc, argv, s)) {
    std::fprintf(stderr, "usage: roomwire_loadgen --port N [--mode fanout|echo|latency|idle] "
                         "[--connections 100] [--subscribers 1000] [--publishers 1] [--inflight 8] "
                         "[--size 100] [--rate 10000] [--warmup 1] [--seconds 5]\n");
    return 2;
  }
  net::io_context ioc(1);
  totals t;
  tcp::endpoint ep(net::ip::make_address(s.host), s.port);
  std::vector<std::shared_ptr<client>> all, active;
  if (s.mode == "fanout") {
    for (int i = 0; i < s.subscribers; ++i)
      all.push_back(std::make_shared<client>(ioc, s, t, "sub" + std::to_string(i), false));
    for (int i = 0; i < s.publishers; ++i) {
      active.push_back(std::make_shared<client>(ioc, s, t, "pub" + std::to_string(i), true));
      all.push_back(active.back());
    }
  } else {
    for (int i = 0; i < s.connections; ++i) {
      all.push_back(std::make_shared<client>(ioc, s, t, "c" + std::to_string(i), false));
      active.push_back(all.back());
    }
  }

  // Connect in waves so the listen backlog never overflows; past 25,000 connections the
  // next loopback source address takes over (one address has ~28k ephemeral ports).
  std::size_t next = 0;
  int outstanding = 0;
  const int total = static_cast<int>(all.size());
  net::steady_timer timer(ioc), pacer(ioc);
  clock_type::time_point started;
  double measured = 0;
  std::size_t rr = 0;
  double sent_credit = 0;
  clock_type::time_point last_tick;

  auto finish = [&] {
    t.counting = false;
    t.running = false;
    measured = std::chrono::duration<double>(clock_type::now() - started).count();
    pacer.cancel();
    for (auto& c : all) c->stop();
    ioc.stop();
  };
  std::function<void(error_code)> pace = [&](error_code ec) {
    if (ec || !t.running) return;
    // Open loop: send what the rate says is due since the last tick, round robin.
    auto now = clock_type::now();
    sent_credit += std::chrono::duration<double>(now - last_tick).count() * s.rate;
    last_tick = now;
    while (sent_credit >= 1) {
      active[rr++ % active.size()]->send_stamped();
      sent_credit -= 1;
    }
    pacer.expires_after(std::chrono::microseconds(500));
    pacer.async_wait(pace);
  };
  auto begin_measure = [&] {
    if (s.mode == "idle") std::printf("{\"ready\":%d}\n", t.ready), std::fflush(stdout);
    if (s.mode == "fanout" || s.mode == "echo") for (auto& c : active) c->begin();
    if (s.mode == "latency") {
      last_tick = clock_type::now();
      pace({});
    }
    timer.expires_after(seconds(s.warmup));
    timer.async_wait([&](error_code) {
      t.counting = true;
      started = clock_type::now();
      timer.expires_after(seconds(s.seconds));
      timer.async_wait([&](error_code) { finish(); });
    });
  };
  std::function<void()> pump = [&] {
    while (next < all.size() && outstanding < s.connect_batch) {
      ++outstanding;
      net::ip::address source;
      if (s.host == "127.0.0.1" && total > 25000)
        source = net::ip::make_address_v4(0x7f000001u + static_cast<unsigned>(next / 25000));
      all[next++]->start(ep, source, [&] {
        --outstanding;
        if (t.ready + t.failed == total) {
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
  guard.expires_after(std::chrono::seconds(60) + seconds(s.warmup + s.seconds));
  guard.async_wait([&](error_code ec) {
    if (!ec) {
      std::fprintf(stderr, "loadgen: gave up waiting\n");
      ioc.stop();
    }
  });
  roomwire::run_corked(ioc);
  if (measured <= 0) return 1;
  if (s.mode == "fanout") {
    std::printf("{\"mode\":\"fanout\",\"subscribers\":%d,\"publishers\":%d,\"inflight\":%d,\"size\":%d,"
                "\"seconds\":%.3f,\"deliveries\":%llu,\"published\":%llu,\"deliveries_per_s\":%.0f}\n",
                s.subscribers, s.publishers, s.inflight, s.size, measured,
                static_cast<unsigned long long>(t.received), static_cast<unsigned long long>(t.published),
                t.received / measured);
  } else if (s.mode == "echo") {
    std::printf("{\"mode\":\"echo\",\"connections\":%d,\"inflight\":%d,\"size\":%d,\"seconds\":%.3f,"
                "\"messages\":%llu,\"messages_per_s\":%.0f}\n",
                s.connections, s.inflight, s.size, measured, static_cast<unsigned long long>(t.received),
                t.received / measured);
  } else if (s.mode == "latency") {
    std::printf("{\"mode\":\"latency\",\"connections\":%d,\"rate\":%.0f,\"size\":%d,\"seconds\":%.3f,"
                "\"replies\":%llu,\"replies_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f}\n",
                s.connections, s.rate, s.size, measured, static_cast<unsigned long long>(t.received),
                t.received / measured, percentile(t.rtts_ms, 0.5), percentile(t.rtts_ms, 0.99),
                percentile(t.rtts_ms, 0.999));
  } else {
    std::printf("{\"mode\":\"idle\",\"connections\":%d,\"held_seconds\":%.3f}\n", t.ready, measured);
  }
  return 0;
}
