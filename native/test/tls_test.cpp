// TLS through memory buffers: a client and a server engine handshaking and carrying data
// with nothing between them but this test, material that must be refused, and a wss
// connection to a real server whose closing handshake ends with TLS's close_notify.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <random>
#include <string>

#include "log.hpp"
#include "net.hpp"
#include "server.hpp"
#include "tls.hpp"
#include "ws_frame.hpp"

using namespace roomwire;
using namespace std::chrono_literals;

namespace {

struct pem_pair {
  std::string key, cert;
};

std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

/// A self-signed P-256 certificate for localhost.
pem_pair make_pair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  X509_free(x);
  EVP_PKEY_free(key);
  return {bio_text(kb), bio_text(cb)};
}

/// Moves each engine's output to the other until neither has any.
void pump(tls_engine& a, tls_engine& b) {
  for (int i = 0; i < 20 && (a.has_output() || b.has_output()); ++i) {
    std::string out;
    a.take_output(out);
    b.feed(out.data(), out.size());
    out.clear();
    b.take_output(out);
    a.feed(out.data(), out.size());
    char sink[1];
    std::size_t n;
    // Reads drive the handshake; with nothing to read they only consume records.
    if (a.read(sink, 0, n) == tls_engine::status::failed || b.read(sink, 0, n) == tls_engine::status::failed) return;
  }
}

std::string read_all(tls_engine& e, std::size_t want) {
  std::string out;
  char buf[16384];
  std::size_t n = 0;
  while (out.size() < want && e.read(buf, sizeof buf, n) == tls_engine::status::ok) out.append(buf, n);
  return out;
}

}  // namespace

