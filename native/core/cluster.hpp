// The cluster bus: room messages published on one server reach the room's members on every
// server of the cluster, through Redis publish/subscribe. It lives on the server's first I/O
// thread, with one Redis connection for publishing and one subscribed; no message it
// carries enters JavaScript.
#pragma once

#include <memory>
#include <string>

#include "net.hpp"
#include "options.hpp"
#include "redis_client.hpp"

namespace roomwire {

class server;

class cluster_bus : public std::enable_shared_from_this<cluster_bus> {
 public:
  cluster_bus(server& srv, net::io_context& ioc, cluster_options opts);
  /// Connects both connections and subscribes; on the bus's thread.
  void start();
  /// Disconnects for good; on the bus's thread.
  void stop();
  /// Whether messages published now reach the other servers: both connections are up and
  /// the subscription is active. On the bus's thread.
  bool ready() const { return subscribed_ && pub_->connected(); }
  /// Publishes a room frame to the other servers; on the bus's thread (server::publish_room
  /// posts it there, in order with the publisher's other frames).
  void publish_room(const std::string& room_id, const std::shared_ptr<const std::string>& frame);

 private:
  void subscribe();
  void on_message(const std::string& channel, const std::string& payload);

  server& server_;
  cluster_options opts_;
  std::string room_channel_;  // "<prefix>:room:", followed by the room id
  std::shared_ptr<redis_connection> pub_;
  std::shared_ptr<redis_connection> sub_;
  bool subscribed_ = false;
};

}  // namespace roomwire
