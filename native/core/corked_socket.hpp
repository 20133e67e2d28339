// The socket under each WebSocket connection: every frame (data, pongs, pings, the close)
// is appended whole to a cork buffer and written to the socket in one system call once the
// connection's thread has nothing more to do right now:
// - when the connection waits for more input (the frames already read are all handled,
//   so their replies leave together);
// - on a thread running run_corked(): when the thread runs out of ready handlers, or
//   after a bounded number of them, every socket corked on it is written;
// - elsewhere: from a flush posted behind the handlers already queued on the thread,
//   which writes at once if a socket read is waiting and otherwise steps back behind the
//   queue a few times before writing anyway.
// Frames that pile up while the thread is busy — the fan-outs of several messages, the
// acks of several frames that arrived in one read — leave in one write instead of one
// each; on an idle thread a lone frame still goes out at once.
#pragma once

#include <boost/asio/any_completion_handler.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net.hpp"
#include "tls.hpp"

namespace roomwire {

/// Something with corked bytes to write when its thread goes idle.
struct cork_flushable {
  virtual ~cork_flushable() = default;
  /// Writes what is corked; false when it chose to wait for the next idle point instead.
  virtual bool flush_corked() = 0;
};

namespace detail {
/// The io_context this thread runs with run_corked(), and the sockets corked on it.
struct corked_thread {
  net::io_context* ioc = nullptr;
  std::vector<std::shared_ptr<cork_flushable>> corked;
};
/// Kept per thread, not per call: if a handler throws out of run_corked and the thread
/// runs it again, the sockets already corked are still written.
inline thread_local corked_thread corked_thread_state;
inline thread_local corked_thread* this_corked_thread = nullptr;

/// std::allocator under another name: Asio recycles operation memory for handlers whose
/// allocator is std::allocator (its default), but allocates exactly for any other.
template <class T>
struct plain_allocator {
  using value_type = T;
  plain_allocator() noexcept = default;
  template <class U>
  plain_allocator(const plain_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const plain_allocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const plain_allocator<U>&) const noexcept { return false; }
};
}  // namespace detail

/// Runs `ioc` on this thread like io_context::run(), writing the thread's corked sockets
/// whenever it runs out of ready handlers or has run `budget` of them in a row; `on_idle`,
/// when given, runs just before each such write (the server sends the work it gathered for
/// other threads there).
inline void run_corked(net::io_context& ioc, const std::function<void()>& on_idle = {}) {
  // 64 handlers between flushes: a thread that never idles still writes every few
  // hundred microseconds, and its corks stay far below their limit.
  constexpr int budget = 64;
  detail::corked_thread& self = detail::corked_thread_state;
  std::vector<std::shared_ptr<cork_flushable>> flushing;
  struct scope {
    explicit scope(detail::corked_thread* t, net::io_context* ioc) {
      t->ioc = ioc;
      detail::this_corked_thread = t;
    }
    ~scope() {
      detail::this_corked_thread->ioc = nullptr;
      detail::this_corked_thread = nullptr;
    }
  } installed(&self, &ioc);
  for (;;) {
    int ran = 0;
    while (ran < budget && ioc.poll_one() != 0) ++ran;
    if (on_idle) on_idle();
    if (!self.corked.empty()) {
      flushing.swap(self.corked);
      for (auto& c : flushing)
        if (!c->flush_corked()) self.corked.push_back(std::move(c));
      flushing.clear();
      continue;
    }
    if (ran == 0 && ioc.run_one() == 0) return;  // stopped, or out of work
  }
}

/// A TCP socket whose writes are corked, with TLS in between when given an engine: the
/// cork holds plaintext, encrypted at each write into as few records as it spans. It lives
/// inside the object that owns it (a session, say): bind() names that owner, which every
/// operation the socket has pending keeps alive, so the socket needs no allocation or
/// reference count of its own.
class corked_socket {
 public:
  using executor_type = tcp_socket::executor_type;
  using next_layer_type = tcp_socket;

  /// How the socket reaches its owner (one table per owner type, so the socket keeps two
  /// pointers): `lock` gives a strong reference to it (what pending operations hold),
  /// `written` gets back the credit of frames written or lost with the socket.
  struct owner_ops {
    std::shared_ptr<void> (*lock)(void* owner);
    void (*written)(void* owner, std::size_t credit);
  };

