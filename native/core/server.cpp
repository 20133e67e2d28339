#include "server.hpp"

#include <future>
#include <stdexcept>

#include <algorithm>
#include <bitset>

#include "cluster.hpp"
#include "ids.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "session_index.hpp"
#include "ws_session.hpp"

namespace roomwire {

server::server(server_options options, std::shared_ptr<event_sink> sink,
               std::shared_ptr<room_registry> rooms, std::shared_ptr<std::atomic<std::uint64_t>> ids)
    : options_(std::move(options)),
      sink_(std::move(sink)),
      next_id_(ids ? std::move(ids) : std::make_shared<std::atomic<std::uint64_t>>(1)),
      sessions_(std::make_unique<session_index>()),
      rooms_(rooms ? std::move(rooms) : std::make_shared<room_registry>()),
      io_(make_contexts(options_.threads)),
      sweep_(io_.front()->ioc) {
  rooms_->set_limits(options_.max_rooms_per_connection, options_.max_id_length);
}


std::vector<std::unique_ptr<server::io_thread>> server::make_contexts(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<io_thread>> out;
  for (unsigned i = 0; i < threads; ++i) out.push_back(std::make_unique<io_thread>());
  return out;
}

namespace {
/// The server whose posts this thread is gathering (the host's thread during a batch).
thread_local server* deferring = nullptr;
/// The server and index of the I/O thread this is, if it is one.
thread_local server* io_owner = nullptr;
thread_local std::size_t io_self = 0;
}  // namespace

server::~server() {
  stop(std::chrono::milliseconds(0));
  // A server destroyed in the middle of a batch must not stay marked on this thread: a
  // later server built at the same address would gather its posts into nothing.
  if (deferring == this) deferring = nullptr;
}

void server::defer_begin() {
  if (deferred_.size() != io_.size()) deferred_.resize(io_.size());
  deferring = this;
}

void server::defer_end() {
  post_deferred();
  deferring = nullptr;
}

void server::post_deferred() {
  if (deferring != this) return;
  for (std::size_t i = 0; i < deferred_.size(); ++i) {
    if (deferred_[i].empty()) continue;
    net::post(io_[i]->ioc, [work = std::move(deferred_[i])]() mutable {
      for (auto& fn : work) fn();
    });
    deferred_[i].clear();
  }
}

void server::post_to(std::size_t io_index, std::function<void()> fn) {
  auto& ctx = io_[io_index]->ioc;
  if (ctx.get_executor().running_in_this_thread()) return fn();
  if (deferring == this) return deferred_[io_index].push_back(std::move(fn));
  if (io_owner == this) return io_[io_self]->outgoing[io_index].push_back(std::move(fn));
  net::post(ctx, std::move(fn));
}

void server::emit(event&& ev) {
  if (io_owner == this) return io_[io_self]->events.push_back(std::move(ev));
  sink_->emit(std::move(ev));
}

net::io_context& server::next_context() {
  return io_[next_io_.fetch_add(1, std::memory_order_relaxed) % io_.size()]->ioc;
}

std::size_t server::context_index(const net::any_io_executor& ex) const {
  for (std::size_t i = 0; i < io_.size(); ++i)
    if (&net::query(ex, net::execution::context) == &io_[i]->ioc) return i;
  return 0;
}

void server::add_ws_route(const ws_route_options& route) {
  auto r = std::make_shared<const ws_route>(ws_route{route, route_pattern(route.pattern)});
  std::unique_lock lock(routes_mutex_);
  ws_routes_.push_back(std::move(r));
}

void server::add_http_route(const http_route_options& route) {
  auto r = std::make_shared<const http_route>(http_route{route, route_pattern(route.pattern)});
  std::unique_lock lock(routes_mutex_);
  http_routes_.push_back(std::move(r));
}

void server::add_static(const static_mount& mount) {
  auto m = std::make_shared<const static_mount>(mount);
  std::unique_lock lock(routes_mutex_);
  statics_.push_back(std::move(m));
}

std::optional<std::pair<std::shared_ptr<const static_mount>, static_file>> server::find_static_file(
    const std::vector<std::string>& segments) const {
  std::vector<std::shared_ptr<const static_mount>> mounts;
  {
    std::shared_lock lock(routes_mutex_);
    mounts = statics_;
  }
  for (auto& m : mounts)
    if (auto f = find_static(*m, segments)) return std::make_pair(std::move(m), std::move(*f));
  return std::nullopt;
}

std::shared_ptr<const ws_route> server::match_ws(const std::vector<std::string>& segments,
                                                 string_pairs& params) const {
  std::shared_lock lock(routes_mutex_);
  for (const auto& r : ws_routes_)
    if (r->pattern.match(segments, params)) return r;
  return nullptr;
}

std::shared_ptr<const http_route> server::match_http(const std::string& method,
                                                     const std::vector<std::string>& segments,
                                                     string_pairs& params) const {
  std::shared_lock lock(routes_mutex_);
  for (const auto& r : http_routes_)
    if (r->options.method == method && r->pattern.match(segments, params)) return r;
  return nullptr;
}

unsigned short server::listen(const std::string& host, unsigned short port, error_code& ec) {
  auto address = net::ip::make_address(host, ec);
  if (ec) return 0;
  auto l = std::make_shared<listener>(*this, io_.front()->ioc);
  unsigned short bound = l->open(tcp::endpoint(address, port), ec);
  if (ec) return 0;
  listener_ = std::move(l);
  for (auto& t : io_) t->work.emplace(t->ioc.get_executor());
  listener_->run();
  if (options_.cluster.enabled()) {
    metrics_.cluster_enabled();
    cluster_ = std::make_shared<cluster_bus>(*this, io_.front()->ioc, options_.cluster);
    net::post(io_.front()->ioc, [bus = cluster_] { bus->start(); });
  }
  next_heartbeat_ = std::chrono::steady_clock::now() + options_.heartbeat_interval;
  start_sweep();
  for (std::size_t i = 0; i < io_.size(); ++i) {
    io_[i]->outgoing.resize(io_.size());
    io_[i]->thread = std::thread([this, i] {
      io_owner = this;
      io_self = i;
      // No exception may escape a thread: log it and keep serving.
      for (;;) {
        try {
          run_corked(io_[i]->ioc, [this, i] { send_gathered(i); });
          return;
        } catch (const std::exception& e) {
          log(log_level::error, std::string("uncaught exception on an I/O thread: ") + e.what());
        }
      }
    });
  }
  running_ = true;
  return bound;
}

void server::send_gathered(std::size_t i) {
  if (!io_[i]->events.empty()) sink_->emit_many(io_[i]->events);
  auto& out = io_[i]->outgoing;
  for (std::size_t t = 0; t < out.size(); ++t) {
    if (out[t].empty()) continue;
    net::post(io_[t]->ioc, [work = std::move(out[t])]() mutable {
      for (auto& fn : work) fn();
    });
    out[t].clear();
  }
}

bool server::on_every_thread(const std::function<void()>& fn, std::chrono::steady_clock::time_point until) {
  // Shared with the handlers: a thread that gets to it after the wait gave up finds it still there.
  struct countdown {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t left;
  };
  auto state = std::make_shared<countdown>();
  state->left = io_.size();
  for (std::size_t i = 0; i < io_.size(); ++i) {
    net::post(io_[i]->ioc, [this, i, fn, state] {
      fn();
      send_gathered(i);
      std::lock_guard<std::mutex> lock(state->mutex);
      if (--state->left == 0) state->done.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(state->mutex);
  return state->done.wait_until(lock, until, [&] { return state->left == 0; });
}

void server::start_sweep() {
  // One coarse timer for every connection: often enough for the heartbeat and to notice
  // idleness within a quarter of the idle timeout.
  using ms = std::chrono::milliseconds;
  ms tick = ms::max();
  if (options_.heartbeat_interval.count() > 0) tick = std::min(tick, options_.heartbeat_interval);
  if (options_.idle_timeout.count() > 0) tick = std::min(tick, options_.idle_timeout / 4);
  if (tick == ms::max()) return;
  sweep_.expires_after(std::max(tick, ms(10)));
  sweep_.async_wait([this](error_code ec) { on_sweep(ec); });
}

void server::on_sweep(error_code ec) {
  if (ec || stopping()) return;
  auto now = std::chrono::steady_clock::now();
  bool ping = options_.heartbeat_interval.count() > 0 && now >= next_heartbeat_;
  if (ping) next_heartbeat_ = now + options_.heartbeat_interval;
  double idle = static_cast<double>(options_.idle_timeout.count());
  double wall = now_ms();
  std::vector<std::shared_ptr<ws_session>> live;
  {
    std::shared_lock lock(sessions_mutex_);
    live.reserve(sessions_->size());
    sessions_->for_each([&](ws_session& session) {
      if (auto s = session.weak_from_this().lock()) live.push_back(std::move(s));
    });
  }
  for (const auto& s : live) s->sweep(wall, idle, ping);
  start_sweep();
}

void server::stop(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> guard(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (!running_) return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  listener_->close();
  // Every thread first hands over the fan-outs it gathered for the others (and the sweep
  // stops): each batch is then queued ahead of the closes posted below.
  on_every_thread([this] {
    if (io_owner != this || io_self != 0) return;
    sweep_.cancel();
  }, deadline);
  std::vector<std::shared_ptr<closeable>> open;
  {
    std::lock_guard<std::mutex> lock(tracked_mutex_);
    for (closeable* c = tracked_; c; c = c->tracked_next_)
      if (auto strong = c->lock_open()) open.push_back(std::move(strong));
  }
  for (const auto& c : open) c->shutdown();
  open.clear();

  // Give sessions until the deadline to answer, flush and close, then cut the rest off.
  bool drained;
  {
    std::unique_lock<std::mutex> lock(tracked_mutex_);
    drained = tracked_empty_.wait_until(lock, deadline, [this] { return tracked_ == nullptr; });
  }
  if (cluster_) {
    // The connections have left their rooms: the cluster is told this server is gone (2 s
    // at most for Redis to take it; its heartbeat expiring says the same later).
    auto left = std::make_shared<std::promise<void>>();
    auto answer = left->get_future();
    net::post(io_.front()->ioc, [bus = cluster_, left] { bus->stop([left] { left->set_value(); }); });
    if (answer.wait_for(std::chrono::seconds(2)) != std::future_status::ready) io_.front()->ioc.stop();
  }
  for (auto& t : io_) t->work.reset();
  if (!drained)
    for (auto& t : io_) t->ioc.stop();
  for (auto& t : io_) t->thread.join();
  running_ = false;

  // Connections the deadline cut off: the close goes out if the socket takes it, they
  // leave their rooms, and each is reported closed like the others. The threads are
  // joined, so this thread may act for them.
  std::vector<std::shared_ptr<ws_session>> unfinished;
  {
    std::shared_lock lock(sessions_mutex_);
    sessions_->for_each([&](ws_session& session) {
      if (auto s = session.weak_from_this().lock()) unfinished.push_back(std::move(s));
    });
  }
  for (const auto& s : unfinished) s->cut_off();

  std::unordered_map<std::uint64_t, pending_verdict> orphaned;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    orphaned.swap(pending_);
  }
}

std::uint64_t server::await_verdict(std::function<void(verdict&&)> resume) {
  std::uint64_t id = next_id_->fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(pending_mutex_);
  pending_.emplace(id, pending_verdict{std::move(resume), std::chrono::steady_clock::now()});
  return id;
}

void server::complete(std::uint64_t id, verdict&& v) {
  std::vector<std::pair<std::uint64_t, verdict>> one;
  one.emplace_back(id, std::move(v));
  complete_many(std::move(one));
}

void server::complete_many(std::vector<std::pair<std::uint64_t, verdict>>&& verdicts) {
  std::vector<std::pair<pending_verdict, verdict*>> found;
  found.reserve(verdicts.size());
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    for (auto& [id, v] : verdicts) {
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;
      found.emplace_back(std::move(it->second), &v);
      pending_.erase(it);
    }
  }
  const auto now = std::chrono::steady_clock::now();
  for (auto& [entry, v] : found) {
    metrics_.callback_latency(std::chrono::duration<double>(now - entry.since).count());
    entry.resume(std::move(*v));
  }
}

std::optional<send_status> server::send(const std::string& connection_id,
                                        std::shared_ptr<const std::string> data, bool binary) {
  std::shared_ptr<ws_session> s;
  {
    std::shared_lock lock(sessions_mutex_);
    if (ws_session* found = sessions_->find(connection_id)) s = found->weak_from_this().lock();
  }
  if (!s) return std::nullopt;
  return s->send(std::move(data), binary);
}

std::size_t server::broadcast(const std::string& path, std::shared_ptr<const std::string> data,
                              bool binary, bool local_only) {
  if (cluster_ && !local_only)
    post_to(0, [bus = cluster_, path, data, binary] { bus->publish_broadcast(path, data, binary); });
  std::vector<std::shared_ptr<ws_session>> targets;
  {
    std::shared_lock lock(sessions_mutex_);
    sessions_->for_each([&](ws_session& session) {
      if (session.route().options.pattern != path && session.path() != path) return;
      if (auto s = session.weak_from_this().lock()) targets.push_back(std::move(s));
    });
  }
  for (const auto& s : targets) s->send(data, binary);
  return targets.size();
}

std::size_t server::connection_count() const {
  std::shared_lock lock(sessions_mutex_);
  return sessions_->size();
}

std::size_t server::cluster_connection_count() const {
  return connection_count() + (cluster_ && cluster_->live() ? cluster_->remote_connections() : 0);
}

connection_slot server::take_slot() {
  const std::size_t cap = options_.max_connections;
  const std::size_t before = slots_taken_->fetch_add(1, std::memory_order_relaxed);
  if (cap != 0 && before >= cap) {
    slots_taken_->fetch_sub(1, std::memory_order_relaxed);
    return {};
  }
  return connection_slot(slots_taken_);
}

void server::add_session(const std::shared_ptr<ws_session>& s) {
  std::unique_lock lock(sessions_mutex_);
  sessions_->insert(*s);
  if (cluster_)
    post_to(0, [bus = cluster_, client = s->client_id(), id = s->connection_id()] { bus->connection_opened(client, id); });
}

void server::remove_session(ws_session& s) {
  std::unique_lock lock(sessions_mutex_);
  if (!sessions_->erase(s)) return;
  lock.unlock();
  if (cluster_)
    post_to(0, [bus = cluster_, client = s.client_id(), id = s.connection_id()] { bus->connection_closed(client, id); });
}

std::shared_ptr<ws_session> server::find(const std::string& connection_id) const {
  std::shared_lock lock(sessions_mutex_);
  ws_session* found = sessions_->find(connection_id);
  return found ? found->weak_from_this().lock() : nullptr;
}

std::vector<std::shared_ptr<ws_session>> server::find_targets(const std::string& client_id,
                                                              const std::string& connection_id) const {
  std::vector<std::shared_ptr<ws_session>> out;
  std::shared_lock lock(sessions_mutex_);
  if (!connection_id.empty()) {
    if (ws_session* found = sessions_->find(connection_id))
      if (auto s = found->weak_from_this().lock()) out.push_back(std::move(s));
    return out;
  }
  sessions_->for_client(client_id, [&](ws_session& session) {
    if (auto s = session.weak_from_this().lock()) out.push_back(std::move(s));
  });
  return out;
}

namespace {
send_status worse(send_status a, send_status b) { return a > b ? a : b; }
}  // namespace

namespace {
/// Which I/O threads have local members among `members`: only those get a batch.
std::bitset<256> threads_of(const member_set& members) {
  std::bitset<256> present;
  for (const auto& m : members)
    if (m.local()) present.set(m.io_index % present.size());
  return present;
}
}  // namespace

bool server::fan_out_batched(const std::string& room_id, std::shared_ptr<const std::string> frame,
                             tx_type type) {
  member_list members = rooms_->members(room_id);
  if (!members) return false;
  fan_out_batched(members, std::move(frame), type);
  return true;
}

void server::fan_out_batched(const member_list& members, std::shared_ptr<const std::string> frame,
                             tx_type type) {
  if (!members || members->empty()) return;
  const auto present = threads_of(*members);
  // One handler per such thread; each delivers to the members living on it, inline.
  for (std::size_t t = 0; t < io_.size(); ++t) {
    if (io_.size() <= present.size() && !present.test(t)) continue;
    post_to(t, [this, t, members, frame, type] { metrics_.sent(type, deliver_on(t, *members, frame, type)); });
  }
}

void server::history_frame(const std::string& room_id, const std::string& epoch, std::uint64_t offset,
                           std::shared_ptr<const std::string> frame) {
  std::shared_ptr<room_history> history = rooms_->history(room_id);
  if (!history) {
    fan_out_batched(room_id, std::move(frame), tx_type::room_message);
    return;
  }
  auto held = history->lock();
  if (!history->append_at(epoch, offset, frame, now_ms())) return;
  if (member_list members = rooms_->members(room_id)) fan_out_in_order(history, members, std::move(frame));
}

void server::history_loaded(const std::string& room_id, std::string epoch, std::uint64_t last,
                            std::vector<room_history::stored> kept) {
  std::shared_ptr<room_history> history = rooms_->history(room_id);
  if (!history) return;
  auto held = history->lock();
  auto missed = history->load(std::move(epoch), last, std::move(kept), now_ms());
  member_list members = rooms_->members(room_id);
  if (!members) return;
  for (auto& frame : missed) fan_out_in_order(history, members, std::move(frame));
}

std::size_t server::deliver_on(std::size_t thread, const member_set& members,
                               const std::shared_ptr<const std::string>& frame, tx_type type) {
  std::size_t sent = 0;
  for (const auto& m : members) {
    if (m.io_index != thread) continue;
    if (auto sink = m.sink.lock())
      if (static_cast<ws_session*>(sink.get())->send_local(frame, type)) ++sent;
  }
  return sent;
}

void server::fan_out_in_order(const std::shared_ptr<room_history>& history, const member_list& members,
                              std::shared_ptr<const std::string> frame) {
  const auto present = threads_of(*members);
  for (std::size_t t = 0; t < io_.size(); ++t) {
    if (io_.size() <= present.size() && !present.test(t)) continue;
    // On that thread with nothing of the room queued for it: nothing earlier can still
    // arrive there, and what comes later queues behind this (the lock is held).
    if (history->lane_empty(t) && io_[t]->ioc.get_executor().running_in_this_thread()) {
      metrics_.sent(tx_type::room_message, deliver_on(t, *members, frame));
      continue;
    }
    if (!history->push_delivery(t, {members, frame})) continue;  // a drain is on its way
    net::post(io_[t]->ioc, [this, t, history] {
      std::size_t sent = 0;
      for (const auto& d : history->take_deliveries(t)) sent += deliver_on(t, *d.members, d.frame);
      metrics_.sent(tx_type::room_message, sent);
    });
  }
}

bool server::send_room_frame(const std::string& room_id, std::shared_ptr<const std::string> frame) {
  const bool known = fan_out_batched(room_id, frame, tx_type::room_message);
  publish_room(room_id, frame);
  return known;
}

void server::publish_room(const std::string& room_id, const std::shared_ptr<const std::string>& frame) {
  if (!cluster_) return;
  post_to(0, [bus = cluster_, room_id, frame] { bus->publish_room(room_id, frame); });
}

bool server::cluster_live() const { return cluster_ && cluster_->live(); }

void server::cluster_joined(const std::string& room_id, const member_info& m) {
  if (!cluster_) return;
  post_to(0, [bus = cluster_, room_id, m] { bus->joined(room_id, m); });
}

bool server::cluster_reserve(const std::string& room_id, const member_info& m, std::size_t max,
                             std::function<void(bool)> done) {
  if (!cluster_live()) return false;
  post_to(0, [bus = cluster_, room_id, m, max, done = std::move(done)]() mutable {
    // The cluster went in between: decided here alone, like the caller would have.
    if (!bus->reserve(room_id, m, max, done)) done(true);
  });
  return true;
}

void server::cluster_left(const std::string& room_id, const std::string& connection_id) {
  if (!cluster_) return;
  post_to(0, [bus = cluster_, room_id, connection_id] { bus->left(room_id, connection_id); });
}

void server::cluster_room_created(const std::string& room_id) {
  if (!cluster_) return;
  post_to(0, [bus = cluster_, room_id] { bus->room_created(room_id); });
}

bool server::publish_direct(bool by_connection, const std::string& target, std::shared_ptr<const std::string> frame,
                            std::function<void(long long)> done) {
  if (!cluster_) return false;
  post_to(0, [bus = cluster_, by_connection, target, frame = std::move(frame), done = std::move(done)] {
    bus->publish_direct(by_connection, target, frame, done);
  });
  return true;
}

bool server::cluster_ready() {
  if (!cluster_ || !running_) return false;
  std::promise<bool> ready;
  auto answer = ready.get_future();
  net::post(io_.front()->ioc, [&ready, bus = cluster_] { ready.set_value(bus->live()); });
  return answer.wait_for(std::chrono::seconds(5)) == std::future_status::ready && answer.get();
}

member_list server::publish_room_message(const std::string& room_id, const std::string& message,
                                         const std::string& from_client_id, const before_send& before) {
  std::shared_ptr<room_history> history = rooms_->history(room_id);
  if (!history) {
    member_list members = rooms_->members(room_id);
    if (!members) return nullptr;
    auto frame = std::make_shared<const std::string>(
        protocol::room_message(room_id, message, from_client_id, timestamp_now()));
    if (before) before(*members, frame->size());
    fan_out_batched(members, frame, tx_type::room_message);
    publish_room(room_id, frame);
    return members;
  }
  if (cluster_) {
    // Redis numbers the message and every server delivers it from there; without Redis it
    // goes to the members here alone, without an offset (it cannot be recovered).
    member_list members = rooms_->members(room_id);
    if (!members) return nullptr;
    std::string head = protocol::room_message(room_id, message, from_client_id, timestamp_now());
    if (before) before(*members, head.size());
    if (cluster_live()) {
      head.pop_back();  // the closing brace: the script adds offset and epoch
      post_to(0, [bus = cluster_, room_id, head = std::move(head), size = history->options().size]() mutable {
        bus->publish_history(room_id, std::move(head), size);
      });
    } else {
      fan_out_batched(members, std::make_shared<const std::string>(std::move(head)), tx_type::room_message);
    }
    return members;
  }
  // Offset, record and hand-off under the history's lock: a joining member's replay is
  // posted before or after this message, never around it.
  auto held = history->lock();
  member_list members = rooms_->members(room_id);
  if (!members) return nullptr;
  auto frame = std::make_shared<const std::string>(protocol::room_message(
      room_id, message, from_client_id, timestamp_now(), history->next_offset(), history->epoch()));
  if (before) before(*members, frame->size());
  history->append(frame, now_ms());
  fan_out_in_order(history, members, frame);
  publish_room(room_id, frame);
  return members;
}

std::optional<send_status> server::send_room_message(const std::string& room_id,
                                                     const std::string& message) {
  // The status the recipients' queues give just before the frame is handed to their
  // threads (where the same batched path as a client's room message queues it).
  const std::size_t limit = options_.max_backpressure;
  send_status status = send_status::ok;
  auto rate = [&](const member_set& members, std::size_t size) {
    for (const auto& m : members) {
      auto sink = m.sink.lock();
      if (!sink) continue;
      const std::size_t queued = static_cast<ws_session*>(sink.get())->buffered_amount();
      status = worse(status, queued >= limit ? send_status::dropped
                             : queued + size > limit ? send_status::backpressure
                                                     : send_status::ok);
    }
  };
  if (!publish_room_message(room_id, message, {}, rate)) return std::nullopt;
  return status;
}

std::optional<send_status> server::send_direct_message(const std::string& target,
                                                       const std::string& message) {
  auto targets = find_targets({}, target);
  const bool by_connection = !targets.empty();
  if (targets.empty()) targets = find_targets(target, {});
  auto frame = std::make_shared<const std::string>(protocol::direct_message(message, {}, timestamp_now()));
  // In a cluster a client id may have connections on other servers too, and an id unknown
  // here may be a connection or a client there; the other servers deliver to theirs.
  if (cluster_live() && !by_connection) {
    publish_direct(false, target, frame, nullptr);
    if (targets.empty()) publish_direct(true, target, frame, nullptr);
    if (targets.empty()) return send_status::ok;
  }
  if (targets.empty()) return std::nullopt;
  send_status status = send_status::ok;
  for (const auto& t : targets) status = worse(status, t->send(frame, false, tx_type::direct_message));
  return status;
}

void server::join_room(const std::string& connection_id, const std::string& room_id,
                       std::function<void(join_result, std::string)> done) {
  auto s = find(connection_id);
  if (!s) return done(join_result::unknown_connection, "Connection not found");
  s->join_from_app(room_id, std::move(done));
}

join_result server::check_join(const std::string& connection_id, const std::string& room_id) const {
  auto s = find(connection_id);
  return s ? s->check_join(room_id) : join_result::unknown_connection;
}

join_result server::join_room_now(const std::string& connection_id, const std::string& room_id) {
  auto s = find(connection_id);
  if (!s) return join_result::unknown_connection;
  return s->join_now(room_id);
}

boost::json::object server::client_info(const ws_session& s) const { return s.info(); }

bool server::leave_room(const std::string& connection_id, const std::string& room_id) {
  // A member of another server is that server's to remove.
  if (cluster_ && !find(connection_id)) return false;
  member_list remaining;
  auto removed = rooms_->leave(room_id, connection_id, &remaining);
  if (!removed) return false;
  if (removed->local()) cluster_left(room_id, connection_id);
  if (auto s = find(connection_id)) s->notify_left(room_id);
  fan_out_batched(remaining,
                  std::make_shared<const std::string>(protocol::presence("leave", room_id, *removed, timestamp_now())),
                  tx_type::presence);
  return true;
}

bool server::delete_room(const std::string& room_id, bool publish) {
  std::vector<member_info> evicted;
  const bool known = rooms_->remove(room_id, &evicted);
  if (publish && cluster_) post_to(0, [bus = cluster_, room_id] { bus->room_deleted(room_id); });
  if (!known) return false;
  for (const auto& m : evicted)
    if (auto s = find(m.connection_id)) s->notify_left(room_id);
  return true;
}

bool server::close_connection(const std::string& connection_id, int code, const std::string& reason) {
  auto s = find(connection_id);
  if (!s) return false;
  s->close_in_order(code, reason);
  return true;
}

void server::enable_room_api(const std::string& prefix) {
  std::unique_lock lock(routes_mutex_);
  room_api_prefix_ = prefix;
}

void server::enable_metrics() { metrics_enabled_.store(true); }

std::string server::room_api_prefix() const {
  std::shared_lock lock(routes_mutex_);
  return room_api_prefix_;
}

std::string server::metrics_text() const {
  return metrics_.prometheus(connection_count(), rooms_->room_count(), rooms_->membership_count());
}

void server::track(closeable* c) {
  std::lock_guard<std::mutex> lock(tracked_mutex_);
  c->tracked_prev_ = nullptr;
  c->tracked_next_ = tracked_;
  if (tracked_) tracked_->tracked_prev_ = c;
  tracked_ = c;
}

void server::untrack(closeable* c) {
  std::lock_guard<std::mutex> lock(tracked_mutex_);
  if (c->tracked_prev_ == nullptr && tracked_ != c) return;  // never tracked
  (c->tracked_prev_ ? c->tracked_prev_->tracked_next_ : tracked_) = c->tracked_next_;
  if (c->tracked_next_) c->tracked_next_->tracked_prev_ = c->tracked_prev_;
  c->tracked_prev_ = c->tracked_next_ = nullptr;
  if (!tracked_) tracked_empty_.notify_all();
}

}  // namespace roomwire
