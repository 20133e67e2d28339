#include "listener.hpp"

#include "http_session.hpp"
#include "log.hpp"
#include "server.hpp"

namespace roomwire {

listener::listener(server& srv, net::io_context& ioc)
    : server_(srv), ioc_(ioc), acceptor_(ioc) {}

unsigned short listener::open(const tcp::endpoint& endpoint, error_code& ec) {
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return 0;
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return 0;
  acceptor_.bind(endpoint, ec);
  if (ec) return 0;
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return 0;
  return acceptor_.local_endpoint(ec).port();
}

void listener::run() { do_accept(); }

void listener::close() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void listener::do_accept() {
  // Each connection lives on one I/O thread's io_context (round robin): its handlers
  // never run concurrently, without a strand.
  acceptor_.async_accept(server_.next_context(),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of descriptors and the like: log and keep accepting.
    log(log_level::warn, "accept: " + ec.message());
  } else if (!server_.stopping()) {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<http_session>(server_, std::move(socket))->run();
  }
  do_accept();
}

}  // namespace roomwire
