// libFuzzer: route patterns and request targets. The input is "<pattern>\n<target>": a
// pattern either compiles or throws std::invalid_argument; a target either splits or is
// refused; matching never misbehaves and captures only on success.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "router.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  std::string pattern = nl == std::string::npos ? input : input.substr(0, nl);
  std::string target = nl == std::string::npos ? input : input.substr(nl + 1);
  std::string path;
  std::vector<std::string> segments;
  roomwire::string_pairs query, params;
  bool split = roomwire::split_target(target, path, segments, query);
  try {
    roomwire::route_pattern p(pattern);
    if (split) {
      bool matched = p.match(segments, params);
      if (!matched && !params.empty()) __builtin_trap();
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