  explicit corked_socket(tcp_socket&& socket, std::unique_ptr<tls_engine> tls = nullptr)
      : impl_(std::move(socket), std::move(tls)) {}
  corked_socket(const corked_socket&) = delete;
  corked_socket& operator=(const corked_socket&) = delete;

  /// Names the owner, which holds this socket: the socket's pending operations keep it
  /// alive. `ops.written` runs on the socket's thread as frames leave. Before any call that
  /// writes or waits.
  void bind(const owner_ops& ops, void* owner) {
    impl_.ops = &ops;
    impl_.owner = owner;
  }

  executor_type get_executor() noexcept { return impl_.socket.get_executor(); }
  tcp_socket& next_layer() noexcept { return impl_.socket; }
  const tcp_socket& next_layer() const noexcept { return impl_.socket; }

  /// Waits until the socket has bytes to read (or fails); what is corked is written first,
  /// since everything read so far has been handled. The caller then reads them itself
  /// with read_some, so a connection waiting for input lends no buffer to the wait.
  template <class Handler>
  void async_wait_readable(Handler&& handler) {
    impl_.flush();
    impl_.reading = true;
    if (impl_.tls && impl_.tls->has_input()) {
      // TLS holds bytes already read from the socket: readable now.
      net::post(impl_.socket.get_executor(), [self = impl_.self(), h = std::forward<Handler>(handler)]() mutable {
        self->reading = false;
        std::move(h)(error_code());
      });
      return;
    }
    // With the plain allocator the wait takes a block of its own size: Asio's per-thread
    // recycling would hand it any larger block freed before (an HTTP read's, ~600 bytes),
    // held for as long as the connection waits.
    impl_.socket.async_wait(tcp::socket::wait_read,
                             net::bind_allocator(detail::plain_allocator<void>(),
                                                 [self = impl_.self(), h = std::forward<Handler>(handler)](error_code ec) mutable {
                                                   self->reading = false;
                                                   std::move(h)(ec);
                                                 }));
  }

  /// Reads what the socket holds into `b` without blocking (would_block when nothing);
  /// with TLS, the plaintext of what it holds (eof at the peer's close_notify).
  std::size_t read_some(net::mutable_buffer b, error_code& ec) {
    if (!impl_.tls) return impl_.socket.read_some(b, ec);
    return impl_.read_tls(b, ec);
  }

  /// With TLS, queues a close_notify to go with the next write (the closing handshake's
  /// end); nothing without.
  void close_notify() {
    if (!impl_.tls) return;
    impl_.encrypt();  // what is corked goes before the alert (nothing is sent after it)
    impl_.tls->close_notify();
    impl_.schedule();
  }
  bool secure() const { return impl_.tls != nullptr; }

  /// Runs `done` once everything corked has been written (or the socket failed).
  void async_drain(net::any_completion_handler<void(error_code)> done) { impl_.drain(std::move(done)); }

  /// Appends one whole frame (`head`, then `payload`), from the socket's own
  /// thread. `credit` is what the owner counts as buffered for it: it comes back through
  /// bind()'s `written` once the frame is on the wire, or will never be.
  void append_frame(const unsigned char* head, std::size_t head_size, std::string_view payload,
                    std::size_t credit) {
    impl_.append_frame(head, head_size, payload, credit);
  }
  /// Tells the cork whether its owner is still handling frames it read (waiting for a
  /// verdict, say) even though a socket read is waiting: what those frames produce can
  /// join the next write, within the same bound as when no read waits.
  void set_handling(bool handling) { impl_.handling = handling; }
  /// Writes what is corked now, as far as the socket takes it without waiting (the rest
  /// waits for an asynchronous write, which needs the thread to run).
  void flush_now() { impl_.flush(); }
  /// Drops the frames corked but not yet being written; returns their credit.
  std::size_t discard_corked() { return impl_.discard(); }

 private:
  struct impl : cork_flushable {
    impl(tcp_socket&& s, std::unique_ptr<tls_engine> t)
        : socket(std::move(s)), tls(std::move(t)), encrypted(tls ? std::make_unique<ciphertext>() : nullptr) {}

    /// This, sharing the owner's ownership: what a pending operation holds.
    std::shared_ptr<impl> self() { return std::shared_ptr<impl>(ops->lock(owner), this); }

    /// Ciphertext read per system call: one TLS record and its overhead, in a buffer of the
    /// thread's (the plaintext goes to the caller's).
    static constexpr std::size_t tls_read_size = 17 * 1024;

