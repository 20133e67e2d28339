// The stream under an HTTP connection: Beast's TCP stream (whose deadline bounds a
// request, the TLS handshake included), with TLS in between when the server serves https.
// Both hand their socket (and TLS state) over to a WebSocket session at the upgrade.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net.hpp"
#include "tls.hpp"

namespace roomwire {

/// A Beast AsyncReadStream / AsyncWriteStream, plain or TLS.
class http_stream {
 public:
  using executor_type = net::io_context::executor_type;

  /// `tls`: the connection's TLS engine, or null for plain HTTP.
  http_stream(tcp_socket&& socket, std::unique_ptr<tls_engine> tls)
      : tcp_(std::move(socket)), tls_(std::move(tls)) {}

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  tcp_socket& socket() noexcept { return tcp_.socket(); }
  template <class Duration>
  void expires_after(Duration d) { tcp_.expires_after(d); }
  void expires_never() { tcp_.expires_never(); }
  /// Hands the socket over (the upgrade).
  tcp_socket release_socket() { return tcp_.release_socket(); }
  /// Hands the TLS state over with it (null for plain HTTP).
  std::unique_ptr<tls_engine> release_tls() { return std::move(tls_); }
  bool secure() const { return tls_ != nullptr; }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (!tls_) return tcp_.async_read_some(buffers, std::forward<Handler>(handler));
    net::async_compose<Handler, void(error_code, std::size_t)>(read_op<MutableBuffers>{*this, buffers}, handler, tcp_);
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (!tls_) return tcp_.async_write_some(buffers, std::forward<Handler>(handler));
    net::async_compose<Handler, void(error_code, std::size_t)>(write_op<ConstBuffers>{*this, buffers}, handler, tcp_);
  }

 private:
  /// Decrypts into the first non-empty buffer: sends what the handshake has to send,
  /// reads ciphertext, until a record gives plaintext (or the peer closes or fails).
  template <class MutableBuffers>
  struct read_op {
    http_stream& s;
    MutableBuffers buffers;
    enum { start, wrote, got, done } state = start;
    std::size_t result = 0;
    error_code result_ec{};

    template <class Self>
    void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
      switch (state) {
        case done: return self.complete(result_ec, result);
        case wrote:
          if (ec) return self.complete(ec, 0);
          break;
        case got:
          if (ec) return self.complete(ec, 0);
          s.tls_->feed(s.in_.data(), n);
          break;
        case start: break;
      }
      net::mutable_buffer target;
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it)
        if (net::mutable_buffer b(*it); b.size() != 0) {
          target = b;
          break;
        }
      std::size_t plain = 0;
      tls_engine::status st =
          target.size() == 0 ? tls_engine::status::ok : s.tls_->read(static_cast<char*>(target.data()), target.size(), plain);
      if (st == tls_engine::status::want_read) {
        if (s.tls_->has_output()) {
          state = wrote;
          s.out_.clear();
          s.tls_->take_output(s.out_);
          return net::async_write(s.tcp_, net::buffer(s.out_), std::move(self));
        }
        state = got;
        if (s.in_.size() < in_size) s.in_.resize(in_size);
        return s.tcp_.async_read_some(net::buffer(s.in_), std::move(self));
      }
      result = plain;
      result_ec = st == tls_engine::status::ok       ? error_code{}
                  : st == tls_engine::status::closed ? error_code(net::error::eof)
                                                     : error_code(net::error::connection_reset);
      if (st == tls_engine::status::failed) log_failure(s.tls_->error());
      if (state == start) {
        // Never complete inside the initiating call.
        state = done;
        return net::post(s.tcp_.get_executor(), std::move(self));
      }
      self.complete(result_ec, result);
    }
  };

  /// Encrypts all the buffers and writes the ciphertext (with any handshake output before it).
  template <class ConstBuffers>
  struct write_op {
    http_stream& s;
    ConstBuffers buffers;
    bool started = false;
    std::size_t total = 0;

    template <class Self>
    void operator()(Self& self, error_code ec = {}, std::size_t = 0) {
      if (started) return self.complete(ec, ec ? 0 : total);
      started = true;
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
        net::const_buffer b(*it);
        if (s.tls_->write(std::string_view(static_cast<const char*>(b.data()), b.size())) != tls_engine::status::ok) {
          log_failure(s.tls_->error());
          return net::post(s.tcp_.get_executor(), [self = std::move(self)]() mutable {
            self.complete(net::error::connection_reset, 0);
          });
        }
        total += b.size();
      }
      s.out_.clear();
      s.tls_->take_output(s.out_);
      net::async_write(s.tcp_, net::buffer(s.out_), std::move(self));
    }
  };

  /// Logs a TLS failure (a handshake a client gave up on, garbage on the port) at debug.
  static void log_failure(const std::string& why);

  /// Ciphertext read per system call: one TLS record and its overhead.
  static constexpr std::size_t in_size = 17 * 1024;

  beast::basic_stream<tcp, executor_type, beast::unlimited_rate_policy> tcp_;
  std::unique_ptr<tls_engine> tls_;
  std::vector<char> in_;  // ciphertext read (TLS only)
  std::string out_;       // ciphertext being written (TLS only)
};

}  // namespace roomwire
