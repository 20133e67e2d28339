#include "listener.hpp"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <cerrno>

#include "http_session.hpp"
#include "log.hpp"
#include "server.hpp"

namespace roomwire {

namespace {
/// Connections taken per wake-up of the accept loop: a burst of connects is accepted in
/// few wake-ups, and the thread still gets back to its other sockets between bursts.
constexpr int accepts_per_wakeup = 64;
/// Pause after an accept failure such as running out of descriptors: the pending
/// connection keeps the socket readable, so accepting again at once would spin.
constexpr std::chrono::milliseconds accept_backoff{50};
}  // namespace

listener::listener(server& srv, net::io_context& ioc)
    : server_(srv), ioc_(ioc), acceptor_(ioc), backoff_(ioc) {}

unsigned short listener::open(const tcp::endpoint& endpoint, error_code& ec) {
  // Asio opens without close-on-exec: a child process (any spawn()) would inherit the
  // socket and keep the port bound after close(). The descriptor is made here instead.
  protocol_ = endpoint.protocol();
  int fd = ::socket(protocol_.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    ec = error_code(errno, boost::system::system_category());
    return 0;
  }
  acceptor_.assign(protocol_, fd, ec);
  if (ec) {
    ::close(fd);
    return 0;
  }
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return 0;
  acceptor_.bind(endpoint, ec);
  if (ec) return 0;
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return 0;
  acceptor_.non_blocking(true, ec);
  if (ec) return 0;
  return acceptor_.local_endpoint(ec).port();
}

void listener::run() { do_accept(); }

void listener::close() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
    self->backoff_.cancel();
  });
}

void listener::do_accept() {
  acceptor_.async_wait(tcp::acceptor::wait_read,
                       beast::bind_front_handler(&listener::on_readable, shared_from_this()));
}

void listener::on_readable(error_code ec) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  for (int i = 0; i < accepts_per_wakeup && !ec; ++i) {
    // accept4 gives the connection close-on-exec atomically, as the listening socket has.
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      ec = error_code(err, boost::system::system_category());
      break;
    }
    if (server_.stopping()) {
      ::close(fd);
      continue;
    }
    // Each connection lives on one I/O thread's io_context (round robin): its handlers
    // never run concurrently, without a strand.
    tcp_socket socket(server_.next_context());
    error_code assign_ec;
    socket.assign(protocol_, fd, assign_ec);
    if (assign_ec) {
      ::close(fd);
      log(log_level::warn, "accept: " + assign_ec.message());
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<http_session>(server_, std::move(socket))->run();
  }
  if (!ec) return do_accept();
  // Out of descriptors and the like: log, pause, and keep accepting.
  log(log_level::warn, "accept: " + ec.message());
  backoff_.expires_after(accept_backoff);
  backoff_.async_wait([self = shared_from_this()](error_code wait_ec) {
    if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
  });
}

}  // namespace roomwire