    std::size_t read_tls(net::mutable_buffer b, error_code& ec) {
      thread_local std::vector<char> cipher(tls_read_size);
      std::size_t total = 0;  // plaintext given so far: every whole record held, as a plain read gives all bytes held
      for (;;) {
        std::size_t n = 0;
        tls_engine::status st = tls->read(static_cast<char*>(b.data()) + total, b.size() - total, n);
        // What the read produced (handshake records, a key update's answer), and plaintext a
        // client's handshake held back, go with the next write.
        if (tls->has_output() || !pending.empty()) schedule();
        switch (st) {
          case tls_engine::status::ok:
            total += n;
            if (total == b.size()) return total;
            continue;
          case tls_engine::status::closed:
            if (total != 0) return total;  // the close is seen by the next read
            ec = net::error::eof;
            return 0;
          case tls_engine::status::failed:
            if (total != 0) return total;
            ec = net::error::connection_reset;
            return 0;
          case tls_engine::status::want_read:
            if (total != 0) return total;
            break;
        }
        if (!socket.non_blocking()) socket.non_blocking(true, ec);
        std::size_t got = ec ? 0 : socket.read_some(net::buffer(cipher), ec);
        if (ec) return 0;  // would_block included
        tls->feed(cipher.data(), got);
      }
    }

    bool flush_corked() override {
      if (!flush_scheduled) return true;
      // Frames read earlier are still being handled (no read waits, or the owner says
      // so): their replies can join this write, within a bound.
      if ((!reading || handling) && ++deferrals < max_deferrals) return false;
      flush();
      return true;
    }

    void append_frame(const unsigned char* head, std::size_t head_size, std::string_view payload,
                      std::size_t credit) {
      if (failed) {
        credit_back(credit);
        return;
      }
      // A cork gives its buffer back after each write. A lone frame gets a buffer of its
      // size; the second frame of a burst sizes it for several more, so the burst does not
      // grow it step by step.
      const std::size_t need = pending.size() + head_size + payload.size();
      if (!pending.empty() && need > pending.capacity() && pending.capacity() < first_reserve)
        pending.reserve(std::max(first_reserve, need));
      pending.append(reinterpret_cast<const char*>(head), head_size);
      pending.append(payload.data(), payload.size());
      pending_credit += credit;
      schedule();
    }

    std::size_t discard() {
      pending.clear();
      return std::exchange(pending_credit, 0);
    }

    void drain(net::any_completion_handler<void(error_code)> done) {
      if (failed || (!has_unwritten() && !writing)) {
        net::post(socket.get_executor(), [done = std::move(done), ec = failed]() mutable { std::move(done)(ec); });
        return;
      }
      if (!drained) drained = std::make_unique<std::vector<net::any_completion_handler<void(error_code)>>>();
      drained->push_back(std::move(done));
    }

    /// How many times a flush steps back (behind the thread's queue, or to the thread's
    /// next idle point) while the connection is still handling frames it has read: enough
    /// for a read's worth of frames, few enough that a connection paused behind a verdict
    /// still writes almost at once.
    static constexpr int max_deferrals = 8;
    /// What the first frame after a write reserves: a few small frames' worth.
    static constexpr std::size_t first_reserve = 1024;

    void schedule() {
      if (flush_scheduled || writing) return;
      flush_scheduled = true;
      auto* here = detail::this_corked_thread;
      if (here && &net::query(socket.get_executor(), net::execution::context) == here->ioc)
        here->corked.push_back(self());
      else
        post_flush();
    }

    /// Off a run_corked thread: the same decision, taken behind the thread's queue.
    void post_flush() {
      net::post(socket.get_executor(), [self = self()] {
        if (!self->flush_corked()) self->post_flush();
      });
    }

    /// With TLS: the cork's plaintext encrypted (unless a client's handshake holds it
    /// back), appended to the ciphertext after whatever TLS had to send already.
    void encrypt() {
      if (!pending.empty()) {
        tls_engine::status st = tls->write(pending);
        if (st == tls_engine::status::ok) {
          std::string().swap(pending);
          encrypted->credit += std::exchange(pending_credit, 0);
        } else if (st == tls_engine::status::failed) {
          failed = net::error::connection_reset;
        }
      }
      tls->take_output(encrypted->wire);
    }

