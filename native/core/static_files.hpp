// Static files served by the core (`app.static(prefix, dir)`): the lookup that keeps every
// request inside its directory, the conditional and range logic, and a Beast body that
// writes one byte range of a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/optional.hpp>

#include "net.hpp"
#include "options.hpp"

namespace roomwire {

/// A file found for a request.
struct static_file {
  std::string path;            // its real path, inside the mount's root
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;   // modification time, ns since the epoch
};

/// The file `segments` (a request path's decoded segments) names under `mount`, or nullopt
/// when the path is not under the prefix, names nothing servable, or would leave the root:
/// `.` and `..` segments, a segment holding `/`, `\` or NUL (an encoded separator), a dotfile
/// unless allowed, or a symbolic link resolving outside the root. A directory serves its index.
std::optional<static_file> find_static(const static_mount& mount, const std::vector<std::string>& segments);

/// The Content-Type for a file name, by its extension (application/octet-stream when unknown).
std::string_view content_type_of(std::string_view path);

/// An HTTP date (RFC 9110 IMF-fixdate) for seconds since the epoch, and back (nullopt when malformed).
std::string http_date(std::int64_t seconds);
std::optional<std::int64_t> parse_http_date(std::string_view text);

/// A strong validator for a file: its size and modification time.
std::string etag_of(const static_file& f);

/// One byte range of a file: [first, first + length).
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
/// Parses a Range header for a file of `size` bytes: nullopt for none or one to ignore (not
/// bytes, several ranges, malformed); a range with length 0 when unsatisfiable (416).
std::optional<byte_range> parse_range(std::string_view header, std::uint64_t size);

/// A Beast body that writes `length` bytes of an open file from `offset`.
struct file_range_body {
  struct value_type {
    beast::file file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& v) { return v.length; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, value_type& body) : body_(body), remain_(body.length) {}
    void init(error_code& ec) { body_.file.seek(body_.offset, ec); }
    boost::optional<std::pair<const_buffers_type, bool>> get(error_code& ec);

   private:
    value_type& body_;
    std::uint64_t remain_;
    char buf_[16 * 1024];  // a file is read 16 KiB at a time
  };
};

}  // namespace roomwire
