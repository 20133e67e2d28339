// One HTTP connection: reads requests, answers JS routes through the event sink, and
// hands WebSocket upgrades (after onConnect) to a ws_session.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "events.hpp"
#include "http_stream.hpp"
#include "net.hpp"
#include "server.hpp"
#include "static_files.hpp"

namespace roomwire {

/// Serves HTTP/1.1 requests on one socket until it closes or upgrades.
class http_session : public closeable, public std::enable_shared_from_this<http_session> {
 public:
  http_session(server& srv, tcp_socket&& socket);
  ~http_session() override;
  /// Starts reading the first request.
  void run();
  void shutdown() override;
  std::shared_ptr<closeable> lock_open() override { return weak_from_this().lock(); }

 private:
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void handle_upgrade(std::shared_ptr<const ws_route> route, std::string path,
                      string_pairs params, string_pairs query);
  void on_connect_verdict(std::shared_ptr<const ws_route> route, std::string path,
                          std::string connection_id, std::string client_id, verdict&& v);
  void on_http_reply(verdict&& v);
  /// `head_length`: for a HEAD, the Content-Length GET would have sent (default: the body's).
  void reply(unsigned status, std::string body, const string_pairs& headers, bool close,
             std::optional<std::uint64_t> head_length = {});
  void reply_error(unsigned status, std::string_view message, bool close);
  /// Answers a GET or HEAD with a static file: 200, 206 for a range, 304 when the client's
  /// copy is current, 416 for a range outside the file.
  void reply_file(const static_mount& mount, const static_file& file);
  void on_write(bool close, error_code ec, std::size_t bytes);
  void do_close();

  server& server_;
  http_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::shared_ptr<http::response<http::string_body>> res_;
  std::shared_ptr<http::response<file_range_body>> file_res_;
  connection_slot slot_;      // the upgrade's place among maxConnections
  std::vector<std::string> offered_;  // the upgrade's Sec-WebSocket-Protocol offer, in order
  std::string protocol_;              // the subprotocol chosen from it (empty: none)
  string_pairs upgrade_params_, upgrade_query_;  // a hooks route's, for its session
  bool busy_ = false;          // a request is being answered
  bool stop_requested_ = false;
};

}  // namespace roomwire
