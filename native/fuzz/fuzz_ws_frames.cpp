// libFuzzer: the server's WebSocket frame parser. Any bytes must be consumed or refused
// with a close code, and feeding them in pieces (the first byte picks the piece size) must
// report exactly what feeding them whole does. The first byte's top bits turn on
// permessage-deflate (with or without the client's context takeover): inflated messages
// keep to the limit too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ws_parser.hpp"

namespace {

std::vector<std::string> run(const char* data, std::size_t size, std::size_t step, unsigned deflate) {
  roomwire::ws_parser parser(1024);
  if (deflate != 0) parser.enable_deflate(deflate == 2);
  std::vector<std::string> out;
  for (std::size_t at = 0; at < size; at += step) {
    const char* p = data + at;
    const char* end = data + (size - at < step ? size : at + step);
    for (;;) {
      auto r = parser.parse(p, end);
      if (r == roomwire::ws_read::need_more) {
        if (p != end) __builtin_trap();
        break;
      }
      std::string item(1, static_cast<char>('0' + static_cast<int>(r)));
      switch (r) {
        case roomwire::ws_read::text:
        case roomwire::ws_read::binary: item += parser.take_message(); break;
        case roomwire::ws_read::ping:
        case roomwire::ws_read::pong: item += parser.control(); break;
        case roomwire::ws_read::close:
          item += std::to_string(parser.close_code());
          item += parser.close_reason();
          out.push_back(item);
          return out;
        default:
          if (parser.fail_code() != 1002 && parser.fail_code() != 1007 && parser.fail_code() != 1009)
            __builtin_trap();
          item += std::to_string(parser.fail_code());
          out.push_back(item);
          return out;
      }
      if (item.size() > 1 + 1024) __builtin_trap();  // never past the message limit
      out.push_back(std::move(item));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 16;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const unsigned deflate = data[0] >> 6 == 3 ? 2 : (data[0] >> 6 == 2 ? 1 : 0);
  if (run(bytes, size - 1, size, deflate) != run(bytes, size - 1, step, deflate)) __builtin_trap();
  return 0;
}
