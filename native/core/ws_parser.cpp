#include "ws_parser.hpp"

#include <algorithm>
#include <cstring>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/websocket/detail/utf8_checker.hpp>

namespace roomwire {

namespace {
namespace bwd = boost::beast::websocket::detail;

enum : std::uint8_t { op_cont = 0, op_text = 1, op_binary = 2, op_close = 8, op_ping = 9, op_pong = 10 };
}  // namespace

std::uint8_t unmask(char* dst, const char* src, std::size_t n, const unsigned char (&key)[4],
                    std::uint8_t at) {
  // Byte by byte up to a key boundary, then eight bytes at a time with the key doubled.
  while (n != 0 && at != 0) {
    *dst++ = static_cast<char>(*src++ ^ key[at]);
    at = (at + 1) & 3;
    --n;
  }
  if (n == 0) return at;
  unsigned char k8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::uint64_t k;
  std::memcpy(&k, k8, 8);
  for (; n >= 8; n -= 8, src += 8, dst += 8) {
    std::uint64_t w;
    std::memcpy(&w, src, 8);
    w ^= k;
    std::memcpy(dst, &w, 8);
  }
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<char>(src[i] ^ key[i & 3]);
  return static_cast<std::uint8_t>(n & 3);
}

bool valid_utf8(const char* p, std::size_t n) { return bwd::check_utf8(p, n); }

bool valid_close_code(std::uint16_t code) {
  // 1004-1006 and 1015 are reserved (never on the wire), 1016-2999 unassigned, 3000-3999
  // registered, 4000-4999 private use; nothing above 4999 exists.
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

std::string websocket_accept_key(std::string_view key) {
  bwd::sec_ws_accept_type accept;
  bwd::make_sec_ws_accept(accept, boost::beast::string_view(key.data(), key.size()));
  return std::string(accept.data(), accept.size());
}

bool valid_websocket_key(std::string_view key) {
  // 16 bytes are 24 base64 characters, the last two "==".
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  unsigned char out[18];
  auto [written, read] = boost::beast::detail::base64::decode(out, key.data(), key.size());
  return written == 16 && read >= 22;
}

ws_read ws_parser::fail(int code, const char* reason) {
  fail_code_ = static_cast<std::uint16_t>(code);
  fail_reason_ = reason;
  return ws_read::fail;
}

std::size_t ws_parser::header_size() const {
  if (head_len_ < 2) return 2;
  std::size_t n = 2 + ((head_[1] & 0x80) ? 4 : 0);
  switch (head_[1] & 0x7f) {
    case 126: return n + 2;
    case 127: return n + 8;
    default: return n;
  }
}

ws_read ws_parser::parse(const char*& p, const char* end) {
  if (fail_code_ != 0) return ws_read::fail;
  for (;;) {
    if (!in_frame_) {
      // Gather the header: 2 bytes, then as many more as they say.
      for (std::size_t need = header_size(); head_len_ < need; need = header_size()) {
        if (p == end) return ws_read::need_more;
        head_[head_len_++] = static_cast<unsigned char>(*p++);
      }
      if (ws_read r = start_frame(); r != ws_read::need_more) return r;
    }
    // The payload, as much of it as this read holds.
    std::size_t take = static_cast<std::size_t>(
        std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(end - p)));
    if (take != 0) {
      std::string& to = opcode_ >= op_close ? control_ : message_;
      std::size_t at = to.size();
      to.resize(at + take);
      key_at_ = unmask(to.data() + at, p, take, key_, key_at_);
      p += take;
      remaining_ -= take;
      // Text is checked as it arrives: invalid UTF-8 fails the connection when its first
      // bad byte is read, not when the message ends.
      if (opcode_ < op_close && !binary_ && !compressed_ &&
          !utf8_.write(reinterpret_cast<const std::uint8_t*>(to.data() + at), take))
        return fail(1007, "invalid UTF-8 in a text message");
    }
    if (remaining_ != 0) return ws_read::need_more;
    if (ws_read r = end_frame(); r != ws_read::need_more) return r;
  }
}

ws_read ws_parser::start_frame() {
  const unsigned char b0 = head_[0], b1 = head_[1];
  fin_ = (b0 & 0x80) != 0;
  opcode_ = b0 & 0x0f;
  const bool rsv1 = (b0 & 0x40) != 0;
  if ((b0 & 0x30) || (rsv1 && !deflate_)) return fail(1002, "reserved bits set");
  if (rsv1 && opcode_ != op_text && opcode_ != op_binary)
    return fail(1002, "RSV1 set on a control or continuation frame");
  if (!(b1 & 0x80)) return fail(1002, "unmasked frame from a client");
  std::uint64_t len = b1 & 0x7f;
  std::size_t at = 2;
  if (len == 126) {
    len = (std::uint64_t{head_[2]} << 8) | head_[3];
    at = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | head_[2 + i];
    at = 10;
    if (len >> 63) return fail(1002, "frame length out of range");
  }
  std::memcpy(key_, head_ + at, 4);
  key_at_ = 0;
  head_len_ = 0;
  switch (opcode_) {
    case op_close:
    case op_ping:
    case op_pong:
      if (!fin_) return fail(1002, "fragmented control frame");
      if (len > 125) return fail(1002, "control frame over 125 bytes");
      control_.clear();
      break;
    case op_cont:
      if (!in_message_) return fail(1002, "continuation without a message");
      if (len > max_message_ - message_.size()) return fail(1009, "message too big");
      break;
    case op_text:
    case op_binary:
      if (in_message_) return fail(1002, "new message inside a fragmented one");
      if (len > max_message_) return fail(1009, "message too big");
      in_message_ = true;
      binary_ = opcode_ == op_binary;
      compressed_ = rsv1;
      if (!binary_) utf8_.reset();
      // A whole message in one frame is sized at once; fragments grow as they come.
      if (fin_) message_.reserve(static_cast<std::size_t>(len));
      break;
    default:
      return fail(1002, "reserved opcode");
  }
  remaining_ = len;
  in_frame_ = true;
  return ws_read::need_more;
}

ws_read ws_parser::end_frame() {
  in_frame_ = false;
  switch (opcode_) {
    case op_ping: return ws_read::ping;
    case op_pong: return ws_read::pong;
    case op_close: {
      if (control_.empty()) {
        close_code_ = 1005;  // no status: the close carried no code
        return ws_read::close;
      }
      if (control_.size() == 1) return fail(1002, "close payload of one byte");
      close_code_ = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                               static_cast<unsigned char>(control_[1]));
      if (!valid_close_code(close_code_)) return fail(1002, "invalid close code");
      if (!valid_utf8(control_.data() + 2, control_.size() - 2))
        return fail(1002, "close reason is not UTF-8");
      return ws_read::close;
    }
    default:
      if (!fin_) return ws_read::need_more;
      in_message_ = false;
      if (compressed_) return end_compressed();
      if (!binary_ && !utf8_.finish()) return fail(1007, "invalid UTF-8 in a text message");
      return binary_ ? ws_read::binary : ws_read::text;
  }
}

ws_read ws_parser::end_compressed() {
  compressed_ = false;
  inflater* z = &thread_inflater();
  if (context_takeover_) {
    if (!inflater_) inflater_ = std::make_unique<inflater>(true);
    z = inflater_.get();
  }
  std::string out;
  switch (z->inflate(message_, out, max_message_)) {
    case inflate_result::too_big: return fail(1009, "message too big");
    case inflate_result::corrupt: return fail(1007, "invalid compressed data");
    case inflate_result::ok: break;
  }
  message_ = std::move(out);
  if (!binary_ && !valid_utf8(message_.data(), message_.size()))
    return fail(1007, "invalid UTF-8 in a text message");
  return binary_ ? ws_read::binary : ws_read::text;
}

}  // namespace roomwire
