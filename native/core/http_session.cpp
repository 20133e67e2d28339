#include "http_session.hpp"

#include <algorithm>
#include <cctype>

#include "ids.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "room_api.hpp"
#include "router.hpp"
#include "ws_parser.hpp"
#include "ws_session.hpp"

namespace roomwire {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// "a, b, c" for an error message.
std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out.append(out.empty() ? "" : ", ").append(i);
  return out;
}

string_pairs header_pairs(const http::request<http::string_body>& req) {
  string_pairs out;
  for (const auto& field : req) out.emplace_back(lower(field.name_string()), std::string(field.value()));
  return out;
}

}  // namespace

void http_stream::log_failure(const std::string& why) { log(log_level::debug, "tls: " + why); }

http_session::http_session(server& srv, tcp_socket&& socket)
    : server_(srv), stream_(std::move(socket), srv.new_tls_engine()) {}

http_session::~http_session() { server_.untrack(this); }

void http_session::run() {
  server_.track(this);
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stop_requested_ = true;
    // An idle keep-alive connection closes now; a busy one closes after its reply.
    if (!self->busy_) self->do_close();
  });
}

void http_session::do_read() {
  if (stop_requested_) return do_close();
  parser_.emplace();
  parser_->body_limit(server_.options().max_body_size);
  parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_size));
  stream_.expires_after(server_.options().request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::eof)
    return do_close();
  if (ec == http::error::body_limit) return reply_error(413, "Payload Too Large", true);
  if (ec == http::error::header_limit) return reply_error(431, "Request Header Fields Too Large", true);
  if (ec) {
    // Any other parser error is the client's malformed request; socket errors just close.
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
      return reply_error(400, "Bad Request: " + ec.message(), true);
    return do_close();
  }
  busy_ = true;
  req_ = parser_->release();

  std::string path;
  std::vector<std::string> segments;
  string_pairs query, params;
  if (!split_target(req_.target(), path, segments, query))
    return reply_error(400, "Bad Request: invalid target", true);

  if (websocket::is_upgrade(req_)) {
    auto route = server_.match_ws(segments, params);
    if (!route) return reply_error(404, "Not Found", true);
    // RFC 6455 §4.2.1: version 13 only (426 names it), and a key of 16 base64 bytes.
    if (req_[http::field::sec_websocket_version] != "13")
      return reply(426, protocol::http_error_body("Unsupported WebSocket version"),
                   {{"Sec-WebSocket-Version", "13"}}, true);
    auto key = req_[http::field::sec_websocket_key];
    if (!valid_websocket_key(std::string_view(key.data(), key.size())))
      return reply_error(400, "Bad Request: invalid Sec-WebSocket-Key", true);
    return handle_upgrade(std::move(route), std::move(path), std::move(params), std::move(query));
  }

  std::string method(req_.method_string());
  // HEAD is served by what serves GET; reply() leaves the body out (as Node does).
  const std::string route_method = req_.method() == http::verb::head ? std::string("GET") : method;
  if (auto builtin = builtin_endpoint(server_, route_method, segments, req_.body(), query))
    return reply(builtin->status, std::move(builtin->body),
                 {{"Content-Type", builtin->content_type}}, false);
  if (route_method == "GET")
    if (auto hit = server_.find_static_file(segments)) return reply_file(*hit->first, hit->second);
  auto route = server_.match_http(route_method, segments, params);
  if (!route) return reply_error(404, "Not Found", false);

  event ev;
  ev.kind = event_kind::http_request;
  ev.route = route->options.route_id;
  ev.time_ms = now_ms();
  ev.method = std::move(method);
  ev.path = std::move(path);
  ev.params = std::move(params);
  ev.query = std::move(query);
  ev.headers = header_pairs(req_);
  ev.data = std::move(req_.body());
  ev.id = server_.await_verdict([self = shared_from_this()](verdict&& v) mutable {
    net::post(self->stream_.get_executor(), [self, v = std::move(v)]() mutable {
      self->on_http_reply(std::move(v));
    });
  });
  server_.emit(std::move(ev));
}

void http_session::on_http_reply(verdict&& v) {
  unsigned status = v.status >= 100 && v.status <= 999 ? static_cast<unsigned>(v.status) : 200;
  reply(status, std::move(v.body), v.headers, false);
}

