// roomwire load generator: many WebSocket connections from one process, on Asio with a
// hand-written WebSocket client (see `client`).
//
// --mode fanout: S subscribers and P publishers join one room; each publisher keeps K
//   room messages of B bytes in flight (a message completes when the fan-out brings it
//   back to its sender) and every subscriber counts what it receives: deliveries/s.
//   With --port2 every other subscriber connects there instead (a second server of a
//   cluster; the publishers stay on --port). With --stamp 1 each message carries its send
//   time and deliveries are timed: p50/p99 for the subscribers on --port and on --port2.
//   With --paced 1 the publishers send open-loop at --rate messages/s in total instead of
//   keeping K in flight: timings without queueing.
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
// --no-welcome 1: the server sends no welcome (a route with protocol 'raw'): a connection
//   is ready at its 101.
// --plain 1 (fanout): plain text instead of RNode's frames, for servers that put every
//   connection of the route in one channel and relay each message to it as it is (a
//   hooks route, a raw route, a ws server): no welcome and no join; a message is
//   "M<client id>:<body>", a delivery any frame starting with "M".
// --tls 1 speaks wss (TLS through the same corked client, certificates not verified).
// --deflate 1 offers permessage-deflate and inflates compressed frames (one inflater per
//   client); --text 1 makes fanout bodies chat-like text instead of one repeated byte;
//   --cpu-pid P reports that process's CPU seconds over the measured window (fanout).
// Prints one JSON line. Runs stop by themselves (warm-up + window + 60 s at most).
//
// Usage: roomwire_loadgen --port N [--mode fanout|echo|latency|idle] [--protocol roomwire|socketio]
//          [--host 127.0.0.1]
//          [--path /bench] [--room bench] [--subscribers 1000] [--publishers 1]
//          [--connections 100] [--inflight 8] [--size 100] [--rate 10000]
//          [--warmup 1] [--seconds 5] [--connect-batch 200] [--tick-us 500] [--port2 N] [--stamp 0|1]
//          [--paced 0|1] [--deflate 0|1] [--text 0|1] [--cpu-pid P] [--tls 0|1] [--no-welcome 0|1]
//          [--plain 0|1]
#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "corked_socket.hpp"
#include "deflate.hpp"
#include "tls.hpp"
#include "ws_frame.hpp"

namespace net = boost::asio;
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
  unsigned short port2 = 0;  // fanout: every other subscriber connects here
  bool stamp = false;        // fanout: time each delivery
  bool paced = false;        // fanout: publish open-loop at `rate`
  std::string path = "/bench";
  std::string room = "bench";
  int subscribers = 1000;
  int publishers = 1;
  int inflight = 8;
  int size = 100;
  double warmup = 1;
  double seconds = 5;
  int connect_batch = 200;
  int tick_us = 500;  // latency mode: the pacer's period (frames due are sent each tick)
  bool deflate = false;  // offer permessage-deflate and inflate what comes compressed
  bool text = false;     // fanout: a message body of words and numbers (compresses like chat JSON)
  bool no_welcome = false;  // echo: the server sends no welcome (protocol 'raw'): ready at the 101
  bool plain = false;       // fanout: plain text frames, no join (see --plain)
  int cpu_pid = 0;       // report this process's CPU time over the measured window
  std::shared_ptr<roomwire::tls_context> tls;  // --tls 1: wss, verifying nothing (loopback)
};

struct totals {
  int ready = 0;
  int failed = 0;
  bool counting = false;
  bool running = true;
  std::uint64_t received = 0;   // deliveries (fanout) or replies (echo, latency)
  std::uint64_t published = 0;
  double cpu_s = -1;            // --cpu-pid: its user + system time while counting
  std::vector<double> rtts_ms;
  std::vector<double> rtts_remote_ms;  // fanout --stamp: deliveries to subscribers on --port2
  clock_type::time_point epoch = clock_type::now();
};

/// A JSON frame of exactly `size` bytes (at least the envelope), optionally stamped with
/// Digits of a frame's send-time stamp (nanoseconds since the run began, zero-padded).
constexpr std::size_t stamp_digits = 19;

