#include "ids.hpp"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace roomwire {

std::string make_connection_id() {
  // The generator seeds from the OS once per thread; it is not thread-safe to share.
  thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());
}

std::string make_client_id() {
  thread_local std::mt19937 rng{std::random_device{}()};
  char buf[16];
  std::snprintf(buf, sizeof buf, "client_%08x", static_cast<unsigned>(rng()));
  return buf;
}

double now_ms() {
  using namespace std::chrono;
  return static_cast<double>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

std::string rfc3339(double ms_since_epoch) {
  auto total = static_cast<long long>(ms_since_epoch);
  std::time_t secs = static_cast<std::time_t>(total / 1000);
  int ms = static_cast<int>(total % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int fields the compiler cannot bound
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string timestamp_now() {
  // Formatted once per millisecond per thread, however many frames share it.
  thread_local double last_ms = -1;
  thread_local std::string last;
  const double ms = now_ms();
  if (ms != last_ms) {
    last = rfc3339(ms);
    last_ms = ms;
  }
  return last;
}

}  // namespace roomwire