void http_session::handle_upgrade(std::shared_ptr<const ws_route> route, std::string path,
                                  string_pairs params, string_pairs query) {
  std::string connection_id = make_connection_id();
  std::string client_id;
  for (const auto& [k, v] : query)
    if (k == "clientId" && !v.empty()) client_id = v;
  const std::size_t max_id = server_.options().max_id_length;
  if (max_id != 0 && client_id.size() > max_id)
    return reply_error(400, "clientId is longer than " + std::to_string(max_id) + " bytes (maxIdLength)", true);
  if (client_id.empty()) client_id = make_client_id();

  // Origins: a browser always sends one; a page of another site must not open this route
  // with the user's cookies (cross-site WebSocket hijacking). Checked before onConnect.
  const ws_route_options& ro = route->options;
  if (ro.protocol == protocol_kind::hooks) {
    upgrade_params_ = params;
    upgrade_query_ = query;
  }
  const auto origin = req_[http::field::origin];
  if (origin.empty()) {
    if (ro.require_origin) return reply_error(403, "Origin required", true);
  } else if (ro.origins_listed) {
    if (std::find(ro.allowed_origins.begin(), ro.allowed_origins.end(), lower(origin)) == ro.allowed_origins.end())
      return reply_error(403, "Origin not allowed", true);
  }
  // Subprotocols: the first of the client's offer that the route speaks.
  offered_.clear();
  protocol_.clear();
  const auto fields = req_.equal_range(http::field::sec_websocket_protocol);
  for (auto field = fields.first; field != fields.second; ++field) {
    std::string_view list = field->value();
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string_view token = list.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty()) offered_.emplace_back(token);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  for (const auto& p : offered_)
    if (std::find(ro.protocols.begin(), ro.protocols.end(), p) != ro.protocols.end()) {
      protocol_ = p;
      break;
    }
  if (protocol_.empty() && ro.require_protocol && !route->has(cb_connect))
    return reply_error(400, "No subprotocol in common (this route speaks " + join_list(ro.protocols) + ")", true);

  // The place is taken now, not when onConnect answers: upgrades racing through an async
  // onConnect cannot all get in.
  slot_ = server_.take_slot();
  if (!slot_) return reply_error(503, "Too many connections", true);

  if (!route->has(cb_connect)) {
    return on_connect_verdict(std::move(route), std::move(path), std::move(connection_id),
                              std::move(client_id), verdict{});
  }
  event ev;
  ev.kind = event_kind::connect;
  ev.route = route->options.handler_id;
  ev.time_ms = now_ms();
  ev.connection_id = connection_id;
  ev.client_id = client_id;
  ev.path = path;
  ev.params = std::move(params);
  ev.query = std::move(query);
  ev.headers = header_pairs(req_);
  ev.id = server_.await_verdict(
      [self = shared_from_this(), route, path, connection_id, client_id](verdict&& v) mutable {
        net::post(self->stream_.get_executor(),
                  [self, route = std::move(route), path = std::move(path),
                   connection_id = std::move(connection_id), client_id = std::move(client_id),
                   v = std::move(v)]() mutable {
                    self->on_connect_verdict(std::move(route), std::move(path),
                                             std::move(connection_id), std::move(client_id),
                                             std::move(v));
                  });
      });
  server_.emit(std::move(ev));
}

void http_session::on_connect_verdict(std::shared_ptr<const ws_route> route, std::string path,
                                      std::string connection_id, std::string client_id,
                                      verdict&& v) {
  if (v.cancel) {
    slot_.release();
    unsigned status = v.status >= 400 && v.status <= 599 ? static_cast<unsigned>(v.status) : 403;
    return reply_error(status, v.has_error ? v.error : "Connection refused", true);
  }
  if (stop_requested_ || server_.stopping()) {
    slot_.release();
    return reply_error(503, "Server is shutting down", true);
  }
  if (v.has_client_id && !v.client_id.empty()) client_id = std::move(v.client_id);
  if (v.has_protocol) {
    // onConnect's choice: one the client offered, or none.
    if (!v.protocol.empty() && std::find(offered_.begin(), offered_.end(), v.protocol) == offered_.end()) {
      slot_.release();
      log(log_level::error, "onConnect's modifiedEvent.protocol '" + v.protocol + "' was not offered; upgrade refused");
      return reply_error(500, "the chosen subprotocol was not offered", true);
    }
    protocol_ = std::move(v.protocol);
  }
  if (protocol_.empty() && route->options.require_protocol) {
    slot_.release();
    return reply_error(400, "No subprotocol in common (this route speaks " + join_list(route->options.protocols) + ")", true);
  }
  const std::size_t max_id = server_.options().max_id_length;
  if (max_id != 0 && client_id.size() > max_id) {
    slot_.release();
    log(log_level::error, "onConnect's modifiedEvent.client_id is longer than maxIdLength; upgrade refused");
    return reply_error(500, "client_id is longer than maxIdLength", true);
  }
  std::string metadata = v.has_modified ? std::move(v.modified) : std::string();
  stream_.expires_never();
  auto tls = stream_.release_tls();
  auto session = std::make_shared<ws_session>(server_, stream_.release_socket(), std::move(tls), std::move(route),
                                              std::move(connection_id), std::move(client_id),
                                              std::move(path), std::move(metadata), std::move(slot_));
  if (session->route().options.protocol == protocol_kind::hooks)
    session->set_request(std::move(upgrade_params_), std::move(upgrade_query_));
  session->run(std::move(req_), protocol_);
}

