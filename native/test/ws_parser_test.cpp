// The server's WebSocket frame parser: client frames split at every byte, fragments and
// interleaved control frames, each protocol violation with its close code, the handshake
// key, unmasking at every key offset.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ws_parser.hpp"

using namespace roomwire;

namespace {

/// A client frame: masked with `key` unless `masked` is false; `length` overrides the
/// length the header declares.
std::string frame(unsigned opcode, const std::string& payload, bool fin = true, bool masked = true,
                  std::uint64_t length = UINT64_MAX, unsigned rsv = 0) {
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::uint64_t len = length == UINT64_MAX ? payload.size() : length;
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (len < 126) {
    out += static_cast<char>(mask_bit | static_cast<char>(len));
  } else if (len <= 0xffff) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(len >> 8);
    out += static_cast<char>(len & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  }
  if (masked) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  return out;
}

std::string close_payload(int code, const std::string& reason = "") {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)} + reason;
}

struct result {
  ws_read kind;
  std::string data;
};

/// Feeds `bytes` in pieces of `step` bytes and collects everything the parser reports
/// until it needs more, or fails, or sees a close.
std::vector<result> parse_all(ws_parser& parser, const std::string& bytes, std::size_t step) {
  std::vector<result> out;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    const char* p = bytes.data() + at;
    const char* end = bytes.data() + std::min(bytes.size(), at + step);
    for (;;) {
      ws_read r = parser.parse(p, end);
      if (r == ws_read::need_more) break;
      if (r == ws_read::text || r == ws_read::binary) out.push_back({r, parser.take_message()});
      else if (r == ws_read::ping || r == ws_read::pong) out.push_back({r, std::string(parser.control())});
      else if (r == ws_read::close) out.push_back({r, std::to_string(parser.close_code()) + ":" + std::string(parser.close_reason())});
      else {
        out.push_back({r, std::to_string(parser.fail_code())});
        return out;
      }
      if (r == ws_read::close) return out;
    }
    EXPECT_EQ(p, end);
  }
  return out;
}

int fail_code_of(const std::string& bytes, std::size_t max = 1 << 20) {
  ws_parser parser(max);
  auto out = parse_all(parser, bytes, bytes.size());
  if (out.empty() || out.back().kind != ws_read::fail) return 0;
  return std::stoi(out.back().data);
}

}  // namespace

TEST(WsParser, ParsesFramesSplitAtEveryByte) {
  std::string big(70000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const std::string bytes = frame(1, "hello") + frame(2, std::string("\0\1\2", 3)) + frame(1, big) +
                            frame(1, "") + frame(1, std::string(300, 'y'));
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64}, bytes.size()}) {
    ws_parser parser(1 << 20);
    auto out = parse_all(parser, bytes, step);
    ASSERT_EQ(out.size(), 5u) << "step " << step;
    EXPECT_EQ(out[0].kind, ws_read::text);
    EXPECT_EQ(out[0].data, "hello");
    EXPECT_EQ(out[1].kind, ws_read::binary);
    EXPECT_EQ(out[1].data, std::string("\0\1\2", 3));
    EXPECT_EQ(out[2].data, big);
    EXPECT_EQ(out[3].data, "");
    EXPECT_EQ(out[4].data, std::string(300, 'y'));
    EXPECT_TRUE(parser.idle());
  }
}

TEST(WsParser, JoinsFragmentsAroundInterleavedControlFrames) {
  const std::string text = "h\xc3\xa9llo w\xe2\x82\xacrld";  // UTF-8 split inside sequences below
  const std::string bytes = frame(1, text.substr(0, 2), false) + frame(9, "are you there") +
                            frame(0, text.substr(2, 7), false) + frame(10, "late pong") +
                            frame(0, text.substr(9));
  for (std::size_t step : {std::size_t{1}, std::size_t{5}, bytes.size()}) {
    ws_parser parser(1 << 20);
    auto out = parse_all(parser, bytes, step);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].kind, ws_read::ping);
    EXPECT_EQ(out[0].data, "are you there");
    EXPECT_EQ(out[1].kind, ws_read::pong);
    EXPECT_EQ(out[2].kind, ws_read::text);
    EXPECT_EQ(out[2].data, text);
  }
}

TEST(WsParser, ReportsCloseCodesAndReasons) {
  {
    ws_parser parser(1024);
    auto out = parse_all(parser, frame(8, close_payload(4321, "done here")), 1);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, ws_read::close);
    EXPECT_EQ(out[0].data, "4321:done here");
  }
  {
    ws_parser parser(1024);
    auto out = parse_all(parser, frame(8, ""), 64);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, "1005:");  // no status
  }
}

