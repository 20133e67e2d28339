// The hooks protocol: the route's compiled program (hooks/hooks.hpp) runs on the
// connection's own thread for on_connect, each text message (on_message) and the close
// (on_disconnect). Nothing is added to the frames: what the client reads is what the
// program sends. Channels are rooms (joined without callbacks, auto-created, gone when
// empty); a channel broadcast reaches every member, on every server of a cluster, the
// sender included. No JavaScript runs for a hooks route.
#include <optional>

#include "../hooks/hooks.hpp"
#include "../log.hpp"
#include "ws_protocol.hpp"
#include "ws_session.hpp"

namespace roomwire {

namespace {

const std::string* find_pair(const string_pairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace

class hooks_protocol : public ws_protocol, private hooks::host {
 public:
  explicit hooks_protocol(ws_session& s) : s_(s), machine_(s.route().options.hooks, *this) {}

  void set_request(string_pairs params, string_pairs query) override {
    params_ = std::move(params);
    query_ = std::move(query);
  }

  void on_open() override { machine_.run(hooks::hook::on_connect); }

  void on_text(std::string text) override {
    s_.srv().stats().received(rx_type::other);
    machine_.run(hooks::hook::on_message, std::move(text));
  }

  void on_close(int code, const std::string& reason) override {
    machine_.run(hooks::hook::on_disconnect, {}, code, reason);
  }

  bool wants_presence() const override { return false; }
  std::string joined_frame(const std::string&, const protocol::joined_history&) const override { return {}; }
  std::string left_frame(const std::string&) const override { return {}; }

 private:
  // hooks::host
  std::string_view connection_id() const override { return s_.connection_id(); }
  std::string_view client_id() const override { return s_.client_id(); }
  std::string_view path() const override { return s_.path(); }
  const std::string* param(std::string_view name) const override { return find_pair(params_, name); }
  const std::string* query(std::string_view name) const override { return find_pair(query_, name); }

  void send(std::string text) override {
    if (!s_.finished()) s_.write_text(std::move(text), tx_type::raw);
  }

  void broadcast(const std::string* channel, std::string text) override {
    auto frame = std::make_shared<const std::string>(std::move(text));
    if (channel) s_.srv().send_room_frame(*channel, std::move(frame));
    else s_.srv().broadcast(s_.route().options.pattern, std::move(frame), false, false);
  }

  void join(const std::string& channel, std::function<void(std::string)> done) override {
    if (s_.finished()) return done("the connection has closed");
    s_.join(channel, "null", std::nullopt, [done = std::move(done)](join_result result, std::string error) {
      // Joining a channel it is in already is no error for a program.
      done(result == join_result::ok || result == join_result::already_member ? std::string() : std::move(error));
    });
  }

  std::string leave(const std::string& channel) override {
    return s_.srv().leave_room(s_.connection_id(), channel) ? std::string() : "not a member";
  }

  void log(log_level level, std::string text) override { roomwire::log(level, text); }

  ws_session& s_;
  string_pairs params_, query_;  // the upgrade's
  hooks::machine machine_;
};

std::unique_ptr<ws_protocol> make_hooks_protocol(ws_session& session) {
  return std::make_unique<hooks_protocol>(session);
}

}  // namespace roomwire