void http_session::reply(unsigned status, std::string body, const string_pairs& headers,
                         bool close, std::optional<std::uint64_t> head_length) {
  busy_ = true;
  res_ = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status),
                                                              req_.version());
  res_->set(http::field::server, "roomwire");
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, "content-type")) has_type = true;
    res_->set(k, v);
  }
  if (!has_type) res_->set(http::field::content_type, "application/json");
  res_->body() = std::move(body);
  close = close || stop_requested_ || !req_.keep_alive();
  res_->keep_alive(!close);
  res_->prepare_payload();
  if (req_.method() == http::verb::head) {
    // The headers GET would send, Content-Length included, and no body.
    const std::uint64_t length = head_length ? *head_length : res_->body().size();
    res_->body().clear();
    res_->content_length(length);
  }
  http::async_write(stream_, *res_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

void http_session::reply_file(const static_mount& mount, const static_file& file) {
  busy_ = true;
  const std::string etag = etag_of(file);
  const std::int64_t mtime = file.mtime_ns / 1000000000;
  string_pairs headers;
  headers.emplace_back("Content-Type", std::string(content_type_of(file.path)));
  headers.emplace_back("Accept-Ranges", "bytes");
  headers.emplace_back("Cache-Control", "public, max-age=" + std::to_string(mount.max_age));
  if (mount.etag) headers.emplace_back("ETag", etag);
  if (mount.last_modified) headers.emplace_back("Last-Modified", http_date(mtime));

  // The client's copy is current: 304 (If-None-Match decides when present).
  auto inm = req_[http::field::if_none_match];
  auto ims = req_[http::field::if_modified_since];
  bool fresh = false;
  if (!inm.empty()) {
    fresh = mount.etag && (inm == "*" || std::string_view(inm.data(), inm.size()).find(etag) != std::string_view::npos);
  } else if (!ims.empty() && mount.last_modified) {
    auto since = parse_http_date(std::string_view(ims.data(), ims.size()));
    fresh = since && mtime <= *since;
  }
  if (fresh) return reply(304, {}, headers, false);

  byte_range range{0, file.size};
  unsigned status = 200;
  auto range_header = req_[http::field::range];
  auto if_range = req_[http::field::if_range];
  const bool range_applies = if_range.empty() || std::string_view(if_range.data(), if_range.size()) == etag ||
                             (parse_http_date(std::string_view(if_range.data(), if_range.size())) == mtime);
  if (!range_header.empty() && range_applies) {
    if (auto r = parse_range(std::string_view(range_header.data(), range_header.size()), file.size)) {
      if (r->length == 0) {
        headers.emplace_back("Content-Range", "bytes */" + std::to_string(file.size));
        return reply(416, protocol::http_error_body("Range Not Satisfiable"), headers, false);
      }
      range = *r;
      status = 206;
      headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.first + range.length - 1) + "/" +
                                                std::to_string(file.size));
    }
  }
  if (req_.method() == http::verb::head) return reply(status, {}, headers, false, range.length);
  error_code ec;
  file_range_body::value_type body;
  body.file.open(file.path.c_str(), beast::file_mode::scan, ec);
  if (ec) return reply_error(404, "Not Found", false);
  body.offset = range.first;
  body.length = range.length;
  file_res_ = std::make_shared<http::response<file_range_body>>(static_cast<http::status>(status), req_.version());
  file_res_->set(http::field::server, "roomwire");
  for (const auto& [k, v] : headers) file_res_->set(k, v);
  file_res_->body() = std::move(body);
  const bool close = stop_requested_ || !req_.keep_alive();
  file_res_->keep_alive(!close);
  file_res_->prepare_payload();
  http::async_write(stream_, *file_res_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

void http_session::reply_error(unsigned status, std::string_view message, bool close) {
  reply(status, protocol::http_error_body(message), {}, close);
}

void http_session::on_write(bool close, error_code ec, std::size_t) {
  busy_ = false;
  res_.reset();
  file_res_.reset();
  if (ec || close) return do_close();
  do_read();
}

void http_session::do_close() {
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace roomwire
