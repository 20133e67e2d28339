// permessage-deflate (RFC 7692): the negotiation of its parameters from a client's
// Sec-WebSocket-Extensions offer, and the raw-deflate compressor and decompressor on zlib
// that compress a message's payload (without the 00 00 ff ff tail) and inflate it back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;

namespace roomwire {

/// A route's `compression`: none; `shared` (the server compresses each message alone, so
/// one compression serves every recipient); `dedicated` (a sliding window per connection
/// both ways, for better ratios at a memory cost per connection).
enum class compression_mode : std::uint8_t { off = 0, shared = 1, dedicated = 2 };

/// The parameters agreed for one connection.
struct deflate_params {
  /// The server compresses each message alone (no window carried between messages).
  bool server_no_context_takeover = true;
  /// The client compresses each message alone: its messages are inflated each alone too.
  bool client_no_context_takeover = true;
  /// The window the server's compressor may use (9 to 15).
  int server_max_window_bits = 15;
};

/// Picks the first permessage-deflate offer in `header` (the client's
/// Sec-WebSocket-Extensions values, joined by commas) that `mode` accepts, as RFC 7692 §7.1
/// says: an offer with an unknown parameter, a repeated one or an invalid value is
/// declined, and so is `server_max_window_bits=8` (zlib's raw deflate cannot keep to a
/// 256-byte window). On success fills `out` and `response` (the header value to answer).
bool negotiate_deflate(std::string_view header, compression_mode mode, deflate_params& out,
                       std::string& response);

/// Raw deflate of whole messages.
class deflater {
 public:
  /// `window_bits`: 9 to 15; `context_takeover`: keep the window between messages.
  deflater(int window_bits, bool context_takeover);
  ~deflater();
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;
  /// Compresses `in` into `out` (replacing it) as one message's payload, ending with a
  /// sync flush whose 00 00 ff ff tail is removed (RFC 7692 §7.2.1).
  void compress(std::string_view in, std::string& out);

 private:
  std::unique_ptr<z_stream_s> z_;
  bool context_takeover_;
};

/// What inflating a message came to.
enum class inflate_result : std::uint8_t { ok, too_big, corrupt };

/// Raw inflate of whole messages.
class inflater {
 public:
  /// `context_takeover`: the client keeps its window between messages, so this does too.
  explicit inflater(bool context_takeover);
  ~inflater();
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
  /// Inflates one message's payload into `out` (replacing it). Stops as soon as the
  /// output would pass `limit` bytes (too_big: never more than `limit` + 1 are produced);
  /// corrupt for data that is not deflate. After either, the inflater starts afresh.
  inflate_result inflate(std::string_view in, std::string& out, std::size_t limit);

 private:
  std::unique_ptr<z_stream_s> z_;
  bool context_takeover_;
};

/// This thread's inflater for clients that compress each message alone (reset after each).
inflater& thread_inflater();

}  // namespace roomwire