    void flush() {
      flush_scheduled = false;
      deferrals = 0;
      if (writing || failed) return;
      if (tls) encrypt();
      // The bytes for the socket: the cork itself, or its ciphertext.
      std::string& out = tls ? encrypted->wire : pending;
      std::size_t& out_credit = tls ? encrypted->credit : pending_credit;
      if (failed) {
        std::size_t credit = std::exchange(out_credit, 0) + std::exchange(pending_credit, 0);
        out.clear();
        pending.clear();
        credit_back(credit);
        return post_after_write();
      }
      if (out.empty()) return;
      // At once first: a socket with room in its send buffer takes the whole cork in one
      // system call, with no write operation or completion handler.
      error_code ec;
      if (!socket.non_blocking()) socket.non_blocking(true, ec);
      std::size_t n = ec ? 0 : socket.write_some(net::buffer(out), ec);
      if (ec && ec != net::error::would_block) {
        failed = ec;
        out.clear();
        pending.clear();
        std::size_t credit = std::exchange(out_credit, 0) + std::exchange(pending_credit, 0);
        credit_back(credit);
        return post_after_write();
      }
      if (n == out.size()) {
        std::string().swap(out);
        std::size_t credit = std::exchange(out_credit, 0);
        credit_back(credit);
        if (drained) post_after_write();
        return;
      }
      // The rest waits for the socket: one asynchronous write, completed by a handler.
      writing = true;
      out.erase(0, n);
      flying = std::make_unique<in_flight>();
      flying->bytes.swap(out);
      out.clear();
      flying->credit = std::exchange(out_credit, 0);
      net::async_write(socket, net::buffer(flying->bytes), [self = self()](error_code write_ec, std::size_t) {
        self->writing = false;
        // The written bytes' buffer is given back, and the cork's too when nothing waits
        // in it: an idle connection holds no write buffer.
        std::size_t credit = self->flying->credit;
        self->flying.reset();
        if (self->pending.empty()) std::string().swap(self->pending);
        if (write_ec) {
          self->failed = write_ec;
          self->pending.clear();
          credit += std::exchange(self->pending_credit, 0);
          if (self->encrypted) {
            self->encrypted->wire.clear();
            credit += std::exchange(self->encrypted->credit, 0);
          }
        }
        self->credit_back(credit);
        self->after_write();
      });
    }

    /// Hands the owner back the credit of frames written or lost.
    void credit_back(std::size_t credit) {
      if (credit != 0) ops->written(owner, credit);
    }

    /// Completes what waited on a write from a handler of its own, never from inside the
    /// flush (a drain's continuation may flush again).
    void post_after_write() {
      net::post(socket.get_executor(), [self = self()] {
        if (!self->writing) self->after_write();
      });
    }

    /// Whether bytes wait to be written: corked, or (TLS) encrypted or produced by TLS.
    bool has_unwritten() const {
      return !pending.empty() || (tls && (!encrypted->wire.empty() || tls->has_output()));
    }

    void after_write() {
      if (!failed && has_unwritten()) return flush();
      if (!drained) return;
      auto done = std::move(drained);
      for (auto& d : *done) std::move(d)(failed);
    }

    tcp_socket socket;
    std::unique_ptr<tls_engine> tls;  // null: plain TCP
    struct ciphertext {
      std::string wire;         // not yet being written
      std::size_t credit = 0;   // owners' credit of the frames encrypted into `wire`
    };
    std::unique_ptr<ciphertext> encrypted;  // with TLS only
    std::string pending;  // corked bytes (plaintext under TLS)
    std::size_t pending_credit = 0;  // owners' credit of frames in `pending`
    struct in_flight {
      std::string bytes;
      std::size_t credit = 0;  // owners' credit of the frames in `bytes`
    };
    std::unique_ptr<in_flight> flying;  // what an asynchronous write is writing
    const owner_ops* ops = nullptr;
    void* owner = nullptr;
    bool writing = false;
    bool reading = false;  // a socket read is waiting: nothing read is still being handled,
    bool handling = false; // unless the owner says otherwise
    int deferrals = 0;     // idle points passed over since the flush was scheduled
    bool flush_scheduled = false;
    error_code failed;
    // What waits for the cork to drain (a closing handshake), made on first use.
    std::unique_ptr<std::vector<net::any_completion_handler<void(error_code)>>> drained;
  };

  impl impl_;
};

}  // namespace roomwire
