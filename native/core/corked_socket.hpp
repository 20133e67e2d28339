// The layer under each WebSocket stream: everything Beast writes (data frames, pongs,
// pings, the close frame) is appended to a cork buffer and written to the socket by one
// flush posted behind the handlers already queued on the connection's thread. Frames that
// pile up while the thread is busy — a burst of fan-outs — leave in one system call
// instead of one each; a lone frame still goes out at once. Reads pass straight through.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net.hpp"

namespace roomwire {

/// A tcp::socket whose writes are corked; usable as Beast's NextLayer.
class corked_socket {
  struct impl;

 public:
  using executor_type = tcp::socket::executor_type;
  using next_layer_type = tcp::socket;

  /// 64 KiB held in the cork before Beast's writes wait for the socket: enough to gather a
  /// burst, small enough that backpressure shows in the connection's own queue.
  static constexpr std::size_t cork_limit = 64 * 1024;

  explicit corked_socket(tcp::socket&& socket) : impl_(std::make_shared<impl>(std::move(socket))) {}

  executor_type get_executor() noexcept { return impl_->socket.get_executor(); }
  tcp::socket& next_layer() noexcept { return impl_->socket; }
  const tcp::socket& next_layer() const noexcept { return impl_->socket; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return impl_->socket.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  /// Appends `buffers` to the cork and completes as soon as the cork has room.
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return net::async_initiate<WriteToken, void(error_code, std::size_t)>(
        [](auto handler, std::shared_ptr<impl> self, const ConstBufferSequence& b) {
          self->append(b, net::any_completion_handler<void(error_code, std::size_t)>(std::move(handler)));
        },
        token, impl_, buffers);
  }

  /// Runs `done` once everything corked has been written (or the socket failed).
  void async_drain(net::any_completion_handler<void(error_code)> done) { impl_->drain(std::move(done)); }

 private:
  struct impl : std::enable_shared_from_this<impl> {
    explicit impl(tcp::socket&& s) : socket(std::move(s)) {}

    template <class ConstBufferSequence>
    void append(const ConstBufferSequence& b, net::any_completion_handler<void(error_code, std::size_t)> h) {
      if (failed) {
        net::post(socket.get_executor(), [h = std::move(h), ec = failed]() mutable { std::move(h)(ec, 0); });
        return;
      }
      std::size_t n = net::buffer_size(b);
      std::size_t at = pending.size();
      pending.resize(at + n);
      net::buffer_copy(net::buffer(pending.data() + at, n), b);
      schedule();
      if (pending.size() <= cork_limit) {
        net::post(socket.get_executor(), [h = std::move(h), n]() mutable { std::move(h)(error_code{}, n); });
      } else {
        waiting.emplace_back(std::move(h), n);  // completes when the cork drains below the limit
      }
    }

    void drain(net::any_completion_handler<void(error_code)> done) {
      if (failed || (pending.empty() && !writing)) {
        net::post(socket.get_executor(), [done = std::move(done), ec = failed]() mutable { std::move(done)(ec); });
        return;
      }
      drained.push_back(std::move(done));
    }

    void schedule() {
      if (flush_scheduled || writing) return;
      flush_scheduled = true;
      net::post(socket.get_executor(), [self = shared_from_this()] { self->flush(); });
    }

    void flush() {
      flush_scheduled = false;
      if (writing || pending.empty() || failed) return;
      writing = true;
      flying.swap(pending);
      pending.clear();
      net::async_write(socket, net::buffer(flying), [self = shared_from_this()](error_code ec, std::size_t) {
        self->writing = false;
        self->flying.clear();
        if (ec) self->failed = ec;
        self->after_write();
      });
    }

    void after_write() {
      while (!waiting.empty() && (failed || pending.size() <= cork_limit)) {
        auto [h, n] = std::move(waiting.front());
        waiting.pop_front();
        std::move(h)(failed, failed ? 0 : n);
      }
      if (!failed && !pending.empty()) return flush();
      auto done = std::move(drained);
      drained.clear();
      for (auto& d : done) std::move(d)(failed);
    }

    tcp::socket socket;
    std::string pending;  // corked bytes
    std::string flying;   // bytes being written
    bool writing = false;
    bool flush_scheduled = false;
    error_code failed;
    // Only used when the cork overflows; a list allocates nothing while empty.
    std::list<std::pair<net::any_completion_handler<void(error_code, std::size_t)>, std::size_t>> waiting;
    std::vector<net::any_completion_handler<void(error_code)>> drained;
  };

  std::shared_ptr<impl> impl_;
};

/// Beast's teardown for the corked layer: what is corked goes out first.
inline void teardown(beast::role_type role, corked_socket& s, error_code& ec) {
  websocket::teardown(role, s.next_layer(), ec);
}

/// Beast's asynchronous teardown for the corked layer: drains the cork, then shuts the
/// socket down the usual way.
template <class TeardownHandler>
void async_teardown(beast::role_type role, corked_socket& s, TeardownHandler&& handler) {
  s.async_drain([&s, role, h = std::forward<TeardownHandler>(handler)](error_code) mutable {
    websocket::async_teardown(role, s.next_layer(), std::move(h));
  });
}

}  // namespace roomwire