/// `#T<ns>#` (stamp_digits digits) so its echo or its message_ack can be timed.
std::string make_payload(const settings& s, const char* type, long long stamp) {
  std::string head = std::string("{\"type\":\"") + type + "\",\"data\":\"";
  if (stamp >= 0) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "#T%0*lld#", static_cast<int>(stamp_digits), stamp);
    head += digits;
  }
  std::size_t envelope = head.size() + 2;
  std::size_t pad = s.size > static_cast<int>(envelope) ? s.size - envelope : 0;
  return head + std::string(pad, 'x') + "\"}";
}

/// `size` bytes of chat-like text, no characters JSON would escape: words from a small
/// vocabulary and numbers, from a fixed seed (every run and every server sends the same).
std::string text_body(std::size_t size) {
  static const char* words[] = {"the", "room", "user", "message", "online", "status", "update", "score",
                                "level", "player", "joined", "left", "typing", "hello", "thanks", "ready"};
  std::string out;
  std::uint32_t x = 2463534242u;
  while (out.size() < size) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    if (x % 4 == 0) out += std::to_string(x % 100000);
    else out += words[x % 16];
    out += x % 7 == 0 ? ", " : " ";
  }
  out.resize(size);
  return out;
}

/// User plus system CPU seconds of process `pid` so far (-1 when unreadable).
double process_cpu_s(int pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return -1;
  char buf[1024];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the name may hold spaces; fields follow it
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Wraps a frame for the protocol spoken: as is, or as a Socket.IO `event` packet.
std::string framed(const settings& s, const char* event, const std::string& data) {
  if (!s.socketio) return data;
  return std::string("42[\"") + event + "\"," + data + "]";
}

/// One WebSocket client, spoken by hand over the corked socket: the upgrade request, then
/// frames parsed straight from a read buffer and masked frames appended to the cork. It
/// costs far less per frame than a full WebSocket stream, so the load generator stays cheap
/// next to the server it measures (every server is driven by the same client).
class client : public std::enable_shared_from_this<client> {
 public:
  client(net::io_context& ioc, const settings& s, totals& t, std::string id, bool publisher)
      : sock_(roomwire::tcp_socket(ioc), s.tls ? std::make_unique<roomwire::tls_engine>(s.tls) : nullptr), s_(s), t_(t), id_(std::move(id)), publisher_(publisher) {
    delivery_prefix_ = s_.plain ? "M" : s_.socketio ? "42[\"room_message\"" : "{\"type\":\"room_message\"";
    if (s_.mode == "fanout" && s_.plain) {
      own_marker_ = "M" + id_ + ":";
      message_ = own_marker_ + (s_.text ? text_body(static_cast<std::size_t>(s_.size)) : std::string(static_cast<std::size_t>(s_.size), 'x'));
    } else if (s_.mode == "fanout") {
      own_marker_ = "\"from_client_id\":\"" + id_ + "\"";
      std::string body = s_.text ? text_body(static_cast<std::size_t>(s_.size)) : std::string(static_cast<std::size_t>(s_.size), 'x');
      if (s_.stamp) body.replace(0, std::min(body.size(), stamp_digits + 3), "#T" + std::string(stamp_digits, '0') + "#");
      std::string room_message = s_.socketio
          ? "{\"room_id\":\"" + s_.room + "\",\"message\":\"" + body + "\"}"
          : "{\"type\":\"room_message\",\"room_id\":\"" + s_.room + "\",\"message\":\"" + body + "\"}";
      message_ = framed(s_, "room_message", room_message);
      if (s_.stamp) stamp_at_ = message_.find("#T") + 2;
    } else {
      message_ = framed(s_, "echo", make_payload(s_, "echo", -1));
      // Latency mode stamps a copy of one frame in place: no allocation per frame.
      stamped_ = framed(s_, "echo", make_payload(s_, "echo", 0));
      stamp_at_ = stamped_.find("#T") + 2;
    }
  }

  void start(tcp::endpoint ep, net::ip::address source, std::function<void()> ready) {
    ready_ = std::move(ready);
    // The socket's pending operations hold the client; it counts no credit.
    static const roomwire::corked_socket::owner_ops ops{
        [](void* self) -> std::shared_ptr<void> { return static_cast<client*>(self)->weak_from_this().lock(); },
        [](void*, std::size_t) {}};
    sock_.bind(ops, this);
    auto& sock = sock_.next_layer();
    error_code open_ec;
    sock.open(ep.protocol(), open_ec);
    if (!open_ec) sock.set_option(tcp::no_delay(true), open_ec);
    if (!open_ec && !source.is_unspecified()) sock.bind(tcp::endpoint(source, 0), open_ec);
    if (open_ec) return fail("bind", open_ec);
    sock.async_connect(ep, [self = shared_from_this()](error_code ec) {
      if (ec) return self->fail("connect", ec);
      std::string target = self->s_.socketio
          ? "/socket.io/?EIO=4&transport=websocket&clientId=" + self->id_
          : self->s_.path + "?clientId=" + self->id_;
      std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + self->s_.host +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                            (self->s_.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "") +
                            "\r\n";
      self->sock_.append_frame(nullptr, 0, request, 0);
      self->read();
    });
  }

  /// Starts the closed loop (fanout publishers, echo): K frames in flight.
  void begin() {
    for (int i = 0; i < s_.inflight; ++i) send(message_);
  }

  /// Sends one stamped frame (latency mode), or one room message (paced fanout).
  void send_stamped() {
    std::string& frame = s_.mode == "fanout" ? message_ : stamped_;
    if (s_.mode != "fanout" || s_.stamp) restamp(frame);
    if (s_.mode == "fanout" && t_.counting) ++t_.published;
    send(frame);
  }

  /// Marks a fanout subscriber as connected to --port2.
  void set_remote() { remote_ = true; }
  bool remote() const { return remote_; }

  void stop() {
    error_code ignored;
    sock_.next_layer().close(ignored);
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
    // As the server reads: wait until the socket has bytes (what is corked goes out first),
    // then take what it holds without blocking.
    sock_.async_wait_readable([self = shared_from_this()](error_code ec) {
      if (ec) return self->fail("read", ec);
      if (self->in_.size() - self->used_ < 16 * 1024) self->in_.resize(self->used_ + 64 * 1024);
      std::size_t n = self->sock_.read_some(
          net::buffer(self->in_.data() + self->used_, self->in_.size() - self->used_), ec);
      if (ec == net::error::would_block) return self->read();
      if (ec) return self->fail("read", ec);
      self->used_ += n;
      if (!self->consume()) return;
      self->read();
    });
  }

  /// Handles every complete frame (or the upgrade response) in the buffer; false on a
  /// protocol failure.
  bool consume() {
    std::size_t at = 0;
    if (!upgraded_) {
      std::string_view seen(in_.data(), used_);
      auto end = seen.find("\r\n\r\n");
      if (end == std::string_view::npos) return true;
      if (seen.compare(0, 12, "HTTP/1.1 101") != 0) {
        fail("handshake", net::error::connection_refused);
        return false;
      }
      upgraded_ = true;
      at = end + 4;
      if (s_.no_welcome) {
        welcomed_ = true;
        mark_ready();
      }
    }
    while (used_ - at >= 2) {
      auto b0 = static_cast<unsigned char>(in_[at]);
      auto b1 = static_cast<unsigned char>(in_[at + 1]);
      std::size_t head = 2;
      std::uint64_t len = b1 & 0x7f;
      if (len == 126) {
        if (used_ - at < 4) break;
        len = (std::uint64_t{static_cast<unsigned char>(in_[at + 2])} << 8) | static_cast<unsigned char>(in_[at + 3]);
        head = 4;
      } else if (len == 127) {
        if (used_ - at < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(in_[at + 2 + i]);
        head = 10;
      }
      if (used_ - at < head + len) break;
      std::string_view payload(in_.data() + at + head, static_cast<std::size_t>(len));
      at += head + static_cast<std::size_t>(len);
      unsigned opcode = b0 & 0x0f;
      if (opcode == 0x9) {
        send_frame(0xA, payload);  // pong
      } else if (opcode == 0x8) {
        fail("read", net::error::eof);
        return false;
      } else if (opcode <= 0x2 && (b0 & 0x40)) {
        // Compressed (permessage-deflate): one inflater per client, keeping its window
        // in case the server keeps its own.
        if (!inflater_) inflater_ = std::make_unique<roomwire::inflater>(true);
        if (inflater_->inflate(payload, inflated_, 64 << 20) != roomwire::inflate_result::ok) {
          fail("inflate", net::error::invalid_argument);
          return false;
        }
        on_frame(inflated_);
      } else if (opcode <= 0x2) {
        on_frame(payload);
      }
    }
    // Keep only the unfinished frame, at the front.
    if (at > 0) {
      std::memmove(in_.data(), in_.data() + at, used_ - at);
      used_ -= at;
    }
    return true;
  }

  void on_frame(std::string_view text) {
    if (s_.socketio) {
      // Engine.IO: a ping is answered at once; the open packet is answered with the
      // namespace connect, whose acknowledgement ("40{..}") plays the welcome's part.
      if (text == "2") return send("3");
      if (!opened_) {
        if (!text.empty() && text[0] == '0') {
          opened_ = true;
          send("40");
        }
        return;
      }
      if (welcomed_ && text.compare(0, 2, "42") != 0) return;
    }
    if (!welcomed_) {
      welcomed_ = true;
      if (s_.mode == "fanout")
        send(s_.socketio ? "42[\"join\",\"" + s_.room + "\"]"
                         : "{\"type\":\"join_room\",\"room_id\":\"" + s_.room + "\"}");
      else
        mark_ready();
      return;
    }
    if (s_.mode == "fanout") {
      if (text.compare(0, delivery_prefix_.size(), delivery_prefix_) == 0) {
        if (t_.counting) {
          ++t_.received;
          if (s_.stamp && !publisher_) {
            double ms = stamped_ms(text);
            if (ms >= 0) (remote_ ? t_.rtts_remote_ms : t_.rtts_ms).push_back(ms);
          }
        }
        const bool own = s_.plain ? text.compare(0, own_marker_.size(), own_marker_) == 0
                                  : text.find(own_marker_) != std::string_view::npos;
        if (publisher_ && !s_.paced && t_.running && own) {
          if (t_.counting) ++t_.published;
          if (s_.stamp) restamp(message_);
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
      double ms = stamped_ms(text);
      if (ms >= 0 && t_.counting) {
        ++t_.received;
        t_.rtts_ms.push_back(ms);
      }
    }
  }

  void send(std::string_view text) { send_frame(0x1, text); }

  /// Writes the time since the run began into `frame`'s stamp.
  void restamp(std::string& frame) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t_.epoch).count();
    for (std::size_t i = stamp_at_ + stamp_digits; i-- > stamp_at_; ns /= 10) frame[i] = static_cast<char>('0' + ns % 10);
  }

  /// The round trip from the stamp in `text` to now, in ms; negative without a stamp.
  double stamped_ms(std::string_view text) const {
    auto at = text.find("#T");
    if (at == std::string_view::npos || text.size() < at + 2 + stamp_digits) return -1;
    long long sent = 0;
    for (std::size_t i = at + 2; i < at + 2 + stamp_digits; ++i) sent = sent * 10 + (text[i] - '0');
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t_.epoch).count();
    return (now - sent) / 1e6;
  }

  /// Appends one masked client frame; the mask key is zero, so the payload goes as is.
  void send_frame(unsigned opcode, std::string_view payload) {
    unsigned char head[14];
    sock_.append_frame(head, roomwire::frame_header(head, opcode, payload.size(), true), payload, 0);
  }

  std::string stamped_;        // latency mode: the frame whose stamp is rewritten per send
  std::size_t stamp_at_ = 0;   // where its stamp's digits start
  // Corked like the server's: frames queued in one turn leave in one write.
  roomwire::corked_socket sock_;
  std::vector<char> in_;
  std::size_t used_ = 0;
  bool upgraded_ = false;
  const settings& s_;
  totals& t_;
  std::string id_;
  bool publisher_;
  bool remote_ = false;  // fanout: a subscriber on --port2
  bool opened_ = false;  // Socket.IO: the Engine.IO open packet has arrived
  bool welcomed_ = false;
  bool ready_flag_ = false;
  std::string own_marker_;
  std::string delivery_prefix_;
  std::string message_;
  std::unique_ptr<roomwire::inflater> inflater_;
  std::string inflated_;
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
    else if (k == "--port2") s.port2 = static_cast<unsigned short>(std::atoi(v.c_str()));
    else if (k == "--stamp") s.stamp = v == "1";
    else if (k == "--paced") s.paced = v == "1";
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
    else if (k == "--deflate") s.deflate = v == "1";
    else if (k == "--tls") s.tls = v == "1" ? roomwire::tls_context::insecure_client() : nullptr;
    else if (k == "--text") s.text = v == "1";
    else if (k == "--no-welcome") s.no_welcome = v == "1";
    else if (k == "--plain") s.plain = s.no_welcome = v == "1";
    else if (k == "--cpu-pid") s.cpu_pid = std::atoi(v.c_str());
    else if (k == "--tick-us") s.tick_us = std::max(10, std::atoi(v.c_str()));
    else return false;
  }
  bool mode_ok = s.mode == "fanout" || s.mode == "echo" || s.mode == "latency" || s.mode == "idle";
  return mode_ok && s.port != 0 && s.inflight > 0 && s.connections > 0 && s.rate > 0 && !(s.plain && (s.stamp || s.socketio));
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
  tcp::endpoint ep2(net::ip::make_address(s.host), s.port2 ? s.port2 : s.port);
  std::vector<std::shared_ptr<client>> all, active;
  if (s.mode == "fanout") {
    for (int i = 0; i < s.subscribers; ++i) {
      all.push_back(std::make_shared<client>(ioc, s, t, "sub" + std::to_string(i), false));
      if (s.port2 != 0 && i % 2 == 1) all.back()->set_remote();
    }
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

  double cpu_at_start = -1;
  auto finish = [&] {
    if (s.cpu_pid != 0 && cpu_at_start >= 0) t.cpu_s = process_cpu_s(s.cpu_pid) - cpu_at_start;
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
    pacer.expires_after(std::chrono::microseconds(s.tick_us));
    pacer.async_wait(pace);
  };
  auto begin_measure = [&] {
    if (s.mode == "idle") std::printf("{\"ready\":%d}\n", t.ready), std::fflush(stdout);
    if ((s.mode == "fanout" && !s.paced) || s.mode == "echo") for (auto& c : active) c->begin();
    if (s.mode == "latency" || (s.mode == "fanout" && s.paced)) {
      last_tick = clock_type::now();
      pace({});
    }
    timer.expires_after(seconds(s.warmup));
    timer.async_wait([&](error_code) {
      t.counting = true;
      started = clock_type::now();
      if (s.cpu_pid != 0) cpu_at_start = process_cpu_s(s.cpu_pid);
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
      auto& c = all[next++];
      c->start(c->remote() ? ep2 : ep, source, [&] {
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
                "\"seconds\":%.3f,\"deliveries\":%llu,\"published\":%llu,\"deliveries_per_s\":%.0f,"
                "\"server_cpu_s\":%.3f,\"server_cpu_us_per_delivery\":%.4f}\n",
                s.subscribers, s.publishers, s.inflight, s.size, measured,
                static_cast<unsigned long long>(t.received), static_cast<unsigned long long>(t.published),
                t.received / measured, t.cpu_s, t.cpu_s >= 0 && t.received ? t.cpu_s * 1e6 / t.received : -1.0);
    if (s.stamp) {
      // The JSON line goes on: the timings of both groups of subscribers.
      std::fflush(stdout);
      std::printf("{\"mode\":\"fanout-timing\",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p50_remote_ms\":%.3f,"
                  "\"p99_remote_ms\":%.3f,\"timed\":%zu,\"timed_remote\":%zu}\n",
                  percentile(t.rtts_ms, 0.5), percentile(t.rtts_ms, 0.99), percentile(t.rtts_remote_ms, 0.5),
                  percentile(t.rtts_remote_ms, 0.99), t.rtts_ms.size(), t.rtts_remote_ms.size());
    }
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