TEST(WsParser, FailsEachProtocolViolationWithItsCode) {
  EXPECT_EQ(fail_code_of(frame(1, "hi", true, false)), 1002);                // unmasked
  EXPECT_EQ(fail_code_of(frame(3, "x")), 1002);                              // reserved data opcode
  EXPECT_EQ(fail_code_of(frame(0xb, "x")), 1002);                            // reserved control opcode
  EXPECT_EQ(fail_code_of(frame(1, "x", true, true, UINT64_MAX, 4)), 1002);   // RSV1
  EXPECT_EQ(fail_code_of(frame(9, "x", false)), 1002);                       // fragmented control
  EXPECT_EQ(fail_code_of(frame(9, std::string(126, 'p'))), 1002);            // control over 125
  EXPECT_EQ(fail_code_of(frame(0, "x")), 1002);                              // continuation alone
  EXPECT_EQ(fail_code_of(frame(1, "a", false) + frame(1, "b")), 1002);       // message inside one
  EXPECT_EQ(fail_code_of(frame(8, close_payload(999))), 1002);               // invalid close code
  EXPECT_EQ(fail_code_of(frame(8, close_payload(1005))), 1002);              // reserved close code
  EXPECT_EQ(fail_code_of(frame(8, std::string(1, '\3'))), 1002);             // one-byte close
  EXPECT_EQ(fail_code_of(frame(8, close_payload(1000, "\xc3\x28"))), 1002);  // close reason not UTF-8
  EXPECT_EQ(fail_code_of(frame(1, "\xff\xfe")), 1007);                       // text not UTF-8
  EXPECT_EQ(fail_code_of(frame(1, "\xe2\x82", false) + frame(0, "x")), 1007);
  // Too big: by the length a header declares (nothing more read), and across fragments.
  EXPECT_EQ(fail_code_of(frame(2, "abcd", true, true, std::uint64_t{1} << 62), 1024), 1009);
  EXPECT_EQ(fail_code_of(frame(2, "abcd", true, true, std::uint64_t{1} << 63), 1024), 1002);
  EXPECT_EQ(fail_code_of(frame(2, std::string(1025, 'b')), 1024), 1009);
  EXPECT_EQ(fail_code_of(frame(2, std::string(600, 'b'), false) + frame(0, std::string(425, 'b')), 1024), 1009);
  EXPECT_EQ(fail_code_of(frame(2, std::string(600, 'b'), false) + frame(0, std::string(424, 'b')), 1024), 0);
}

TEST(WsParser, StaysFailedAfterAViolation) {
  ws_parser parser(1024);
  std::string bad = frame(3, "x") + frame(1, "fine");
  const char* p = bad.data();
  EXPECT_EQ(parser.parse(p, bad.data() + bad.size()), ws_read::fail);
  EXPECT_EQ(parser.parse(p, bad.data() + bad.size()), ws_read::fail);
  EXPECT_STREQ(parser.fail_reason(), "reserved opcode");
}

TEST(WsParser, UnmasksFromEveryKeyOffset) {
  const unsigned char key[4] = {0x01, 0x80, 0x7f, 0xff};
  std::string src(41, '\0');
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>(i * 7);
  for (std::uint8_t at = 0; at < 4; ++at) {
    for (std::size_t n = 0; n <= src.size(); ++n) {
      std::string dst(n, '\0');
      std::uint8_t next = unmask(dst.data(), src.data(), n, key, at);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(dst[i], static_cast<char>(src[i] ^ key[(at + i) & 3])) << "at " << int(at) << " n " << n;
      EXPECT_EQ(next, (at + n) & 3);
    }
  }
}

TEST(WsParser, HandshakeKeyAndAccept) {
  // RFC 6455 §1.3's example.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(valid_websocket_key(""));
  EXPECT_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ"));      // unpadded
  EXPECT_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25j!!=="));    // not base64
  EXPECT_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZSE="));    // 17 bytes
}

TEST(WsParser, ReleasesAControlPayloadOnceHandled) {
  ws_parser parser(1024);
  std::string ping = frame(9, std::string(100, 'p'));
  std::string half = frame(10, std::string(100, 'q'));
  std::string bytes = ping + half.substr(0, 50);
  const char* p = bytes.data();
  const char* end = bytes.data() + bytes.size();
  ASSERT_EQ(parser.parse(p, end), ws_read::ping);
  ASSERT_EQ(parser.parse(p, end), ws_read::need_more);
  parser.release_control();  // the pong is half read: its bytes stay
  std::string rest = half.substr(50);
  p = rest.data();
  ASSERT_EQ(parser.parse(p, rest.data() + rest.size()), ws_read::pong);
  EXPECT_EQ(parser.control(), std::string(100, 'q'));
  parser.release_control();
  EXPECT_TRUE(parser.control().empty());
}

TEST(WsParser, AcceptsOnlyTheCloseCodesAPeerMaySend) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999})
    EXPECT_EQ(fail_code_of(frame(8, close_payload(code))), 0) << code;
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 0x1388, 65535})
    EXPECT_EQ(fail_code_of(frame(8, close_payload(code))), 1002) << code;
}

TEST(WsParser, FailsInvalidUtf8WhenTheBadBytesArriveNotAtTheMessageEnd) {
  // A fragmented text message whose first fragment holds an invalid sequence: the parser
  // fails on that fragment, without waiting for the final one (which never comes here).
  for (std::size_t step : {1u, 3u, 64u}) {
    ws_parser parser(1 << 20);
    std::string bytes = frame(1, "hello", false) + frame(0, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", false);
    bool failed = false;
    for (std::size_t at = 0; at < bytes.size() && !failed; at += step) {
      const char* p = bytes.data() + at;
      const char* end = bytes.data() + std::min(bytes.size(), at + step);
      if (parser.parse(p, end) == ws_read::fail) failed = true;
    }
    EXPECT_TRUE(failed) << step;
    EXPECT_EQ(parser.fail_code(), 1007) << step;
  }
  // Within one frame too: the bad byte is enough, the rest of the frame need not arrive.
  ws_parser parser(1 << 20);
  std::string whole = frame(1, std::string("ok \xff") + std::string(1000, 'x'));
  const char* p = whole.data();
  const char* end = whole.data() + 2 + 4 + 2 + 8;  // the header and the first bytes only
  EXPECT_EQ(parser.parse(p, end), ws_read::fail);
  // A code point split across fragments is fine, and an unfinished one at the end is not.
  EXPECT_EQ(fail_code_of(frame(1, "\xe2\x82", false) + frame(0, "\xac")), 0);
  EXPECT_EQ(fail_code_of(frame(1, "a\xe2\x82", false) + frame(0, "")), 1007);
}
