// Writing text as a JSON string, for the frames built without a JSON object.
#pragma once

#include <string>
#include <string_view>

namespace roomwire {

/// Appends `s` (UTF-8) to `out` as a quoted JSON string, escaped exactly as Boost.JSON's
/// serializer escapes: `\"`, `\\`, the short forms `\b \f \n \r \t`, `\u00XX` for the
/// other control characters, every other byte as it is.
void append_json_string(std::string& out, std::string_view s);

}  // namespace roomwire