TEST(Tls, RefusesMaterialThatIsNotValid) {
  pem_pair a = make_pair(), b = make_pair();
  EXPECT_NO_THROW(tls_context({a.key, a.cert, {}, {}}));
  auto message = [](const tls_options& o) {
    try {
      tls_context c(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message({b.key, a.cert, {}, {}}).find("tls.key does not match tls.cert"), std::string::npos);
  EXPECT_NE(message({a.key, "garbage", {}, {}}).find("tls.cert: no PEM certificate found"), std::string::npos);
  EXPECT_NE(message({"garbage", a.cert, {}, {}}).find("tls.key: not a PEM private key"), std::string::npos);
  EXPECT_NE(message({a.key, {}, {}, {}}).find("tls.cert is required"), std::string::npos);
  EXPECT_NE(message({a.key, a.cert, "garbage", {}}).find("tls.ca: no PEM certificate found"), std::string::npos);
}

TEST(Tls, EnginesHandshakeAndCarryDataThroughMemory) {
  pem_pair p = make_pair();
  auto server_ctx = std::make_shared<tls_context>(tls_options{p.key, p.cert, {}, {}});
  tls_engine server(server_ctx), client(tls_context::insecure_client());
  // A client's first write waits for the handshake, which its output begins.
  EXPECT_EQ(client.write("hello"), tls_engine::status::want_read);
  EXPECT_TRUE(client.has_output());
  pump(client, server);
  ASSERT_EQ(client.write("hello"), tls_engine::status::ok);
  pump(client, server);
  EXPECT_EQ(read_all(server, 5), "hello");
  // 1 MiB the other way: many records, read in pieces.
  std::string big(1 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& c : big) c = static_cast<char>(rng());
  ASSERT_EQ(server.write(big), tls_engine::status::ok);
  std::string wire;
  server.take_output(wire);
  EXPECT_GT(wire.size(), big.size());
  for (std::size_t at = 0; at < wire.size(); at += 1000) client.feed(wire.data() + at, std::min<std::size_t>(1000, wire.size() - at));
  EXPECT_EQ(read_all(client, big.size()), big);
  // The server's close_notify ends the client's reads.
  server.close_notify();
  pump(server, client);
  char buf[16];
  std::size_t n = 0;
  EXPECT_EQ(client.read(buf, sizeof buf, n), tls_engine::status::closed);
}

TEST(Tls, GarbageFailsTheHandshake) {
  pem_pair p = make_pair();
  tls_engine server(std::make_shared<tls_context>(tls_options{p.key, p.cert, {}, {}}));
  const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  server.feed(garbage.data(), garbage.size());
  char buf[16];
  std::size_t n = 0;
  EXPECT_EQ(server.read(buf, sizeof buf, n), tls_engine::status::failed);
  EXPECT_FALSE(server.error().empty());
}

TEST(Tls, WssConnectionClosesWithACloseFrameThenCloseNotify) {
  pem_pair p = make_pair();
  server_options o;
  o.threads = 2;
  if (std::getenv("RW_DEBUG")) set_log_level(log_level::debug);
  struct no_events : event_sink {
    void emit(event&&) override {}
  };
  auto srv = std::make_shared<server>(o, std::make_shared<no_events>());
  srv->set_tls(std::make_shared<tls_context>(tls_options{p.key, p.cert, {}, {}}));
  srv->add_ws_route({"/chat", 1, 0, true});
  error_code ec;
  unsigned short port = srv->listen("127.0.0.1", 0, ec);
  ASSERT_FALSE(ec);
  {
    net::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tls_engine tls(tls_context::insecure_client());
    auto flush = [&] {
      std::string out;
      tls.take_output(out);
      if (!out.empty()) net::write(sock, net::buffer(out));
    };
    // Reads plaintext until `done` says so, or the stream ends: the last status.
    std::string plain;
    auto read_until = [&](auto done) {
      char cipher[17000], buf[16384];
      for (int rounds = 0; rounds < 1000; ++rounds) {
        std::size_t n = 0;
        tls_engine::status st = tls.read(buf, sizeof buf, n);
        flush();
        if (st == tls_engine::status::ok) {
          plain.append(buf, n);
          if (done()) return st;
          continue;
        }
        if (st == tls_engine::status::failed) ADD_FAILURE() << "tls: " << tls.error();
        if (st != tls_engine::status::want_read) return st;
        error_code rec;
        std::size_t got = sock.read_some(net::buffer(cipher), rec);
        if (rec) {
          ADD_FAILURE() << "socket read: " << rec.message();
          return tls_engine::status::failed;
        }
        tls.feed(cipher, got);
      }
      return tls_engine::status::failed;
    };
    const std::string request =
        "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    // The request waits in the engine until the handshake is done.
    EXPECT_EQ(tls.write(request), tls_engine::status::want_read);
    flush();
    while (tls.write(request) == tls_engine::status::want_read) {
      char cipher[17000];
      std::size_t got = sock.read_some(net::buffer(cipher), ec);
      ASSERT_FALSE(ec);
      tls.feed(cipher, got);
      char none[1];
      std::size_t n;
      tls.read(none, 0, n);
      flush();
    }
    flush();
    read_until([&] { return plain.find("\"welcome\"") != std::string::npos; });
    ASSERT_EQ(plain.compare(0, 12, "HTTP/1.1 101"), 0) << plain;
    // A masked close frame (zero key) with code 1000.
    unsigned char head[14];
    std::size_t hn = frame_header(head, 0x8, 2, true);
    std::string close(reinterpret_cast<char*>(head), hn);
    close += std::string("\x03\xe8", 2);
    ASSERT_EQ(tls.write(close), tls_engine::status::ok);
    flush();
    plain.clear();
    EXPECT_EQ(read_until([] { return false; }), tls_engine::status::closed);
    // The close frame came back before the close_notify.
    ASSERT_GE(plain.size(), 4u);
    EXPECT_EQ(static_cast<unsigned char>(plain[0]), 0x88);
    EXPECT_EQ(plain.substr(2, 2), std::string("\x03\xe8", 2));
  }
  srv->stop(2000ms);
}
