// Accepts TCP connections and hands each to an http_session on its own strand.
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
  void on_accept(error_code ec, tcp::socket socket);

  server& server_;
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

}  // namespace roomwire
