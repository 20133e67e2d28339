// The per-core floor: a WebSocket server with nothing but what the kernel needs, to
// measure how fast any design can echo or relay on this machine. One thread, one epoll
// set (edge-triggered), reads into a 64 KiB stack buffer until drained, every frame of a
// read answered into the connection's output buffer, and each buffer written with one
// send once the epoll batch is handled: the corking uWebSockets.js does, with no
// framework, no callbacks, no allocation per message.
// Echo (default): each data frame goes back to its sender; a welcome is sent at the 101
// like the other echo servers, so the load generator treats them alike.
// --relay: each data frame goes to every open connection (the load generator's
// `--plain 1` fan-out), no welcome.
// Not a server to use: no limits, no fragmentation, no UTF-8 checks.
//
// Usage: roomwire_epoll_echo [--relay] (prints the loopback port it listens on).
#include <openssl/sha.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

struct conn {
  int fd;
  bool open = false;   // past the handshake
  bool queued = false; // in `dirty`
  bool dead = false;   // closes once the batch is written
  std::size_t at = 0;  // its place in `open_conns`
  std::string in;     // bytes of an incomplete request or frame
  std::string out;    // bytes the kernel did not take yet
};

bool relay = false;
std::vector<conn*> open_conns;  // past the handshake, for --relay
std::vector<conn*> dirty;       // connections with bytes to send after this batch
std::string scratch;            // a relayed frame, built once

void queue(conn& c) {
  if (!c.queued) {
    c.queued = true;
    dirty.push_back(&c);
  }
}

std::string base64(const unsigned char* p, std::size_t n) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = std::uint32_t(p[i]) << 16;
    if (i + 1 < n) v |= std::uint32_t(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    s += abc[(v >> 18) & 63];
    s += abc[(v >> 12) & 63];
    s += i + 1 < n ? abc[(v >> 6) & 63] : '=';
    s += i + 2 < n ? abc[v & 63] : '=';
  }
  return s;
}

// The 101 for a complete request head, or an empty string when it has no key.
std::string upgrade_response(std::string_view head) {
  static const std::string_view name = "sec-websocket-key:";
  std::string lower(head);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower.find(name);
  if (at == std::string::npos) return {};
  auto b = head.find_first_not_of(' ', at + name.size());
  auto e = head.find("\r\n", b);
  std::string key(head.substr(b, e - b));
  while (!key.empty() && key.back() == ' ') key.pop_back();
  key += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " + base64(digest, sizeof digest) + "\r\n\r\n";
}

void put_frame(std::string& out, unsigned opcode, const char* payload, std::size_t n, const unsigned char* mask) {
  char head[10];
  std::size_t h = 2;
  head[0] = char(0x80 | opcode);
  if (n < 126) {
    head[1] = char(n);
  } else if (n < 65536) {
    head[1] = 126;
    head[2] = char(n >> 8);
    head[3] = char(n);
    h = 4;
  } else {
    head[1] = 127;
    for (int i = 0; i < 8; ++i) head[2 + i] = char(std::uint64_t(n) >> (56 - 8 * i));
    h = 10;
  }
  out.append(head, h);
  std::size_t at = out.size();
  out.append(payload, n);
  if (mask) for (std::size_t i = 0; i < n; ++i) out[at + i] = char(out[at + i] ^ mask[i & 3]);
}

