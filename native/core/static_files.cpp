#include "static_files.hpp"

#include <sys/stat.h>

#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace roomwire {

namespace {

/// The real path of `path` (symbolic links resolved), or empty when it does not exist.
std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

bool inside(const std::string& root, const std::string& path) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          (root.back() == '/' || path[root.size()] == '/'));
}

/// A regular file's details after resolving `path` inside `root`; nullopt otherwise.
std::optional<static_file> regular_file(const std::string& root, const std::string& path, bool& directory) {
  directory = false;
  std::string real = real_path(path);
  if (real.empty() || !inside(root, real)) return std::nullopt;
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return std::nullopt;
  if (S_ISDIR(st.st_mode)) {
    directory = true;
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  static_file f;
  f.path = std::move(real);
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}

}  // namespace

std::optional<static_file> find_static(const static_mount& mount, const std::vector<std::string>& segments) {
  if (segments.size() < mount.prefix.size()) return std::nullopt;
  for (std::size_t i = 0; i < mount.prefix.size(); ++i)
    if (segments[i] != mount.prefix[i]) return std::nullopt;
  std::string path = mount.root;
  for (std::size_t i = mount.prefix.size(); i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    if (seg.empty() || seg == "." || seg == "..") return std::nullopt;
    if (seg.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) return std::nullopt;
    if (!mount.dotfiles && seg.front() == '.') return std::nullopt;
    path += '/';
    path += seg;
  }
  bool directory = false;
  auto f = regular_file(mount.root, path, directory);
  if (f || !directory || mount.index.empty()) return f;
  return regular_file(mount.root, path + "/" + mount.index, directory);
}

std::string_view content_type_of(std::string_view path) {
  struct entry {
    std::string_view ext, type;
  };
  static constexpr entry types[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"map", "application/json"}, {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
      {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
      {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"},
      {"avif", "image/avif"}, {"ico", "image/x-icon"}, {"wasm", "application/wasm"},
      {"woff", "font/woff"}, {"woff2", "font/woff2"}, {"ttf", "font/ttf"}, {"otf", "font/otf"},
      {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}, {"wav", "audio/wav"}, {"mp4", "video/mp4"},
      {"webm", "video/webm"}, {"pdf", "application/pdf"}, {"zip", "application/zip"},
      {"gz", "application/gzip"},
  };
  auto slash = path.rfind('/');
  auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string ext(path.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& e : types)
    if (e.ext == ext) return e.type;
  return "application/octet-stream";
}

std::string http_date(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::string etag_of(const static_file& f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(f.size),
                static_cast<unsigned long long>(f.mtime_ns));
  return buf;
}

std::optional<byte_range> parse_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (header.substr(0, unit.size()) != unit) return std::nullopt;
  std::string_view spec = header.substr(unit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt;  // several ranges: the whole file
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view digits, std::uint64_t& out) {
    if (digits.empty() || digits.size() > 19) return false;
    out = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  std::string_view first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (first_text.empty()) {
    // A suffix: the last N bytes.
    if (!number(last_text, last)) return std::nullopt;
    if (last == 0 || size == 0) return byte_range{0, 0};
    std::uint64_t n = last < size ? last : size;
    return byte_range{size - n, n};
  }
  if (!number(first_text, first)) return std::nullopt;
  if (last_text.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!number(last_text, last) || last < first) {
    return std::nullopt;
  }
  if (first >= size) return byte_range{0, 0};
  if (last >= size) last = size - 1;
  return byte_range{first, last - first + 1};
}

boost::optional<std::pair<file_range_body::writer::const_buffers_type, bool>>
file_range_body::writer::get(error_code& ec) {
  const std::size_t amount = remain_ < sizeof buf_ ? static_cast<std::size_t>(remain_) : sizeof buf_;
  if (amount == 0) {
    ec = {};
    return boost::none;
  }
  const std::size_t n = body_.file.read(buf_, amount, ec);
  if (ec) return boost::none;
  if (n == 0) {
    ec = net::error::eof;  // the file shrank under us
    return boost::none;
  }
  remain_ -= n;
  return std::make_pair(const_buffers_type{buf_, n}, remain_ > 0);
}

}  // namespace roomwire
