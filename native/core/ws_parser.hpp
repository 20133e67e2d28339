// The server side of RFC 6455 framing for bytes read from a client: headers checked,
// payloads unmasked, fragmented messages joined, control frames surfaced as they come.
// Fed whatever a read returned, it keeps only the state of the frame it is in the middle
// of (a partial header fits inline), so a connection between messages holds no buffer.
// Why not Beast's websocket::stream: each one holds ~2.5 KB (a 1,536-byte read buffer
// among it) plus a ~500-byte pending read operation, which kept an idle connection at
// 4.8 KB; with this parser and reads into the I/O thread's buffer it is about 1.1 KB
// (bench/RESULTS.md). Beast still parses HTTP and supplies the handshake's SHA-1/base64,
// the UTF-8 check and the close-code table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include "deflate.hpp"

namespace roomwire {

/// What ws_parser::parse stopped at.
enum class ws_read : std::uint8_t {
  need_more,  ///< every byte given was consumed; the frame continues in the next read
  text,       ///< a whole text message (valid UTF-8): take_message()
  binary,     ///< a whole binary message: take_message()
  ping,       ///< a ping: control() holds its payload
  pong,       ///< a pong: control() holds its payload
  close,      ///< a valid close frame: close_code() (1005 when it had none), close_reason()
  fail,       ///< the client broke the protocol: fail_code(), fail_reason(); stop reading
};

/// Incremental parser of client-to-server WebSocket frames, with permessage-deflate once
/// enabled.
class ws_parser {
 public:
  /// `max_message`: the largest message accepted, joined fragments included (1009 past it).
  explicit ws_parser(std::size_t max_message) : max_message_(max_message) {}

  /// Accepts messages compressed with permessage-deflate (RSV1 on their first frame).
  /// `context_takeover`: the client keeps its window between messages, so the connection
  /// keeps an inflater of its own (made at its first compressed message); otherwise the
  /// thread's inflater serves. `max_message` bounds the inflated size: inflating stops
  /// there and the connection fails with 1009.
  void enable_deflate(bool context_takeover) {
    deflate_ = true;
    context_takeover_ = context_takeover;
  }

  /// Consumes bytes from [p, end) up to and including the next complete message or control
  /// frame, advancing `p`; `need_more` once all are consumed. After `close` or `fail` the
  /// parser is done and the rest of the input means nothing.
  ws_read parse(const char*& p, const char* end);

  /// The message that `text` or `binary` reported; the parser keeps nothing of it.
  std::string take_message() { return std::exchange(message_, std::string()); }
  /// The payload of the ping or pong just reported.
  std::string_view control() const { return control_; }
  int close_code() const { return close_code_; }
  std::string_view close_reason() const {
    return control_.size() > 2 ? std::string_view(control_).substr(2) : std::string_view();
  }
  /// The close code to fail the connection with: 1002, 1007 or 1009.
  int fail_code() const { return fail_code_; }
  /// Why, in words (sent as the close reason and reported to onError).
  const char* fail_reason() const { return fail_reason_; }
  /// Gives back the memory of the last control frame's payload (up to 125 bytes) unless a
  /// control frame is half read: a connection between messages keeps no buffer.
  void release_control() {
    if (control_.capacity() > 15 && (!in_frame_ || opcode_ < 8)) std::string().swap(control_);
  }
  /// Whether the parser is between messages (no fragment or partial frame pending).
  bool idle() const { return !in_message_ && !in_frame_ && head_len_ == 0; }

 private:
  ws_read fail(int code, const char* reason);
  /// Header bytes needed so far for the frame whose first `head_len_` bytes are in head_.
  std::size_t header_size() const;
  ws_read start_frame();
  ws_read end_frame();
  /// Inflates the compressed message in message_ and checks it.
  ws_read end_compressed();

  boost::beast::websocket::detail::utf8_checker utf8_;  // of the text message being joined
  std::string message_;         // the data message being joined
  std::string control_;         // the control frame being read (at most 125 bytes)
  std::uint64_t remaining_ = 0; // payload bytes of the current frame not read yet
  const std::size_t max_message_;
  unsigned char head_[14];
  unsigned char key_[4];
  std::uint8_t head_len_ = 0;
  std::uint8_t key_at_ = 0;     // where in the masking key the next payload byte falls
  std::uint8_t opcode_ = 0;     // of the current frame
  bool fin_ = false;
  bool in_frame_ = false;       // header read, payload pending
  bool in_message_ = false;     // a data message has started and not finished
  bool binary_ = false;         // of the message being joined
  bool compressed_ = false;     // the message being joined is compressed (RSV1)
  bool deflate_ = false;        // permessage-deflate negotiated
  bool context_takeover_ = false;
  std::unique_ptr<inflater> inflater_;  // with context takeover only
  std::uint16_t close_code_ = 0;
  std::uint16_t fail_code_ = 0;
  const char* fail_reason_ = "";
};

/// XORs `n` bytes from `src` into `dst` with the 4-byte masking `key`, starting at key byte
/// `at` (0-3); returns where the next byte falls. `dst` may equal `src`.
std::uint8_t unmask(char* dst, const char* src, std::size_t n, const unsigned char (&key)[4],
                    std::uint8_t at);

/// Whether a peer may send `code` in a close frame (RFC 6455 §7.4): 1000-1003, 1007-1014,
/// 3000-4999.
bool valid_close_code(std::uint16_t code);

/// Whether [p, p + n) is valid UTF-8.
bool valid_utf8(const char* p, std::size_t n);

/// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
std::string websocket_accept_key(std::string_view key);
/// Whether `key` is a valid Sec-WebSocket-Key: base64 of 16 bytes.
bool valid_websocket_key(std::string_view key);

}  // namespace roomwire
