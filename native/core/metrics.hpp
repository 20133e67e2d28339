// Counters and a histogram, updated lock-free from any thread, rendered as Prometheus text.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace roomwire {

/// Client frame types counted on receipt.
enum class rx_type : std::uint8_t {
  join_room, leave_room, room_message, direct_message, ping, pong, presence_list, other,
  invalid, binary, count_
};
/// Frame types counted when queued for sending.
enum class tx_type : std::uint8_t {
  welcome, message_ack, message_blocked, error, ping, pong, room_joined, room_left,
  room_message, direct_message, presence, presence_state, raw, count_
};
/// `error_type`s told to clients or seen on connections.
enum class err_type : std::uint8_t {
  invalid_format, room_join_error, room_leave_error, not_in_room, client_not_found,
  room_not_found, message_too_big, invalid_utf8, protocol_error, rate_limited, count_
};
/// The `error_type` string for `t`, as clients and the metrics see it.
const char* err_type_name(err_type t);
/// Why a message was not delivered.
enum class drop_reason : std::uint8_t { backpressure, cancelled, no_handler, rate_limited, closing, count_ };

/// An enum's value as an array index.
template <class E>
constexpr std::size_t idx(E e) {
  return static_cast<std::size_t>(e);
}

/// The server's metrics.
class metrics {
 public:
  void received(rx_type t, std::size_t n = 1) { add(rx_[idx(t)], n); }
  void sent(tx_type t, std::size_t n = 1) { add(tx_[idx(t)], n); }
  void error(err_type t) { add(err_[idx(t)], 1); }
  void dropped(drop_reason r, std::size_t n = 1) { add(drop_[idx(r)], n); }
  void bytes_in(std::size_t n) { add(bytes_in_, n); }
  void bytes_out(std::size_t n) { add(bytes_out_, n); }
  void connection_opened() { add(connections_total_, 1); }
  /// The cluster series appear once a server of a cluster starts.
  void cluster_enabled() { cluster_enabled_.store(true, std::memory_order_relaxed); }
  /// Whether the cluster bus is connected to Redis and has loaded the cluster's state.
  void cluster_connected(bool up) { cluster_connected_.store(up, std::memory_order_relaxed); }
  /// A publish to the other servers that could not be sent (Redis unreachable).
  void cluster_publish_failed() { add(cluster_publish_failed_, 1); }
  std::uint64_t cluster_publish_failures() const { return cluster_publish_failed_.load(std::memory_order_relaxed); }
  /// Records how long a callback took to answer, in seconds.
  void callback_latency(double seconds);

  std::uint64_t messages_received() const;
  std::uint64_t received_count(rx_type t) const { return rx_[idx(t)].load(std::memory_order_relaxed); }

  /// Renders every series in the Prometheus text exposition format (version 0.0.4).
  std::string prometheus(std::size_t connections_active, std::size_t rooms,
                         std::size_t room_members) const;

 private:
  static void add(std::atomic<std::uint64_t>& c, std::size_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }

  static constexpr std::array<double, 11> bounds_{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                  0.01, 0.05, 0.1, 1.0, 5.0};
  std::array<std::atomic<std::uint64_t>, idx(rx_type::count_)> rx_{};
  std::array<std::atomic<std::uint64_t>, idx(tx_type::count_)> tx_{};
  std::array<std::atomic<std::uint64_t>, idx(err_type::count_)> err_{};
  std::array<std::atomic<std::uint64_t>, idx(drop_reason::count_)> drop_{};
  std::array<std::atomic<std::uint64_t>, bounds_.size() + 1> buckets_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
  std::atomic<std::uint64_t> bytes_in_{0}, bytes_out_{0}, connections_total_{0};
  std::atomic<std::uint64_t> cluster_publish_failed_{0};
  std::atomic<bool> cluster_enabled_{false}, cluster_connected_{false};
};

}  // namespace roomwire
