#include "redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include "log.hpp"

namespace roomwire {

namespace {

/// A command's handler, handed to hiredis as its privdata.
struct pending_reply {
  redis_connection::reply_handler fn;
};

redis_connection* owner(const redisAsyncContext* ac) { return static_cast<redis_connection*>(ac->data); }

}  // namespace

bool redis_reply_view::is_error() const { return reply && reply->type == REDIS_REPLY_ERROR; }
bool redis_reply_view::is_array() const { return reply && reply->type == REDIS_REPLY_ARRAY; }

std::string redis_reply_view::text() const {
  if (!reply) return {};
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(reply->str, reply->len);
    default:
      return {};
  }
}

long long redis_reply_view::integer() const {
  return reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
}

std::size_t redis_reply_view::size() const { return is_array() ? reply->elements : 0; }

redis_reply_view redis_reply_view::at(std::size_t i) const {
  return redis_reply_view{i < size() ? reply->element[i] : nullptr};
}

redis_connection::redis_connection(net::io_context& ioc, options opts)
    : ioc_(ioc), opts_(std::move(opts)), socket_(ioc), retry_(ioc), backoff_(opts_.backoff_min) {}

redis_connection::~redis_connection() {
  stopped_ = true;
  if (ac_) redisAsyncFree(ac_);  // pending replies get a null view; cleanup() detaches
}

void redis_connection::start() {
  stopped_ = false;
  if (!ac_) connect();
}

void redis_connection::stop() {
  stopped_ = true;
  retry_.cancel();
  if (ac_) redisAsyncDisconnect(ac_);  // replies already asked for still arrive first
}

void redis_connection::connect() {
  redisAsyncContext* ac = redisAsyncConnect(opts_.host.c_str(), opts_.port);
  if (!ac || ac->err) {
    log(log_level::warn, std::string("redis: cannot connect to ") + opts_.host + ":" + std::to_string(opts_.port) +
                             (ac ? std::string(": ") + ac->errstr : std::string()));
    if (ac) redisAsyncFree(ac);
    return schedule_reconnect();
  }
  error_code ec;
  socket_.assign(ac->c.fd, ec);
  if (ec) {
    redisAsyncFree(ac);
    return schedule_reconnect();
  }
  ac_ = ac;
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = &redis_connection::add_read;
  ac->ev.delRead = &redis_connection::del_read;
  ac->ev.addWrite = &redis_connection::add_write;
  ac->ev.delWrite = &redis_connection::del_write;
  ac->ev.cleanup = &redis_connection::cleanup;
  redisAsyncSetDisconnectCallback(ac, &redis_connection::disconnected_cb);
  // Set last: it asks for the first write event, which tells the connect's outcome.
  redisAsyncSetConnectCallback(ac, &redis_connection::connected_cb);
}

void redis_connection::schedule_reconnect() {
  if (stopped_) return;
  retry_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, opts_.backoff_max);
  retry_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || ec || self->stopped_ || self->ac_) return;
    self->connect();
  });
}

void redis_connection::watch(bool write) {
  bool& wanted = write ? want_write_ : want_read_;
  bool& waiting = write ? write_waiting_ : read_waiting_;
  if (waiting || !wanted || !ac_) return;
  waiting = true;
  socket_.async_wait(write ? net::posix::stream_descriptor::wait_write : net::posix::stream_descriptor::wait_read,
                     [weak = weak_from_this(), ac = ac_, write](error_code ec) {
                       auto self = weak.lock();
                       if (!self || self->ac_ != ac) return;  // a wait of an earlier connection
                       (write ? self->write_waiting_ : self->read_waiting_) = false;
                       if (ec || !(write ? self->want_write_ : self->want_read_)) return;
                       // May end the connection: cleanup() then detaches it.
                       write ? redisAsyncHandleWrite(ac) : redisAsyncHandleRead(ac);
                       self->watch(write);
                     });
}

void redis_connection::detach() {
  want_read_ = want_write_ = false;
  read_waiting_ = write_waiting_ = false;
  socket_.release();  // hiredis closes the descriptor; outstanding waits end as aborted
  ac_ = nullptr;
}

void redis_connection::add_read(void* self) {
  auto* c = static_cast<redis_connection*>(self);
  c->want_read_ = true;
  c->watch(false);
}

