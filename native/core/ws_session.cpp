#include "ws_session.hpp"

#include "ids.hpp"
#include "log.hpp"
#include "protocol.hpp"

namespace roomwire {
namespace {

/// The close code Beast sent when it failed the connection for `ec`, and the error_type
/// reported to onError.
int protocol_close_code(error_code ec, std::string& error_type) {
  if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
    error_type = "message_too_big";
    return 1009;
  }
  if (ec == websocket::error::bad_frame_payload) {
    error_type = "invalid_utf8";
    return 1007;
  }
  if (ec.category() == websocket::make_error_code(websocket::error::bad_opcode).category() &&
      ec != websocket::error::closed) {
    error_type = "protocol_error";
    return 1002;
  }
  return 0;
}

}  // namespace

ws_session::ws_session(server& srv, tcp::socket&& socket, std::shared_ptr<const ws_route> route,
                       std::string connection_id, std::string client_id, std::string path,
                       std::string metadata)
    : server_(srv),
      ws_(std::move(socket)),
      route_(std::move(route)),
      connection_id_(std::move(connection_id)),
      client_id_(std::move(client_id)),
      path_(std::move(path)),
      metadata_(std::move(metadata)) {}

ws_session::~ws_session() { server_.untrack(this); }

void ws_session::run(http::request<http::string_body> req) {
  server_.track(this, weak_from_this());
  const auto& opt = server_.options();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = opt.request_timeout;
  // Beast pings a quiet peer at half the idle timeout and drops it at the full timeout.
  timeouts.idle_timeout = opt.idle_timeout.count() > 0
                              ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    opt.idle_timeout)
                              : websocket::stream_base::none();
  timeouts.keep_alive_pings = opt.idle_timeout.count() > 0;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "roomwire"); }));
  ws_.read_message_max(opt.max_payload);
  ws_.auto_fragment(false);
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

void ws_session::on_accept(error_code ec) {
  if (ec) {
    log(log_level::debug, "websocket accept: " + ec.message());
    return;
  }
  accepted_ = true;
  server_.add_session(connection_id_, shared_from_this());

  std::string ts = timestamp_now();
  std::string welcome = protocol::welcome(connection_id_, client_id_, path_, ts);
  event ev = make_event(event_kind::welcome);
  ev.data = welcome;
  ask(cb_welcome, std::move(ev), [this, welcome](verdict&& v) mutable {
    if (v.cancel) return;
    write_text(v.has_modified ? std::move(v.modified) : std::move(welcome));
  });
  process();
  if (close_requested_ && !writing_) do_close_frame();
}

