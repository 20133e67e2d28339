#include "server.hpp"

#include <stdexcept>

#include "listener.hpp"
#include "log.hpp"
#include "ws_session.hpp"

namespace roomwire {

server::server(server_options options, std::shared_ptr<event_sink> sink)
    : options_(std::move(options)), sink_(std::move(sink)), ioc_(), heartbeat_(ioc_) {
  if (options_.threads == 0) options_.threads = std::max(1u, std::thread::hardware_concurrency());
}

server::~server() { stop(std::chrono::milliseconds(0)); }

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
  auto l = std::make_shared<listener>(*this, ioc_);
  unsigned short bound = l->open(tcp::endpoint(address, port), ec);
  if (ec) return 0;
  listener_ = std::move(l);
  work_.emplace(ioc_.get_executor());
  listener_->run();
  start_heartbeat();
  threads_.reserve(options_.threads);
  for (unsigned i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] {
      // No exception may escape a thread: log it and keep serving.
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          log(log_level::error, std::string("uncaught exception on an I/O thread: ") + e.what());
        }
      }
    });
  }
  return bound;
}

void server::start_heartbeat() {
  if (options_.heartbeat_interval.count() <= 0) return;
  heartbeat_.expires_after(options_.heartbeat_interval);
  heartbeat_.async_wait([this](error_code ec) { on_heartbeat(ec); });
}

void server::on_heartbeat(error_code ec) {
  if (ec || stopping()) return;
  std::vector<std::shared_ptr<ws_session>> live;
  {
    std::shared_lock lock(sessions_mutex_);
    live.reserve(sessions_.size());
    for (const auto& [id, weak] : sessions_)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (const auto& s : live) s->heartbeat();
  start_heartbeat();
}

void server::stop(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> guard(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (threads_.empty()) return;

  listener_->close();
  net::post(ioc_, [this] { heartbeat_.cancel(); });
  std::vector<std::shared_ptr<closeable>> open;
  {
    std::lock_guard<std::mutex> lock(tracked_mutex_);
    for (const auto& [ptr, weak] : tracked_)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  for (const auto& c : open) c->shutdown();
  open.clear();

  // Give sessions until the deadline to flush and close, then cut the rest off.
  bool drained;
  {
    std::unique_lock<std::mutex> lock(tracked_mutex_);
    drained = tracked_empty_.wait_for(lock, timeout, [this] { return tracked_.empty(); });
  }
  work_.reset();
  if (!drained) ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();

  std::unordered_map<std::uint64_t, std::function<void(verdict&&)>> orphaned;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    orphaned.swap(pending_);
  }
}

std::uint64_t server::await_verdict(std::function<void(verdict&&)> resume) {
  std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(pending_mutex_);
  pending_.emplace(id, std::move(resume));
  return id;
}

void server::complete(std::uint64_t id, verdict&& v) {
  std::function<void(verdict&&)> resume;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    resume = std::move(it->second);
    pending_.erase(it);
  }
  resume(std::move(v));
}

std::optional<send_status> server::send(const std::string& connection_id,
                                        std::shared_ptr<const std::string> data, bool binary) {
  std::shared_ptr<ws_session> s;
  {
    std::shared_lock lock(sessions_mutex_);
    auto it = sessions_.find(connection_id);
    if (it != sessions_.end()) s = it->second.lock();
  }
  if (!s) return std::nullopt;
  return s->send(std::move(data), binary);
}

std::size_t server::broadcast(const std::string& path, std::shared_ptr<const std::string> data,
                              bool binary) {
  std::vector<std::shared_ptr<ws_session>> targets;
  {
    std::shared_lock lock(sessions_mutex_);
    for (const auto& [id, weak] : sessions_) {
      auto s = weak.lock();
      if (s && (s->route().options.pattern == path || s->path() == path))
        targets.push_back(std::move(s));
    }
  }
  for (const auto& s : targets) s->send(data, binary);
  return targets.size();
}

std::size_t server::connection_count() const {
  std::shared_lock lock(sessions_mutex_);
  return sessions_.size();
}

void server::add_session(const std::string& connection_id, const std::shared_ptr<ws_session>& s) {
  std::unique_lock lock(sessions_mutex_);
  sessions_[connection_id] = s;
}

void server::remove_session(const std::string& connection_id) {
  std::unique_lock lock(sessions_mutex_);
  sessions_.erase(connection_id);
}

void server::track(closeable* c, std::weak_ptr<closeable> w) {
  std::lock_guard<std::mutex> lock(tracked_mutex_);
  tracked_.emplace(c, std::move(w));
}

void server::untrack(closeable* c) {
  std::lock_guard<std::mutex> lock(tracked_mutex_);
  tracked_.erase(c);
  if (tracked_.empty()) tracked_empty_.notify_all();
}

}  // namespace roomwire
