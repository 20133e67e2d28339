// TLS on OpenSSL, driven through memory buffers: the engine takes the ciphertext a socket
// read returned and gives back the ciphertext to write, so the connection keeps its own
// reads and corked writes (one system call for many frames) with TLS in between. The
// handshake runs inside the first reads, on the connection's I/O thread.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace roomwire {

/// PEM material for serving https and wss (the cert's chain may follow it in `cert`).
struct tls_options {
  std::string key;
  std::string cert;
  std::string ca;          // more certificates sent after `cert` (intermediates); may be empty
  std::string passphrase;  // for an encrypted key
  bool enabled() const { return !cert.empty() || !key.empty(); }
};

/// A TLS context: the server's certificate and key, TLS 1.2 and up, ALPN http/1.1.
class tls_context {
 public:
  /// A server context. Throws std::invalid_argument naming what is wrong (a key or
  /// certificate that does not parse, a wrong passphrase, a key that does not match).
  explicit tls_context(const tls_options& options);
  /// A client context that verifies nothing (the load generator and tests, on loopback).
  static std::shared_ptr<tls_context> insecure_client();
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  ssl_ctx_st* native() const { return ctx_; }
  bool server() const { return server_; }

 private:
  tls_context() = default;
  ssl_ctx_st* ctx_ = nullptr;
  bool server_ = true;
};

/// The context new connections get; replaceable at any time (existing connections keep
/// the one they started with).
class tls_slot {
 public:
  void set(std::shared_ptr<const tls_context> ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = std::move(ctx);
  }
  std::shared_ptr<const tls_context> get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ctx_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const tls_context> ctx_;
};

/// One connection's TLS state.
class tls_engine {
 public:
  enum class status { ok, want_read, closed, failed };

  explicit tls_engine(std::shared_ptr<const tls_context> ctx);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  /// Hands over ciphertext read from the socket.
  void feed(const char* data, std::size_t size);
  /// Decrypts into [out, out + capacity): `ok` with `n` > 0 bytes; `want_read` when more
  /// ciphertext is needed (the handshake included); `closed` at the peer's close_notify;
  /// `failed` on a TLS error (error() says which).
  status read(char* out, std::size_t capacity, std::size_t& n);
  /// Encrypts all of `plain` (ok), or takes none of it: `want_read` while a client's
  /// handshake is still under way, `failed` on a TLS error.
  status write(std::string_view plain);
  /// Appends the ciphertext waiting to be sent (handshake records, encrypted data,
  /// alerts) to `out`.
  void take_output(std::string& out);
  bool has_output() const;
  /// Whether a read can make progress without the socket: decrypted bytes or ciphertext
  /// not yet processed are held.
  bool has_input() const;
  /// Queues a close_notify (sent with the next output).
  void close_notify();
  /// The TLS error of the last `failed`.
  const std::string& error() const { return error_; }
  /// The protocol agreed by ALPN (empty: none).
  std::string alpn() const;

 private:
  status fail();
  std::shared_ptr<const tls_context> ctx_;
  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;   // ciphertext from the peer (owned by ssl_)
  bio_st* out_ = nullptr;  // ciphertext for the peer (owned by ssl_)
  std::string error_;
};

}  // namespace roomwire
