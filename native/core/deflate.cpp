#include "deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <vector>

namespace roomwire {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

/// A window-bits value, 8 to 15, bare or quoted; -1 when it is anything else.
int window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || v[0] == '0') return -1;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n >= 8 && n <= 15 ? n : -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Splits `s` at each `sep` outside double quotes.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    else if (s[i] == '\\' && quoted) ++i;
    else if (s[i] == sep && !quoted) {
      parts.push_back(trim(s.substr(from, i - from)));
      from = i + 1;
    }
  }
  parts.push_back(trim(s.substr(from)));
  return parts;
}

/// One offer's parameters (`name[=value]` each), or false when the offer must be declined.
bool read_offer(const std::vector<std::string_view>& params, bool& server_nct, bool& client_nct,
                int& server_bits) {
  bool seen[4] = {false, false, false, false};
  for (std::size_t i = 1; i < params.size(); ++i) {
    const std::size_t eq = params[i].find('=');
    std::string_view name = trim(params[i].substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? std::string_view() : trim(params[i].substr(eq + 1));
    if (eq != std::string_view::npos && value.empty()) return false;
    int which;
    if (iequals(name, "server_no_context_takeover")) which = 0;
    else if (iequals(name, "client_no_context_takeover")) which = 1;
    else if (iequals(name, "server_max_window_bits")) which = 2;
    else if (iequals(name, "client_max_window_bits")) which = 3;
    else return false;  // a parameter the RFC does not define for an offer
    if (seen[which]) return false;
    seen[which] = true;
    switch (which) {
      case 0:
      case 1:
        if (!value.empty()) return false;
        (which == 0 ? server_nct : client_nct) = true;
        break;
      case 2:
        server_bits = window_bits(value);
        // 8 is valid, but zlib's raw deflate widens an 8-bit window to 9: declined.
        if (server_bits < 9) return false;
        break;
      case 3:
        // The client can limit its window; inflating with 15 bits reads any window, so
        // the answer leaves it out. Only its value is checked.
        if (!value.empty() && window_bits(value) < 0) return false;
        break;
    }
  }
  return true;
}

}  // namespace

bool negotiate_deflate(std::string_view header, compression_mode mode, deflate_params& out,
                       std::string& response) {
  if (mode == compression_mode::off) return false;
  for (std::string_view offer : split(header, ',')) {
    const std::vector<std::string_view> params = split(offer, ';');
    if (!iequals(params[0], "permessage-deflate")) continue;
    bool server_nct = false, client_nct = false;
    int server_bits = 0;
    if (!read_offer(params, server_nct, client_nct, server_bits)) continue;
    // `shared` compresses each message alone, and asks the client to do the same (the
    // server may, §7.1.1.2): its messages then inflate on the thread's one inflater, and
    // an idle connection holds no zlib state either way.
    if (mode == compression_mode::shared) server_nct = client_nct = true;
    out.server_no_context_takeover = server_nct;
    out.client_no_context_takeover = client_nct;
    out.server_max_window_bits = server_bits != 0 ? server_bits : 15;
    response = "permessage-deflate";
    if (server_nct) response += "; server_no_context_takeover";
    if (client_nct) response += "; client_no_context_takeover";
    if (server_bits != 0) response += "; server_max_window_bits=" + std::to_string(server_bits);
    return true;
  }
  return false;
}

deflater::deflater(int window_bits, bool context_takeover)
    : z_(std::make_unique<z_stream>()), context_takeover_(context_takeover) {
  // Negative window bits: raw deflate, no zlib header or checksum. Memory level 8 (zlib's
  // default): 2^(bits+2) + 128 KiB, about 256 KiB at 15 bits.
  if (deflateInit2(z_.get(), Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
}

deflater::~deflater() { deflateEnd(z_.get()); }

void deflater::compress(std::string_view in, std::string& out) {
  z_stream& z = *z_;
  out.resize(deflateBound(&z, static_cast<uLong>(in.size())) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::size_t used = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(out.size() - used);
    deflate(&z, Z_SYNC_FLUSH);
    used = out.size() - z.avail_out;
    if (z.avail_out != 0) break;  // all input taken and flushed
    out.resize(out.size() * 2);
  }
  // A sync flush ends with an empty stored block, 00 00 ff ff: the receiver adds it back.
  if (used >= 4 && std::memcmp(out.data() + used - 4, "\x00\x00\xff\xff", 4) == 0) used -= 4;
  out.resize(used);
  if (!context_takeover_) deflateReset(&z);
}

inflater::inflater(bool context_takeover) : z_(std::make_unique<z_stream>()), context_takeover_(context_takeover) {
  // 15 bits reads a stream written with any window up to 15: the client's own limit is
  // not needed.
  if (inflateInit2(z_.get(), -15) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
}

inflater::~inflater() { inflateEnd(z_.get()); }

inflate_result inflater::inflate(std::string_view in, std::string& out, std::size_t limit) {
  static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
  z_stream& z = *z_;
  const std::size_t cap = limit == static_cast<std::size_t>(-1) ? limit : limit + 1;
  // Start near a typical ratio, then double: a bomb is stopped at the limit, never
  // allocated for in one go.
  out.resize(std::min(cap, std::max<std::size_t>(in.size() * 4, 256)));
  std::size_t used = 0;
  inflate_result result = inflate_result::ok;
  for (int part = 0; part < 2 && result == inflate_result::ok; ++part) {
    std::string_view input = part == 0 ? in : std::string_view(reinterpret_cast<const char*>(tail), 4);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z.avail_in = static_cast<uInt>(input.size());
    for (;;) {
      if (used == out.size()) {
        if (out.size() >= cap) {
          result = inflate_result::too_big;
          break;
        }
        // Grown to exactly the size asked (std::string would round a resize up to
        // double its capacity, past the limit).
        std::string bigger;
        bigger.reserve(std::min(cap, out.size() * 2));
        bigger.assign(out.data(), used);
        bigger.resize(bigger.capacity());
        out.swap(bigger);
      }
      z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - used, 1u << 30));
      const uInt before = z.avail_out;
      int r = ::inflate(&z, Z_SYNC_FLUSH);
      used += before - z.avail_out;
      if (used > limit) {
        result = inflate_result::too_big;
        break;
      }
      if (r == Z_STREAM_END) {
        // The client ended a stream (a final block): what follows starts a new one.
        inflateReset(&z);
        if (z.avail_in == 0) break;
        continue;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) {
        result = inflate_result::corrupt;
        break;
      }
      // Done with this part once its input is taken and the output did not fill up.
      if (z.avail_in == 0 && z.avail_out != 0) break;
      if (r == Z_BUF_ERROR && z.avail_out != 0) break;  // no progress possible
    }
  }
  out.resize(std::min(used, out.size()));
  if (result != inflate_result::ok || !context_takeover_) inflateReset(&z);
  return result;
}

inflater& thread_inflater() {
  thread_local inflater one(false);
  return one;
}

}  // namespace roomwire