void redis_connection::del_read(void* self) { static_cast<redis_connection*>(self)->want_read_ = false; }

void redis_connection::add_write(void* self) {
  auto* c = static_cast<redis_connection*>(self);
  c->want_write_ = true;
  c->watch(true);
}

void redis_connection::del_write(void* self) { static_cast<redis_connection*>(self)->want_write_ = false; }

void redis_connection::cleanup(void* self) { static_cast<redis_connection*>(self)->detach(); }

void redis_connection::connected_cb(const redisAsyncContext* ac, int status) {
  redis_connection* self = owner(ac);
  if (status != REDIS_OK) {
    // hiredis frees the context after this returns (cleanup detaches it).
    log(log_level::warn, std::string("redis: connect to ") + self->opts_.host + ":" +
                             std::to_string(self->opts_.port) + " failed: " + (ac->errstr ? ac->errstr : "?"));
    return self->schedule_reconnect();
  }
  self->connected_ = true;
  self->backoff_ = self->opts_.backoff_min;
  // Pipelined ahead of every other command of this connection.
  auto refuse = [](redis_reply_view r) {
    if (r && r.is_error()) log(log_level::error, "redis: " + r.text());
  };
  if (!self->opts_.password.empty()) self->command({"AUTH", self->opts_.password}, refuse);
  if (self->opts_.db != 0) self->command({"SELECT", std::to_string(self->opts_.db)}, refuse);
  log(log_level::info, "redis: connected to " + self->opts_.host + ":" + std::to_string(self->opts_.port));
  if (self->on_connected_) self->on_connected_();
}

void redis_connection::disconnected_cb(const redisAsyncContext* ac, int status) {
  redis_connection* self = owner(ac);
  self->connected_ = false;
  if (status != REDIS_OK)
    log(log_level::warn, std::string("redis: connection lost: ") + (ac->errstr ? ac->errstr : "?"));
  if (self->on_disconnected_) self->on_disconnected_();
  self->schedule_reconnect();  // nothing after stop()
}

void redis_connection::reply_cb(redisAsyncContext*, void* reply, void* privdata) {
  auto* p = static_cast<pending_reply*>(privdata);
  if (!p) return;
  if (p->fn) p->fn(redis_reply_view{static_cast<redisReply*>(reply)});
  delete p;
}

void redis_connection::message_cb(redisAsyncContext* ac, void* reply, void*) {
  // hiredis calls this with no reply for each subscription when the connection goes.
  if (!reply) return;
  redis_connection* self = owner(ac);
  if (self->on_message_) self->on_message_(redis_reply_view{static_cast<redisReply*>(reply)});
}

bool redis_connection::send_argv(const char* first, const std::vector<std::string>& rest,
                                 void (*cb)(redisAsyncContext*, void*, void*), void* privdata) {
  if (!ac_ || !connected_) return false;
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(rest.size() + 1);
  lengths.reserve(rest.size() + 1);
  if (first) {
    args.push_back(first);
    lengths.push_back(std::char_traits<char>::length(first));
  }
  for (const auto& a : rest) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (args.empty()) return false;
  return redisAsyncCommandArgv(ac_, cb, privdata, static_cast<int>(args.size()), args.data(), lengths.data()) ==
         REDIS_OK;
}

bool redis_connection::command(const std::vector<std::string>& argv, reply_handler handler) {
  if (!ac_ || !connected_ || argv.empty()) return false;
  auto* p = new pending_reply{std::move(handler)};
  if (!send_argv(nullptr, argv, &redis_connection::reply_cb, p)) {
    delete p;
    return false;
  }
  return true;
}

bool redis_connection::subscribe(const std::vector<std::string>& channels, bool pattern) {
  // One callback for every channel, with no per-channel state: hiredis files it under each
  // channel and calls it for each message, and no unsubscribe has anything to free.
  return !channels.empty() &&
         send_argv(pattern ? "PSUBSCRIBE" : "SUBSCRIBE", channels, &redis_connection::message_cb, nullptr);
}

bool redis_connection::unsubscribe(const std::vector<std::string>& channels) {
  return !channels.empty() && send_argv("UNSUBSCRIBE", channels, &redis_connection::message_cb, nullptr);
}

}  // namespace roomwire
