#include "ws_session.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "ids.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "ws_frame.hpp"

namespace roomwire {
namespace json = boost::json;

namespace {

const char* join_error_text(join_result result) {
  switch (result) {
    case join_result::unknown_room: return "Room not found";
    case join_result::full: return "Room is full";
    case join_result::already_member: return "Already in room";
    case join_result::too_many_rooms: return "Too many rooms: the connection is in as many as maxRoomsPerConnection allows";
    case join_result::id_too_long: return "room_id is longer than maxIdLength allows";
    case join_result::unknown_connection: return "Connection not found";
    default: return "Join rejected";
  }
}

/// WebSocket opcodes the server writes.
enum : unsigned { op_close = 0x8, op_ping = 0x9, op_pong = 0xA };

/// 64 KiB read at a time: a burst of small frames or a large frame in few system calls.
constexpr std::size_t read_buffer_size = 64 * 1024;

/// The I/O thread's read buffer: a connection reads into it only once the socket has
/// bytes, parses them at once and keeps nothing of it, so waiting costs no buffer.
net::mutable_buffer read_buffer() {
  thread_local std::unique_ptr<char[]> buffer;
  if (!buffer) buffer = std::make_unique<char[]>(read_buffer_size);
  return net::buffer(buffer.get(), read_buffer_size);
}


}  // namespace

ws_session::ws_session(server& srv, tcp_socket&& socket, std::unique_ptr<tls_engine> tls,
                       std::shared_ptr<const ws_route> route, std::string connection_id,
                       std::string client_id, std::string path, std::string metadata,
                       connection_slot slot)
    : server_(srv),
      sock_(std::move(socket), std::move(tls)),
      parser_(srv.options().max_payload),
      route_(std::move(route)),
      slot_(std::move(slot)),
      connection_id_(std::move(connection_id)),
      client_id_(std::move(client_id)),
      path_(std::move(path)),
      metadata_(metadata.empty() ? nullptr : std::make_unique<const std::string>(std::move(metadata))),
      last_seen_ms_(now_ms()),
      connected_at_(now_ms()),
      io_index_(srv.context_index(sock_.get_executor())) {
  switch (route_->options.protocol) {
    case protocol_kind::raw: protocol_ = make_raw_protocol(*this); break;
    case protocol_kind::events: protocol_ = make_events_protocol(*this); break;
    case protocol_kind::hooks: protocol_ = make_hooks_protocol(*this); break;
    case protocol_kind::rnode: protocol_ = make_rnode_protocol(*this); break;
  }
}

ws_session::~ws_session() {
  if (!finished_) server_.remove_session(*this);  // the indexes link through it
  server_.untrack(this);
}

void ws_session::run(const http::request<http::string_body>& req, const std::string& protocol) {
  server_.track(this);
  error_code ignored;
  sock_.next_layer().non_blocking(true, ignored);  // reads go until would_block
  // Data frames go straight into the cork (see put_frame); their bytes leave the
  // buffered count once written.
  static const corked_socket::owner_ops ops{
      [](void* owner) -> std::shared_ptr<void> { return static_cast<ws_session*>(owner)->weak_from_this().lock(); },
      [](void* owner, std::size_t credit) {
        auto* self = static_cast<ws_session*>(owner);
        self->buffered_.fetch_sub(credit, std::memory_order_relaxed);
        self->server_.stats().bytes_out(credit);
      }};
  sock_.bind(ops, this);
  // permessage-deflate, when the route compresses and the client offers it.
  std::string extensions;
  if (route_->options.compression != compression_mode::off) {
    std::string offers;
    const auto fields = req.equal_range(http::field::sec_websocket_extensions);
    for (auto f = fields.first; f != fields.second; ++f) {
      if (!offers.empty()) offers += ", ";
      offers.append(f->value().data(), f->value().size());
    }
    deflate_params agreed;
    if (!offers.empty() && negotiate_deflate(offers, route_->options.compression, agreed, extensions)) {
      deflate_ = true;
      deflate_takeover_ = !agreed.server_no_context_takeover;
      deflate_bits_ = static_cast<std::uint8_t>(agreed.server_max_window_bits);
      parser_.enable_deflate(!agreed.client_no_context_takeover);
    }
  }
  auto key = req[http::field::sec_websocket_key];
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " + websocket_accept_key(std::string_view(key.data(), key.size())) +
      (protocol.empty() ? std::string() : "\r\nSec-WebSocket-Protocol: " + protocol) +
      (extensions.empty() ? std::string() : "\r\nSec-WebSocket-Extensions: " + extensions) +
      "\r\nServer: roomwire\r\n\r\n";
  const unsigned char no_header[1] = {0};
  sock_.append_frame(no_header, 0, response, 0);
  // Counted (and addressable) before the client can see the 101: a client that is open
  // is always in getWebSocketConnections().
  server_.add_session(shared_from_this());
  server_.stats().connection_opened();
  // The 101 leaves on its own, now: a client that installs its message handler once the
  // socket opens (RNode's does) must not find the welcome in the same read as the 101.
  sock_.flush_now();
  on_accept();
}

void ws_session::on_accept() {
  // The welcome waits a moment behind the 101, and the client's frames behind it (busy):
  // a client that reads the 101 and the welcome in one read, and installs its message
  // handler once the socket opens (RNode's client on Node does), would miss it.
  busy_ = true;
  auto timer = std::make_shared<net::steady_timer>(sock_.get_executor(), server_.options().welcome_delay);
  timer->async_wait([self = shared_from_this(), timer](error_code) {
    self->busy_ = false;
    self->protocol_->on_open();
    self->process();
  });
  process();  // reads on; what arrives is handled once the welcome is out
}

void ws_session::do_read() {
  reading_ = true;
  sock_.async_wait_readable([self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void ws_session::on_readable(error_code ec) {
  reading_ = false;
  std::size_t n = 0;
  if (!ec) n = sock_.read_some(read_buffer(), ec);
  if (ec == net::error::would_block) return do_read();
  if (ec) return on_read_error(ec);  // eof included: Asio reports a read of nothing as eof
  server_.stats().bytes_in(n);
  const double now = now_ms();
  last_seen_ms_.store(now, std::memory_order_relaxed);
  const char* p = static_cast<const char*>(read_buffer().data());
  const char* stop = consume(p, p + n, now);
  if (stop != p + n && !read_done_) rare().unparsed.assign(stop, p + n);  // parsed once the queue has room
  process();
}

void ws_session::resume_unparsed() {
  rare_state& r = *rare_;
  const char* p = r.unparsed.data() + r.unparsed_at;
  const char* end = r.unparsed.data() + r.unparsed.size();
  const char* stop = consume(p, end, now_ms());
  if (stop == end || read_done_) {
    r.unparsed = std::string();
    r.unparsed_at = 0;
  } else {
    r.unparsed_at = static_cast<std::size_t>(stop - r.unparsed.data());
  }
}

const char* ws_session::consume(const char* p, const char* end, double now) {
  for (;;) {
    switch (ws_read r = parser_.parse(p, end)) {
      case ws_read::need_more:
        parser_.release_control();
        return end;
      case ws_read::text:
      case ws_read::binary: {
        std::string message = parser_.take_message();
        // Once the server is closing this connection it stops taking new frames:
        // everything read before that point is still handled and answered.
        if (close_requested_)
          server_.stats().dropped(drop_reason::closing);
        else if (admit(now))
          inbox_.push_back({std::move(message), r == ws_read::binary, {}});
        if (inbox_.size() >= server_.options().max_pending_frames) return p;
        break;
      }
      case ws_read::ping:
        put_control(op_pong, parser_.control());
        break;
      case ws_read::pong:
        pong_received();
        break;
      case ws_read::close:
        on_peer_close();
        return end;
      case ws_read::fail:
        fail_connection();
        return end;
    }
  }
}

void ws_session::on_read_error(error_code ec) {
  read_done_ = true;
  close_pending_ = false;
  log(log_level::debug, "websocket read ended: " + ec.message());
  if (close_requested_) {
    // We were closing it (idle, backpressure, rate limit, the app) when the socket went:
    // report our code, not an abnormal closure.
    closed_code_ = close_code_;
    rare().closed_reason = rare().close_text;
  }
  process();
}

void ws_session::on_peer_close() {
  read_done_ = true;
  const int code = parser_.close_code();
  rare().closed_reason = std::string(parser_.close_reason());
  if (close_sent_) {
    // The answer to our close: the code it echoed, or ours when it named none.
    close_pending_ = false;
    closed_code_ = code != 1005 ? code : close_code_;
    return teardown();
  }
  // The client's own close: echoed with its code (none for a close that had none) once
  // the frames it sent before it are answered.
  closed_code_ = code;
  owe_close(code, {});
}

void ws_session::fail_connection() {
  read_done_ = true;
  close_pending_ = false;
  const int code = parser_.fail_code();
  const char* why = parser_.fail_reason();
  if (close_requested_) {
    closed_code_ = close_code_;
    rare().closed_reason = rare().close_text;
  } else {
    closed_code_ = code;
    rare().closed_reason = why;
    err_type type = code == 1009   ? err_type::message_too_big
                    : code == 1007 ? err_type::invalid_utf8
                                   : err_type::protocol_error;
    server_.stats().error(type);
    if (route_->has(cb_error)) {
      event ev = make_event(event_kind::error);
      ev.error_type = err_type_name(type);
      ev.reason = why;
      server_.emit(std::move(ev));
    }
  }
  // Frames before the bad one were valid: their answers go first.
  owe_close(code, why);
}

void ws_session::owe_close(int code, std::string reason) {
  owed_close_ = true;
  owed_code_ = code;
  rare().owed_reason = std::move(reason);
}

void ws_session::teardown() {
  tearing_down_ = true;
  arm_teardown();
  sock_.close_notify();  // TLS: its own closing alert follows the close frame
  sock_.async_drain([self = shared_from_this()](error_code ec) {
    error_code ignored;
    self->sock_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
    if (ec) return self->close_socket();
    self->discard_input();
  });
}

void ws_session::discard_input() {
  sock_.async_wait_readable([self = shared_from_this()](error_code ec) {
    // A bounded number of reads per wake-up, so a peer that keeps sending shares the thread.
    for (int i = 0; i < 16 && !ec; ++i) self->sock_.read_some(read_buffer(), ec);
    if (!ec || ec == net::error::would_block) return self->discard_input();
    self->close_socket();
  });
}

void ws_session::arm_teardown() {
  // Made on first use: a connection that never closes holds no timer.
  auto& timer = rare().teardown;
  if (!timer) timer = std::make_unique<net::steady_timer>(sock_.get_executor());
  timer->expires_after(server_.options().request_timeout);
  timer->async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->close_socket();
  });
}

void ws_session::close_socket() {
  if (rare_ && rare_->teardown) rare_->teardown->cancel();
  error_code ignored;
  sock_.next_layer().close(ignored);
}

void ws_session::process() {
  handle_inbox();
  // Replies to frames still queued or awaiting a verdict may join the next write.
  sock_.set_handling(busy_ || !inbox_.empty());
}

void ws_session::handle_inbox() {
  for (;;) {
    while (!busy_ && !inbox_.empty()) {
      inbound item = std::move(inbox_.front());
      inbox_.pop_front();
      if (item.job) {
        item.job();
      } else if (!item.binary) {
        protocol_->on_text(std::move(item.data));
      } else {
        server_.stats().received(rx_type::binary);
        if (route_->has(cb_binary)) {
          event ev = make_event(event_kind::binary);
          ev.data = std::move(item.data);
          ev.binary = true;
          server_.emit(std::move(ev));
        } else {
          server_.stats().dropped(drop_reason::no_handler);
        }
      }
    }
    const bool answered = !busy_ && inbox_.empty();
    if (read_done_) {
      if (!answered) return;
      if (owed_close_) {
        owed_close_ = false;
        put_close(owed_code_, rare().owed_reason);  // nothing when ours went already
        teardown();
      }
      if (!close_pending_) finish();
      return;
    }
    // Our close waits for the answers to the frames taken before it.
    if (close_requested_ && !close_sent_ && answered) do_close_frame();
    // Keep reading ahead of a pending verdict, up to a bound: first what an earlier read
    // brought past it, then the socket.
    if (reading_ || inbox_.size() >= server_.options().max_pending_frames) return;
    if (!rare_ || rare_->unparsed.empty()) return do_read();
    resume_unparsed();
  }
}

void ws_session::join(std::string room_id, std::string presence, std::optional<history_position> since,
                      std::function<void(join_result, std::string)> done) {
  // Cheap refusals first: no callback for a join that cannot succeed.
  if (join_result early = check_join(room_id); early != join_result::ok) return done(early, join_error_text(early));
  event ev = make_event(event_kind::join_room);
  ev.room_id = room_id;
  ev.data = presence;
  ask(cb_join_room, std::move(ev),
      [this, room_id, presence, since = std::move(since), done = std::move(done)](verdict&& v) mutable {
        if (v.cancel) return done(join_result::rejected, v.has_error ? v.error : join_error_text(join_result::rejected));
        enter_room(room_id, v.has_modified ? std::move(v.modified) : std::move(presence), std::move(since),
                   [done = std::move(done)](join_result result) {
                     done(result, result == join_result::ok ? std::string() : join_error_text(result));
                   });
      });
}

join_result ws_session::check_join(const std::string& room_id) const {
  const server_options& limits = server_.options();
  room_registry& rooms = server_.rooms();
  if (limits.max_id_length != 0 && room_id.size() > limits.max_id_length) return join_result::id_too_long;
  if (rooms.is_member(room_id, connection_id_)) return join_result::already_member;
  if (limits.max_rooms_per_connection != 0 && rooms.room_count_of(connection_id_) >= limits.max_rooms_per_connection)
    return join_result::too_many_rooms;
  auto room = rooms.info(room_id);
  if (!room) return route_->options.auto_create_rooms ? join_result::ok : join_result::unknown_room;
  if (room->max_connections != 0 && room->members && room->members->size() >= room->max_connections)
    return join_result::full;
  return join_result::ok;
}

member_info ws_session::as_member(std::string user_info) {
  member_info m;
  m.connection_id = connection_id_;
  m.client_id = client_id_;
  m.user_info = std::move(user_info);
  m.joined_at = now_ms();
  m.io_index = io_index_;
  m.sink = std::static_pointer_cast<room_member>(shared_from_this());
  return m;
}

join_result ws_session::admit(const std::string& room_id, member_info m, join_mode mode,
                              const std::optional<history_position>& since) {
  room_registry& rooms = server_.rooms();
  const history_options& route_history = route_->options.history;
  const bool auto_create = route_->options.auto_create_rooms;
  // A room this join creates gets its history first, so the join below runs under its lock.
  if (auto_create && route_history.enabled() && !rooms.info(room_id)) {
    const server_options& limits = server_.options();
    if (limits.max_id_length == 0 || room_id.size() <= limits.max_id_length)
      rooms.create(room_id, "", 0, "{}", true, room_id, route_history);
  }
  std::shared_ptr<room_history> history = rooms.history(room_id);
  std::unique_lock<std::mutex> held;
  if (history) held = history->lock();
  auto announce = std::make_shared<const std::string>(protocol::presence("join", room_id, m, timestamp_now()));
  member_list before;
  auto result = rooms.join(room_id, std::move(m), auto_create, &before, mode, route_history);
  if (result != join_result::ok) return result;
  server_.fan_out_batched(before, announce, tx_type::presence);
  protocol::joined_history where;
  where.asked = since.has_value();
  history_replay replay;
  // The room is the one whose lock is held (not deleted and made again in between).
  if (history && rooms.history(room_id) == history) {
    replay = history->since(since, now_ms());
    where.has_history = true;
    where.offset = replay.offset;
    where.epoch = history->epoch();
    // A replay the connection's queue cannot take is not begun: the client reloads instead.
    if (replay.recovered && buffered_amount() + replay.bytes > server_.options().max_backpressure) {
      replay.recovered = false;
      replay.frames.clear();
    }
    where.recovered = replay.recovered;
  }
  // Posted while the history is locked: ahead of every live message of the room.
  if (std::string joined = protocol_->joined_frame(room_id, where); !joined.empty())
    write_text(std::move(joined), tx_type::room_joined);
  for (auto& frame : replay.frames) send(std::move(frame), false, tx_type::room_message);
  return result;
}

void ws_session::enter_room(const std::string& room_id, std::string user_info, std::optional<history_position> since,
                            std::function<void(join_result)> then) {
  member_info m = as_member(std::move(user_info));
  auto room = server_.rooms().info(room_id);
  if (room && room->max_connections != 0) {
    // The room's limit counts every server's members: Redis takes the place atomically.
    auto granted = [self = shared_from_this(), room_id, m, since, then](bool ok) {
      self->server_.post_to(self->io_index_, [self, room_id, m, since, then, ok]() mutable {
        self->busy_ = false;
        join_result result = join_result::full;
        if (ok) {
          result = self->finished_ ? join_result::unknown_connection
                                   : self->admit(room_id, m, join_mode::reserved, since);
          // The place goes back unless this connection holds it now.
          if (result != join_result::ok && result != join_result::already_member)
            self->server_.cluster_left(room_id, self->connection_id_);
        }
        then(result);
        self->process();
      });
    };
    busy_ = true;
    if (server_.cluster_reserve(room_id, m, room->max_connections, std::move(granted))) return;
    busy_ = false;
  }
  const member_info copy = m;
  auto result = admit(room_id, std::move(m), join_mode::normal, since);
  if (result == join_result::ok) server_.cluster_joined(room_id, copy);
  then(result);
}

join_result ws_session::join_now(const std::string& room_id) {
  // The REST API answers at once: this server's view of the room's limit decides.
  member_info m = as_member("null");
  const member_info copy = m;
  auto result = admit(room_id, std::move(m), join_mode::normal, std::nullopt);
  if (result == join_result::ok) server_.cluster_joined(room_id, copy);
  return result;
}

void ws_session::join_from_app(std::string room_id, std::function<void(join_result, std::string)> done) {
  // Through post_to, like sends: in order with what the same callback sent before.
  server_.post_to(io_index_, [self = shared_from_this(), room_id = std::move(room_id),
                              done = std::move(done)]() mutable {
    if (self->finished_) return done(join_result::unknown_connection, "Connection closed");
    self->inbox_.push_back({{}, false, [s = self.get(), room_id, done]() mutable {
      s->join(room_id, "null", std::nullopt, [done](join_result result, std::string error) {
        done(result, std::move(error));
      });
    }});
    self->process();
  });
}

void ws_session::ask(std::uint32_t bit, event&& ev, std::function<void(verdict&&)> then) {
  if (!route_->has(bit)) return then(verdict{});
  busy_ = true;
  // The pending entry holds the session: it lives until its verdict, and the host
  // always answers (callbacks time out on the JS side).
  ev.id = server_.await_verdict(
      [self = shared_from_this(), then = std::move(then)](verdict&& v) mutable {
        self->server_.post_to(self->io_index_, [self, then = std::move(then), v = std::move(v)]() mutable {
          self->busy_ = false;
          then(std::move(v));
          self->process();
        });
      });
  server_.emit(std::move(ev));
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

bool ws_session::reserve(std::size_t size, std::size_t& before) {
  const std::size_t limit = server_.options().max_backpressure;
  before = buffered_.fetch_add(size, std::memory_order_relaxed);
  if (before < limit) return true;
  buffered_.fetch_sub(size, std::memory_order_relaxed);
  server_.stats().dropped(drop_reason::backpressure);
  if (server_.options().close_on_backpressure) close_with(1013, "backpressure limit exceeded", true);
  return false;
}

send_status ws_session::send(std::shared_ptr<const std::string> data, bool binary, tx_type type) {
  const std::size_t size = data->size();
  std::size_t before;
  if (!reserve(size, before)) return send_status::dropped;
  server_.stats().sent(type);
  server_.post_to(io_index_, [self = shared_from_this(), data = std::move(data), binary] {
    self->enqueue(data, binary);
  });
  return before + size > server_.options().max_backpressure ? send_status::backpressure : send_status::ok;
}

bool ws_session::send_local(const std::shared_ptr<const std::string>& frame, tx_type type) {
  if (type == tx_type::presence && !protocol_->wants_presence()) return false;
  std::size_t before;
  if (!reserve(frame->size(), before)) return false;
  enqueue(frame, false);
  return true;
}

void ws_session::write_text(std::string text, tx_type type) {
  send(std::make_shared<const std::string>(std::move(text)), false, type);
}

void ws_session::notify_left(const std::string& room_id) {
  if (std::string left = protocol_->left_frame(room_id); !left.empty()) write_text(std::move(left), tx_type::room_left);
}

bool ws_session::admit(double now) {
  const std::uint32_t rate = route_->options.max_messages_per_second;
  if (rate == 0) return true;
  if (tokens_at_ == 0) {
    tokens_ = rate;
    tokens_at_ = now;
  }
  tokens_ = std::min<double>(rate, tokens_ + (now - tokens_at_) * rate / 1000.0);
  tokens_at_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return true;
  }
  server_.stats().dropped(drop_reason::rate_limited);
  fifo<double>& refused_at = rare().refused_at;
  while (!refused_at.empty() && now - refused_at.front() > 5000) refused_at.pop_front();
  refused_at.push_back(now);
  if (refused_at.size() > rate) {
    // Persistent abuse: more frames refused within 5 s than a second's allowance.
    server_.stats().error(err_type::rate_limited);
    close_with(1008, "rate limit exceeded");
  } else {
    // Answered in frame order: after the frames taken before it.
    inbox_.push_back({{}, false, [this, rate] {
      server_.stats().error(err_type::rate_limited);
      protocol_->on_refused(err_type::rate_limited,
                            "Too many messages: the limit is " + std::to_string(rate) + " per second");
    }});
  }
  return false;
}

void ws_session::sweep(double now, double idle_ms, bool ping) {
  net::post(sock_.get_executor(), [self = shared_from_this(), now, idle_ms, ping] {
    if (self->finished_ || self->close_requested_) return;
    if (idle_ms > 0 && now - self->last_seen_ms_.load(std::memory_order_relaxed) > idle_ms) {
      self->close_with(1001, "idle timeout", true);
      return;
    }
    if (!ping) return;
    self->put_control(op_ping, {});  // whole frames only in the cork: never inside another
    self->ping_sent_ms_ = now_ms();
    self->protocol_->on_heartbeat();
  });
}

void ws_session::pong_received() {
  if (ping_sent_ms_ < 0) return;
  latency_ms_.store(now_ms() - ping_sent_ms_);
  ping_sent_ms_ = -1;
}

void ws_session::shutdown() { close_with(1001, {}); }

void ws_session::cut_off() {
  if (finished_) return;
  if (!read_done_) {
    closed_code_ = close_requested_ ? close_code_ : 1001;
    rare().closed_reason = close_requested_ ? rare().close_text : std::string();
  }
  if (!close_requested_) {
    close_code_ = 1001;
    close_requested_ = true;
  }
  put_close(owed_close_ ? owed_code_ : close_code_, owed_close_ ? rare().owed_reason : rare().close_text);
  sock_.flush_now();  // best effort: what the socket takes without waiting
  // Shut down for sending, not closed: the client's answer to the close still finds an
  // open socket; the descriptor goes with the session.
  error_code ignored;
  sock_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
  if (rare_ && rare_->teardown) rare_->teardown->cancel();
  read_done_ = true;
  busy_ = false;
  inbox_.clear();
  finish();
}

void ws_session::close_with(int code, std::string reason, bool urgent) {
  // Through post_to, like sends: a close after a send in the same callback comes after it.
  server_.post_to(io_index_, [self = shared_from_this(), code, reason = std::move(reason), urgent] {
    if (self->close_requested_ || self->finished_) return;
    self->close_code_ = code;
    self->rare().close_text = reason;
    self->close_requested_ = true;
    if (urgent) {
      // Keep only what is being written; bound the wait for the close to get out.
      self->buffered_.fetch_sub(self->sock_.discard_corked(), std::memory_order_relaxed);
      self->arm_teardown();
      return self->do_close_frame();
    }
    self->process();  // the close frame goes once what was taken is answered
  });
}

void ws_session::close_in_order(int code, std::string reason) {
  server_.post_to(io_index_, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    if (self->finished_ || self->close_requested_) return;
    if (!self->busy_ && self->inbox_.empty()) return self->close_with(code, std::move(reason));
    // Behind the frame being handled and what is queued with it (a join made by the same
    // callback, say), like any other app operation on this connection.
    self->inbox_.push_back({{}, false, [s = self.get(), code, reason = std::move(reason)]() mutable {
      s->close_with(code, std::move(reason));
    }});
    self->process();
  });
}

json::object ws_session::info() const {
  json::object o;
  o["connectionId"] = connection_id_;
  o["id"] = connection_id_;  // RNode's name for it
  o["clientId"] = client_id_;
  o["path"] = path_;
  o["handlerId"] = std::to_string(route_->options.handler_id);
  o["connectedAt"] = rfc3339(connected_at_);
  o["createdAt"] = o["connectedAt"];  // RNode's name for it
  // RNode's lastPing: when the client was last heard from (any frame, pongs included).
  o["lastPing"] = rfc3339(last_seen_ms_.load(std::memory_order_relaxed));
  double latency = latency_ms_.load();
  if (latency < 0)
    o["latency"] = nullptr;
  else
    o["latency"] = latency;
  o["bufferedAmount"] = buffered_.load(std::memory_order_relaxed);
  o["metadata"] = metadata_ ? protocol::parse_stored(*metadata_) : json::value(nullptr);
  json::array rooms;
  for (auto& id : server_.rooms().rooms_of(connection_id_)) rooms.push_back(json::string(id));
  // RNode's roomId: one room per connection there; here the first of `rooms`, or null.
  o["roomId"] = rooms.empty() ? json::value(nullptr) : rooms.front();
  o["rooms"] = std::move(rooms);
  return o;
}

void ws_session::enqueue(const std::shared_ptr<const std::string>& data, bool binary) {
  if (finished_ || close_sent_) {
    buffered_.fetch_sub(data->size(), std::memory_order_relaxed);
    return;
  }
  put_frame(data, binary);
}

namespace {
/// One thread's compression of the last frame it compressed for one window size: the
/// members of a room on this thread get the same bytes from one compression.
struct shared_compression {
  std::shared_ptr<const std::string> frame;  // held, so its address cannot be reused meanwhile
  std::string bytes;
  std::unique_ptr<deflater> z;
};
thread_local shared_compression shared_compressions[7];  // window bits 9 to 15
}  // namespace

const std::string* ws_session::compressed(const std::shared_ptr<const std::string>& data) {
  thread_local std::string own;
  if (deflate_takeover_) {
    // The connection's window moves with every message it compresses: the compressed
    // bytes must go, smaller or not.
    if (!deflater_) deflater_ = std::make_unique<deflater>(deflate_bits_, true);
    deflater_->compress(*data, own);
    return &own;
  }
  shared_compression& c = shared_compressions[deflate_bits_ - 9];
  if (c.frame != data) {
    if (!c.z) c.z = std::make_unique<deflater>(deflate_bits_, false);
    c.z->compress(*data, c.bytes);
    c.frame = data;
  }
  return c.bytes.size() < data->size() ? &c.bytes : nullptr;
}

void ws_session::put_frame(const std::shared_ptr<const std::string>& data, bool binary) {
  // A server frame is unmasked and never fragmented here: the header is all there is to
  // add, and control frames (pings, pongs, the close) only ever land between whole ones.
  std::string_view payload = *data;
  unsigned char head[14];
  if (deflate_ && payload.size() >= route_->options.compression_threshold) {
    if (const std::string* packed = compressed(data)) {
      std::size_t n = frame_header(head, binary ? 0x2 : 0x1, packed->size());
      head[0] |= 0x40;  // RSV1: a compressed message
      // The credit stays the message's own size: that is what the buffered count holds.
      sock_.append_frame(head, n, *packed, payload.size());
      return;
    }
  }
  std::size_t n = frame_header(head, binary ? 0x2 : 0x1, payload.size());
  sock_.append_frame(head, n, payload, payload.size());
}

void ws_session::put_close(int code, std::string_view reason) {
  if (close_sent_) return;
  std::string payload;
  if (code != 1005) {  // 1005 means no code: an empty close
    payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    payload.append(reason.substr(0, 123));  // a close frame holds at most 123 reason bytes
  }
  put_control(op_close, payload);
  close_sent_ = true;
}

void ws_session::put_control(unsigned opcode, std::string_view payload) {
  if (close_sent_) return;
  unsigned char head[14];
  std::size_t n = frame_header(head, opcode, payload.size());
  sock_.append_frame(head, n, payload, 0);
}

void ws_session::do_close_frame() {
  if (close_sent_ || read_done_) return;
  put_close(close_code_, rare().close_text);
  close_pending_ = true;
  // The client's answer ends it; a client that never answers is cut off.
  arm_teardown();
}

void ws_session::finish() {
  if (finished_) return;
  finished_ = true;
  if (rare_ && rare_->teardown && !tearing_down_) rare_->teardown->cancel();
  server_.remove_session(*this);
  slot_.release();
  // Leave every room; the members who remain see presence `leave`.
  for (auto& gone : server_.rooms().leave_all(connection_id_)) {
    server_.cluster_left(gone.room_id, connection_id_);
    server_.fan_out_batched(gone.remaining,
                            std::make_shared<const std::string>(
                                protocol::presence("leave", gone.room_id, gone.member, timestamp_now())),
                            tx_type::presence);
  }
  static const std::string none;
  const std::string& closed_reason = rare_ ? rare_->closed_reason : none;
  protocol_->on_close(closed_code_, closed_reason);
  if (route_->has(cb_close)) {
    event ev = make_event(event_kind::close);
    ev.code = closed_code_;
    ev.reason = closed_reason;
    server_.emit(std::move(ev));
  }
}

}  // namespace roomwire
