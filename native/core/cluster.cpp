#include "cluster.hpp"

#include "log.hpp"
#include "server.hpp"

namespace roomwire {

namespace {
redis_connection::options redis_at(const cluster_options& o) {
  redis_connection::options r;
  r.host = o.host;
  r.port = o.port;
  return r;
}
}  // namespace

cluster_bus::cluster_bus(server& srv, net::io_context& ioc, cluster_options opts)
    : server_(srv),
      opts_(std::move(opts)),
      room_channel_(opts_.prefix + ":room:"),
      pub_(std::make_shared<redis_connection>(ioc, redis_at(opts_))),
      sub_(std::make_shared<redis_connection>(ioc, redis_at(opts_))) {}

void cluster_bus::start() {
  // Every (re)connection subscribes again: Redis forgets a connection's subscriptions.
  sub_->on_connected([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->subscribe();
  });
  sub_->on_disconnected([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->subscribed_ = false;
  });
  pub_->start();
  sub_->start();
}

void cluster_bus::stop() {
  subscribed_ = false;
  pub_->stop();
  sub_->stop();
}

void cluster_bus::subscribe() {
  // One pattern for every room: a server hears each room message of the cluster once and
  // delivers it to whichever members it holds.
  sub_->command({"PSUBSCRIBE", room_channel_ + "*"}, [weak = weak_from_this()](redis_reply_view r) {
    auto self = weak.lock();
    if (!self || !r || !r.is_array() || r.size() < 3) return;
    const std::string kind = r.at(0).text();
    if (kind == "psubscribe") {
      self->subscribed_ = true;
    } else if (kind == "pmessage" && r.size() == 4) {
      self->on_message(r.at(2).text(), r.at(3).text());
    }
  }, true);
}

void cluster_bus::publish_room(const std::string& room_id, const std::shared_ptr<const std::string>& frame) {
  // The payload names its server, so that server skips its own message (it delivered it
  // locally already): "<node id>\n<frame>".
  std::string payload;
  payload.reserve(opts_.node_id.size() + 1 + frame->size());
  payload.append(opts_.node_id).append(1, '\n').append(*frame);
  if (!pub_->command({"PUBLISH", room_channel_ + room_id, payload}))
    log(log_level::debug, "cluster: Redis is down; a message for room " + room_id + " stayed on this server");
}

void cluster_bus::on_message(const std::string& channel, const std::string& payload) {
  if (channel.compare(0, room_channel_.size(), room_channel_) != 0) return;
  const auto newline = payload.find('\n');
  if (newline == std::string::npos) return;
  if (std::string_view(payload.data(), newline) == opts_.node_id) return;  // ours
  std::string room_id = channel.substr(room_channel_.size());
  server_.fan_out_batched(room_id, std::make_shared<const std::string>(payload.substr(newline + 1)),
                          tx_type::room_message);
}

}  // namespace roomwire
