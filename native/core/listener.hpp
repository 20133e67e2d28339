// Accepts TCP connections and hands each to an http_session on its own I/O thread. The
// listening socket and every accepted one are close-on-exec.
#pragma once

#include <memory>

#include "net.hpp"

namespace roomwire {

class server;

/// The accepting socket of a server.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(server& srv, net::io_context& ioc);
  /// Opens and binds; returns the bound port or 0 with `ec` set.
  unsigned short open(const tcp::endpoint& endpoint, error_code& ec);
  /// Starts the accept loop.
  void run();
  /// Stops accepting; safe from any thread.
  void close();

 private:
  void do_accept();
  void on_readable(error_code ec);

  server& server_;
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
  tcp protocol_ = tcp::v4();
};

}  // namespace roomwire