void ws_session::do_read() {
  reading_ = true;
  ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(error_code ec, std::size_t) {
  reading_ = false;
  if (ec) {
    read_done_ = true;
    log(log_level::debug, "websocket read ended: " + ec.message());
    // Our own close handshake cancels the read; its completion finishes the session.
    if (ec == net::error::operation_aborted && close_pending_) return;
    if (ec == websocket::error::closed) {
      closed_code_ = ws_.reason().code;
      closed_reason_ = std::string(ws_.reason().reason.c_str());
    } else {
      std::string error_type;
      int code = protocol_close_code(ec, error_type);
      if (code != 0) {
        closed_code_ = code;
        closed_reason_ = ec.message();
        if (route_->has(cb_error)) {
          event ev = make_event(event_kind::error);
          ev.error_type = error_type;
          ev.reason = ec.message();
          server_.sink().emit(std::move(ev));
        }
      }
    }
    process();
    return;
  }
  inbox_.push_back({beast::buffers_to_string(buffer_.data()), !ws_.got_text()});
  buffer_.consume(buffer_.size());
  // A large message leaves a large buffer behind: give the memory back.
  if (buffer_.capacity() > 64 * 1024) buffer_.shrink_to_fit();
  process();
}

void ws_session::process() {
  while (!busy_ && !inbox_.empty()) {
    inbound frame = std::move(inbox_.front());
    inbox_.pop_front();
    if (!frame.binary) {
      handle_text(std::move(frame.data));
    } else if (route_->has(cb_binary)) {
      event ev = make_event(event_kind::binary);
      ev.data = std::move(frame.data);
      ev.binary = true;
      server_.sink().emit(std::move(ev));
    }
  }
  if (read_done_) {
    if (!busy_ && inbox_.empty() && !close_pending_) finish();
    return;
  }
  // Keep reading ahead of a pending verdict, up to a bound.
  if (!reading_ && accepted_ && inbox_.size() < server_.options().max_pending_frames) do_read();
}

void ws_session::handle_text(std::string text) {
  if (!route_->has(cb_message)) return dispatch_frame(std::move(text));
  event ev = make_event(event_kind::message);
  ev.data = text;
  ask(cb_message, std::move(ev), [this, text](verdict&& v) mutable {
    if (v.cancel) {
      // A cancel with an error tells the sender; without one the frame was handled.
      if (v.has_error) write_text(protocol::message_blocked(text, v.error, timestamp_now()));
      return;
    }
    dispatch_frame(v.has_modified ? std::move(v.modified) : std::move(text));
  });
}

void ws_session::dispatch_frame(std::string text) {
  std::string error;
  auto frame = protocol::parse_client_frame(text, error);
  if (!frame) {
    write_text(protocol::error("invalid_format", error, timestamp_now()));
    return;
  }
  if (frame->type == "ping") {
    event ev = make_event(event_kind::ping);
    ev.data = text;
    ask(cb_ping, std::move(ev), [this](verdict&& v) {
      if (!v.cancel) write_text(protocol::pong(timestamp_now(), latency_ms_));
    });
    return;
  }
  if (frame->type == "pong") {
    if (ping_sent_ms_ >= 0) {
      latency_ms_ = now_ms() - ping_sent_ms_;
      ping_sent_ms_ = -1;
    }
    event ev = make_event(event_kind::pong);
    ev.data = text;
    ask(cb_pong, std::move(ev), [this, text](verdict&& v) mutable {
      if (!v.cancel) acknowledge(std::move(text));
    });
    return;
  }
  acknowledge(std::move(text));
}

void ws_session::acknowledge(std::string text) {
  if (!route_->options.acks) return;
  std::string ack = protocol::message_ack(text, timestamp_now());
  if (!route_->has(cb_message_ack)) return write_text(std::move(ack));
  event ev = make_event(event_kind::message_ack);
  ev.data = ack;
  ask(cb_message_ack, std::move(ev), [this, ack](verdict&& v) mutable {
    if (v.cancel) return;
    write_text(v.has_modified ? std::move(v.modified) : std::move(ack));
  });
}

void ws_session::ask(std::uint32_t bit, event&& ev, std::function<void(verdict&&)> then) {
  if (!route_->has(bit)) return then(verdict{});
  busy_ = true;
  // The pending entry holds the session: it lives until its verdict, and the host
  // always answers (callbacks time out on the JS side).
  ev.id = server_.await_verdict(
      [self = shared_from_this(), then = std::move(then)](verdict&& v) mutable {
        net::post(self->ws_.get_executor(),
                  [self, then = std::move(then), v = std::move(v)]() mutable {
                    self->busy_ = false;
                    then(std::move(v));
                    self->process();
                  });
      });
  server_.sink().emit(std::move(ev));
}

event ws_session::make_event(event_kind kind) const {
  event ev;
  ev.kind = kind;
  ev.route = route_->options.handler_id;
  ev.time_ms = now_ms();
  ev.connection_id = connection_id_;
  ev.client_id = client_id_;
  ev.path = path_;
  return ev;
}

send_status ws_session::send(std::shared_ptr<const std::string> data, bool binary) {
  const std::size_t size = data->size();
  const std::size_t limit = server_.options().max_backpressure;
  const std::size_t before = buffered_.fetch_add(size, std::memory_order_relaxed);
  if (before >= limit) {
    buffered_.fetch_sub(size, std::memory_order_relaxed);
    return send_status::dropped;
  }
  net::dispatch(ws_.get_executor(), [self = shared_from_this(), data = std::move(data), binary] {
    self->enqueue(data, binary);
  });
  return before + size > limit ? send_status::backpressure : send_status::ok;
}

void ws_session::write_text(std::string text) {
  send(std::make_shared<const std::string>(std::move(text)), false);
}

void ws_session::heartbeat() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (!self->accepted_ || self->finished_ || self->close_requested_) return;
    self->ping_sent_ms_ = now_ms();
    self->write_text(protocol::ping(timestamp_now()));
  });
}

void ws_session::shutdown() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_code_ = websocket::close_code::going_away;
    self->close_requested_ = true;
    if (!self->accepted_) return;
    if (!self->writing_) self->do_close_frame();
  });
}

void ws_session::enqueue(std::shared_ptr<const std::string> data, bool binary) {
  if (finished_ || close_sent_) {
    buffered_.fetch_sub(data->size(), std::memory_order_relaxed);
    return;
  }
  outbox_.push_back({std::move(data), binary});
  if (!writing_) do_write();
}

void ws_session::do_write() {
  writing_ = true;
  ws_.binary(outbox_.front().binary);
  ws_.async_write(net::buffer(*outbox_.front().data),
                  beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
}

void ws_session::on_write(error_code ec, std::size_t) {
  writing_ = false;
  buffered_.fetch_sub(outbox_.front().data->size(), std::memory_order_relaxed);
  outbox_.pop_front();
  if (ec) {
    // The socket is gone: what is queued can no longer be delivered.
    for (const auto& o : outbox_) buffered_.fetch_sub(o.data->size(), std::memory_order_relaxed);
    outbox_.clear();
    return;
  }
  if (!outbox_.empty()) return do_write();
  if (close_requested_) do_close_frame();
}

void ws_session::do_close_frame() {
  if (close_sent_ || read_done_) return;
  close_sent_ = true;
  close_pending_ = true;
  ws_.async_close(websocket::close_reason(close_code_), [self = shared_from_this()](error_code ec) {
    self->close_pending_ = false;
    self->read_done_ = true;
    // The code the peer echoed, or ours when it never answered.
    auto echoed = self->ws_.reason().code;
    self->closed_code_ = !ec && echoed != websocket::close_code::none ? echoed : self->close_code_;
    self->closed_reason_ = std::string(self->ws_.reason().reason.c_str());
    self->process();
  });
}

void ws_session::finish() {
  if (finished_) return;
  finished_ = true;
  server_.remove_session(connection_id_);
  if (route_->has(cb_close)) {
    event ev = make_event(event_kind::close);
    ev.code = closed_code_;
    ev.reason = closed_reason_;
    server_.sink().emit(std::move(ev));
  }
}

}  // namespace roomwire
