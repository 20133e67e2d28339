#include "metrics.hpp"

#include <cstdio>
#include <iterator>

namespace roomwire {
namespace {

const char* rx_names[] = {"join_room", "leave_room", "room_message", "direct_message", "ping",
                          "pong", "presence_list", "other", "invalid", "binary"};
const char* tx_names[] = {"welcome", "message_ack", "message_blocked", "error", "ping", "pong",
                          "room_joined", "room_left", "room_message", "direct_message", "presence",
                          "presence_state", "raw"};
const char* err_names[] = {"invalid_format", "room_join_error", "room_leave_error", "not_in_room",
                           "client_not_found", "room_not_found", "message_too_big", "invalid_utf8",
                           "protocol_error", "rate_limited"};
const char* drop_names[] = {"backpressure", "cancelled", "no_handler", "rate_limited", "closing"};

// Each name table has one name per enumerator: adding to an enum without its name fails here.
static_assert(std::size(rx_names) == idx(rx_type::count_), "rx_names out of step with rx_type");
static_assert(std::size(tx_names) == idx(tx_type::count_), "tx_names out of step with tx_type");
static_assert(std::size(err_names) == idx(err_type::count_), "err_names out of step with err_type");
static_assert(std::size(drop_names) == idx(drop_reason::count_), "drop_names out of step with drop_reason");

}  // namespace

const char* err_type_name(err_type t) { return err_names[idx(t)]; }

namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const char* label, const char* value_label,
            std::uint64_t v) {
  out += name;
  if (label) {
    out += '{';
    out += label;
    out += "=\"";
    out += value_label;
    out += "\"}";
  }
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

template <std::size_t N>
void labelled(std::string& out, const char* name, const char* type, const char* help,
              const char* label, const char* const* names,
              const std::array<std::atomic<std::uint64_t>, N>& values) {
  header(out, name, type, help);
  for (std::size_t i = 0; i < N; ++i)
    sample(out, name, label, names[i], values[i].load(std::memory_order_relaxed));
}

}  // namespace

void metrics::callback_latency(double seconds) {
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  add(buckets_[i], 1);
  add(latency_sum_us_, static_cast<std::size_t>(seconds * 1e6));
}

std::uint64_t metrics::messages_received() const {
  std::uint64_t total = 0;
  for (const auto& c : rx_) total += c.load(std::memory_order_relaxed);
  return total;
}

std::string metrics::prometheus(std::size_t connections_active, std::size_t rooms,
                                std::size_t room_members) const {
  std::string out;
  out.reserve(4096);
  header(out, "roomwire_connections_active", "gauge", "Open WebSocket connections.");
  sample(out, "roomwire_connections_active", nullptr, nullptr, connections_active);
  header(out, "roomwire_connections_total", "counter", "WebSocket connections accepted.");
  sample(out, "roomwire_connections_total", nullptr, nullptr, connections_total_.load());
  labelled(out, "roomwire_messages_received_total", "counter", "Client frames received, by type.",
           "type", rx_names, rx_);
  labelled(out, "roomwire_messages_sent_total", "counter", "Frames queued to clients, by type.",
           "type", tx_names, tx_);
  header(out, "roomwire_bytes_received_total", "counter", "WebSocket payload bytes received.");
  sample(out, "roomwire_bytes_received_total", nullptr, nullptr, bytes_in_.load());
  header(out, "roomwire_bytes_sent_total", "counter", "WebSocket payload bytes written.");
  sample(out, "roomwire_bytes_sent_total", nullptr, nullptr, bytes_out_.load());
  header(out, "roomwire_rooms", "gauge", "Rooms that exist.");
  sample(out, "roomwire_rooms", nullptr, nullptr, rooms);
  header(out, "roomwire_room_members", "gauge", "Room memberships (a connection counts once per room).");
  sample(out, "roomwire_room_members", nullptr, nullptr, room_members);
  labelled(out, "roomwire_errors_total", "counter", "Errors, by error_type.", "type", err_names, err_);
  labelled(out, "roomwire_dropped_messages_total", "counter", "Messages not delivered, by reason.",
           "reason", drop_names, drop_);
  if (cluster_enabled_.load(std::memory_order_relaxed)) {
    header(out, "roomwire_cluster_connected", "gauge", "1 while the cluster bus is connected to Redis and in step.");
    sample(out, "roomwire_cluster_connected", nullptr, nullptr, cluster_connected_.load() ? 1 : 0);
    header(out, "roomwire_cluster_publish_failed_total", "counter",
           "Messages for the other servers that could not be published (they reached this server's members only).");
    sample(out, "roomwire_cluster_publish_failed_total", nullptr, nullptr, cluster_publish_failed_.load());
  }

  const char* h = "roomwire_callback_duration_seconds";
  header(out, h, "histogram", "Time from an event to its JavaScript callback's verdict.");
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size())
      std::snprintf(le, sizeof le, "%g", bounds_[i]);
    else
      std::snprintf(le, sizeof le, "+Inf");
    out += h;
    out += "_bucket{le=\"";
    out += le;
    out += "\"} ";
    out += std::to_string(cumulative);
    out += '\n';
  }
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.6f", latency_sum_us_.load() / 1e6);
  out += h;
  out += "_sum ";
  out += sum;
  out += '\n';
  out += h;
  out += "_count ";
  out += std::to_string(cumulative);
  out += '\n';
  return out;
}

}  // namespace roomwire
