// Namespace aliases shared by the core: nothing else lives here.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace roomwire {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
/// A connection's socket. Each connection lives on one I/O thread's io_context, so its
/// executor is that context's (8 bytes) rather than any_io_executor (56, type-erased): a
/// smaller socket, and a smaller operation for every wait and write it has pending.
using tcp_socket = net::basic_stream_socket<tcp, net::io_context::executor_type>;
}  // namespace roomwire