// Echoes every complete frame of [p, end); returns where the incomplete rest begins, or
// nullptr when the connection is to close.
const char* echo_frames(conn& c, const char* p, const char* end) {
  while (end - p >= 2) {
    auto b0 = static_cast<unsigned char>(p[0]), b1 = static_cast<unsigned char>(p[1]);
    std::size_t h = 2;
    std::uint64_t n = b1 & 0x7f;
    if (n == 126) {
      if (end - p < 4) break;
      n = (std::uint64_t(static_cast<unsigned char>(p[2])) << 8) | static_cast<unsigned char>(p[3]);
      h = 4;
    } else if (n == 127) {
      if (end - p < 10) break;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | static_cast<unsigned char>(p[2 + i]);
      h = 10;
    }
    const unsigned char* mask = nullptr;
    if (b1 & 0x80) {
      mask = reinterpret_cast<const unsigned char*>(p + h);
      h += 4;
    }
    if (std::uint64_t(end - p) < h + n) break;
    unsigned opcode = b0 & 0x0f;
    if (opcode == 8) {
      put_frame(c.out, 8, p + h, n < 2 ? 0 : 2, mask);  // the close code back, no reason
      return nullptr;
    }
    if (relay && (opcode == 1 || opcode == 2)) {
      scratch.clear();
      put_frame(scratch, opcode, p + h, n, mask);
      for (conn* o : open_conns) {
        o->out += scratch;
        queue(*o);
      }
    } else {
      put_frame(c.out, opcode == 9 ? 10 : opcode, p + h, n, mask);
      queue(c);
    }
    p += h + n;
  }
  return p;
}

// Writes what is queued; false when the connection is gone.
bool flush(conn& c) {
  while (!c.out.empty()) {
    ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    c.out.erase(0, std::size_t(w));
  }
  return true;
}

// Takes one read's bytes; false when the connection is to close.
bool take(conn& c, const char* data, std::size_t n) {
  std::string_view bytes(data, n);
  if (!c.in.empty()) {
    c.in.append(data, n);
    bytes = c.in;
  }
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  if (!c.open) {
    auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      if (c.in.empty()) c.in.assign(data, n);
      return bytes.size() < 16384;
    }
    std::string reply = upgrade_response(bytes.substr(0, head_end + 4));
    if (reply.empty()) return false;
    c.out += reply;
    if (!relay) {
      const char welcome[] = R"({"type":"welcome"})";
      put_frame(c.out, 1, welcome, sizeof welcome - 1, nullptr);
    }
    queue(c);
    c.open = true;
    c.at = open_conns.size();
    open_conns.push_back(&c);
    p += head_end + 4;
  }
  const char* rest = echo_frames(c, p, end);
  if (!rest) return false;
  std::string left(rest, std::size_t(end - rest));
  c.in.swap(left);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  relay = argc > 1 && std::string_view(argv[1]) == "--relay";
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4096) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("listen");
    return 1;
  }
  std::printf("%u\n", unsigned(ntohs(addr.sin_port)));
  std::fflush(stdout);

  int ep = ::epoll_create1(0);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.ptr = nullptr;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  std::unordered_map<conn*, std::unique_ptr<conn>> conns;
  static char buf[65536];
  epoll_event events[256];
  for (;;) {
    int k = ::epoll_wait(ep, events, 256, -1);
    if (k < 0 && errno == EINTR) continue;
    for (int i = 0; i < k; ++i) {
      if (!events[i].data.ptr) {
        for (;;) {
          int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (fd < 0) break;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto c = std::make_unique<conn>();
          c->fd = fd;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          ev.data.ptr = c.get();
          ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
          conn* key = c.get();
          conns.emplace(key, std::move(c));
        }
        continue;
      }
      conn& c = *static_cast<conn*>(events[i].data.ptr);
      if (c.dead) continue;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
          if (r > 0) {
            if (!take(c, buf, std::size_t(r))) c.dead = true;
            if (c.dead || std::size_t(r) < sizeof buf) break;  // drained: the next edge brings more
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.dead = true;
          break;
        }
      }
      if (events[i].events & EPOLLOUT) queue(c);
      if (c.dead) queue(c);
    }
    // One send per connection for everything this batch gave it; then the closes.
    for (std::size_t d = 0; d < dirty.size(); ++d) {
      conn& c = *dirty[d];
      c.queued = false;
      if (!flush(c)) c.dead = true;
      if (!c.dead) continue;
      ::close(c.fd);
      if (c.open) {
        open_conns[c.at] = open_conns.back();
        open_conns[c.at]->at = c.at;
        open_conns.pop_back();
      }
      conns.erase(&c);
    }
    dirty.clear();
  }
}
