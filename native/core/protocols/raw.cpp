// The raw protocol: nothing added to the frames. No welcome, no acks, no JSON and no JSON
// heartbeat (the WebSocket ping still keeps the connection measured and alive); each text
// frame goes to onMessage as it is, and nothing waits for its result, so the connection's
// next frames are not held behind JavaScript. An echo server is `app.send` in onMessage.
#include "ws_protocol.hpp"
#include "ws_session.hpp"

namespace roomwire {

class raw_protocol : public ws_protocol {
 public:
  explicit raw_protocol(ws_session& s) : s_(s) {}

  void on_open() override {}

  void on_text(std::string text) override {
    s_.srv().stats().received(rx_type::other);
    if (!s_.route().has(cb_message)) return s_.srv().stats().dropped(drop_reason::no_handler);
    event ev = s_.make_event(event_kind::message);
    ev.data = std::move(text);
    s_.srv().emit(std::move(ev));  // no verdict asked: the event's id stays 0
  }

 private:
  ws_session& s_;
};

std::unique_ptr<ws_protocol> make_raw_protocol(ws_session& session) {
  return std::make_unique<raw_protocol>(session);
}

}  // namespace roomwire
