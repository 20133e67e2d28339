// The header of one unfragmented WebSocket frame (RFC 6455 §5.2), for code that writes
// whole frames itself: the session's data frames, the load generator's client frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace roomwire {

/// Writes the header of a final frame with `opcode` and a `size`-byte payload into `head`
/// and returns its length (2 to 14 bytes). With `masked`, the mask bit is set and a zero
/// masking key follows, so the payload goes as is (a client's frame).
inline std::size_t frame_header(unsigned char (&head)[14], unsigned opcode, std::size_t size,
                                bool masked = false) {
  const unsigned char mask_bit = masked ? 0x80 : 0x00;
  head[0] = static_cast<unsigned char>(0x80 | opcode);
  std::size_t n;
  if (size < 126) {
    head[1] = static_cast<unsigned char>(mask_bit | size);
    n = 2;
  } else if (size <= 0xffff) {
    head[1] = mask_bit | 126;
    head[2] = static_cast<unsigned char>(size >> 8);
    head[3] = static_cast<unsigned char>(size);
    n = 4;
  } else {
    head[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i) head[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> (56 - 8 * i));
    n = 10;
  }
  if (!masked) return n;
  std::memset(head + n, 0, 4);
  return n + 4;
}

}  // namespace roomwire
