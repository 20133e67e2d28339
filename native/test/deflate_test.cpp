// permessage-deflate's pieces: the offer negotiation, the compressor and inflater round
// trip with and without context takeover, the inflater's bound on a decompression bomb, and
// the parser's compressed messages split at every byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "deflate.hpp"
#include "ws_parser.hpp"

using namespace roomwire;

namespace {

std::string negotiated(const std::string& offer, compression_mode mode) {
  deflate_params p;
  std::string response;
  return negotiate_deflate(offer, mode, p, response) ? response : "(declined)";
}

/// A masked client frame (fixed key) with `rsv` bits.
std::string frame(unsigned opcode, const std::string& payload, bool fin, unsigned rsv) {
  const unsigned char key[4] = {0x11, 0x22, 0x33, 0x44};
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
  if (payload.size() < 126) {
    out += static_cast<char>(0x80 | payload.size());
  } else {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  }
  out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ key[i & 3]);
  return out;
}

std::string sample(std::size_t n) {
  // JSON rows with varying numbers: compressible, but not to almost nothing.
  std::string s;
  std::uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245u + 12345u;
    s += "{\"user\":\"ada\",\"score\":" + std::to_string(x % 100000) + ",\"at\":" + std::to_string(x >> 7) + "},";
  }
  s.resize(n);
  return s;
}

}  // namespace

TEST(Deflate, NegotiatesPerRfc7692) {
  EXPECT_EQ(negotiated("permessage-deflate", compression_mode::off), "(declined)");
  EXPECT_EQ(negotiated("permessage-deflate", compression_mode::shared),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_EQ(negotiated("permessage-deflate", compression_mode::dedicated), "permessage-deflate");
  EXPECT_EQ(negotiated("Permessage-Deflate; Server_No_Context_Takeover", compression_mode::dedicated),
            "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(negotiated("permessage-deflate; server_max_window_bits=9", compression_mode::dedicated),
            "permessage-deflate; server_max_window_bits=9");
  EXPECT_EQ(negotiated("permessage-deflate;server_max_window_bits = \"15\"", compression_mode::dedicated),
            "permessage-deflate; server_max_window_bits=15");
  EXPECT_EQ(negotiated("permessage-deflate; server_max_window_bits=8", compression_mode::dedicated), "(declined)");
  EXPECT_EQ(negotiated("permessage-deflate; server_max_window_bits=", compression_mode::dedicated), "(declined)");
  EXPECT_EQ(negotiated("permessage-deflate; client_max_window_bits=16", compression_mode::dedicated), "(declined)");
  EXPECT_EQ(negotiated("permessage-deflate; client_max_window_bits=15", compression_mode::dedicated), "permessage-deflate");
  EXPECT_EQ(negotiated("permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                       compression_mode::dedicated), "(declined)");
  EXPECT_EQ(negotiated("permessage-deflate; x=\"a,b\", permessage-deflate; client_no_context_takeover",
                       compression_mode::dedicated), "permessage-deflate; client_no_context_takeover");
  EXPECT_EQ(negotiated("", compression_mode::shared), "(declined)");
  EXPECT_EQ(negotiated(",,;;", compression_mode::shared), "(declined)");
}

TEST(Deflate, RoundTripsAloneAndWithContextTakeover) {
  const std::string text = sample(5000);
  for (bool takeover : {false, true}) {
    deflater d(15, takeover);
    inflater i(takeover);
    std::string packed, first_size, out;
    std::size_t sizes[3];
    for (int n = 0; n < 3; ++n) {
      d.compress(text, packed);
      sizes[n] = packed.size();
      ASSERT_EQ(i.inflate(packed, out, 1 << 20), inflate_result::ok);
      EXPECT_EQ(out, text);
    }
    EXPECT_LT(sizes[0], text.size() / 4);
    if (takeover) EXPECT_LT(sizes[1], sizes[0] / 4);  // a back-reference to the first
    else EXPECT_EQ(sizes[1], sizes[0]);
  }
}

TEST(Deflate, InflaterStopsAtTheLimit) {
  deflater d(15, false);
  std::string packed, out;
  d.compress(std::string(32 << 20, '\0'), packed);  // 32 MiB of zeros
  EXPECT_LT(packed.size(), 64u << 10);
  inflater i(false);
  EXPECT_EQ(i.inflate(packed, out, 100000), inflate_result::too_big);
  EXPECT_LE(out.size(), 100001u);
  EXPECT_LE(out.capacity(), 100001u);  // never allocated past the limit either
  // Exactly the limit is fine, and the inflater is usable again after a refusal.
  d.compress(std::string(100000, 'a'), packed);
  EXPECT_EQ(i.inflate(packed, out, 100000), inflate_result::ok);
  EXPECT_EQ(out.size(), 100000u);
  EXPECT_EQ(i.inflate(std::string("\xff\xff\xff\xff", 4), out, 100000), inflate_result::corrupt);
}

TEST(Deflate, ParserInflatesMessagesSplitAtEveryByte) {
  const std::string text = sample(3000);
  deflater d(15, false);
  std::string packed;
  d.compress(text, packed);
  // One compressed message in two fragments (RSV1 on the first only), then a plain one.
  const std::string bytes = frame(1, packed.substr(0, 100), false, 4) + frame(0, packed.substr(100), true, 0) +
                            frame(1, "plain", true, 0);
  for (std::size_t cut = 0; cut <= bytes.size(); cut += 7) {
    ws_parser p(1 << 20);
    p.enable_deflate(false);
    std::vector<std::string> got;
    for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, cut}, {cut, bytes.size()}}) {
      const char* at = bytes.data() + from;
      const char* end = bytes.data() + to;
      for (;;) {
        ws_read r = p.parse(at, end);
        if (r == ws_read::need_more) break;
        ASSERT_EQ(r, ws_read::text) << p.fail_reason();
        got.push_back(p.take_message());
      }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], text);
    EXPECT_EQ(got[1], "plain");
  }
}

TEST(Deflate, ParserWithoutDeflateRefusesRsv1) {
  ws_parser p(1 << 20);
  const std::string bytes = frame(1, "x", true, 4);
  const char* at = bytes.data();
  EXPECT_EQ(p.parse(at, bytes.data() + bytes.size()), ws_read::fail);
  EXPECT_EQ(p.fail_code(), 1002);
}

TEST(Deflate, ParserBoundsTheInflatedSize) {
  deflater d(15, false);
  std::string packed;
  d.compress(std::string(1 << 20, 'z'), packed);
  ws_parser p(4096);
  p.enable_deflate(true);
  const std::string bytes = frame(2, packed, true, 4);
  const char* at = bytes.data();
  EXPECT_EQ(p.parse(at, bytes.data() + bytes.size()), ws_read::fail);
  EXPECT_EQ(p.fail_code(), 1009);
}
