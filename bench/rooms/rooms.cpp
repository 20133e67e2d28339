// Rooms at their limits, measured on the registry alone (no sockets): the time to fill one
// room with N members (each join takes the list of members before it, as a session does to
// tell them), a fan-out's look at the list at that size, the memory per member, and
// 100,000 rooms of 2 members (direct-chat style): memory per room, join and leave rates.
// Prints one JSON line. Usage: roomwire_rooms_bench [--members 19900] [--pairs 100000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <malloc.h>

#include "room_registry.hpp"

using namespace roomwire;
using clock_type = std::chrono::steady_clock;

namespace {

long rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

member_info member(std::size_t i) {
  member_info m;
  m.connection_id = "c" + std::to_string(1000000 + i) + "-0000-0000-0000-000000000000";
  m.client_id = "client-" + std::to_string(i);
  m.io_index = i % 2;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 19900, pairs = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--members")) n = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--pairs")) pairs = std::strtoul(argv[i + 1], nullptr, 10);
  }
  // One big room.
  std::vector<member_info> people;
  people.reserve(n);
  for (std::size_t i = 0; i < n; ++i) people.push_back(member(i));
  malloc_trim(0);
  const long base = rss_kb();
  room_registry reg;
  const std::string big = reg.create("big", "", 0, "{}", false);
  auto t = clock_type::now();
  std::size_t told = 0;
  for (std::size_t i = 0; i < n; ++i) {
    member_list before;
    reg.join(big, people[i], false, &before);
    told += before ? before->size() : 0;
  }
  const double fill_s = seconds_since(t);
  malloc_trim(0);
  const long filled = rss_kb();
  // A fan-out's part: take the list and walk it (as deliver_on does per thread).
  t = clock_type::now();
  std::size_t walked = 0;
  const int looks = 200;
  for (int k = 0; k < looks; ++k) {
    member_list list = reg.members(big);
    for (const auto& m : *list) walked += m.io_index;
  }
  const double look_us = seconds_since(t) * 1e6 / looks;
  // Leaves, from the front (each moves the list's end for a copy-on-write list).
  t = clock_type::now();
  for (std::size_t i = 0; i < n; ++i) reg.leave(big, people[i].connection_id);
  const double empty_s = seconds_since(t);

  // Many small rooms.
  room_registry small;
  malloc_trim(0);
  const long small_base = rss_kb();
  std::vector<std::string> ids;
  ids.reserve(pairs);
  t = clock_type::now();
  for (std::size_t i = 0; i < pairs; ++i) ids.push_back(small.create("", "", 0, "{}", false));
  const double create_s = seconds_since(t);
  t = clock_type::now();
  for (std::size_t i = 0; i < pairs; ++i) {
    small.join(ids[i], member(2 * i));
    small.join(ids[i], member(2 * i + 1));
  }
  const double join_s = seconds_since(t);
  malloc_trim(0);
  const long small_filled = rss_kb();
  t = clock_type::now();
  for (std::size_t i = 0; i < pairs; ++i) {
    small.leave(ids[i], member(2 * i).connection_id);
    small.leave(ids[i], member(2 * i + 1).connection_id);
  }
  const double leave_s = seconds_since(t);

  std::printf("{\"members\":%zu,\"fill_s\":%.3f,\"joins_per_s\":%.0f,\"told\":%zu,\"bytes_per_member\":%.0f,"
              "\"fanout_look_us\":%.1f,\"empty_s\":%.3f,\"leaves_per_s\":%.0f,\"walked\":%zu,"
              "\"pairs\":%zu,\"create_per_s\":%.0f,\"pair_joins_per_s\":%.0f,\"pair_leaves_per_s\":%.0f,"
              "\"bytes_per_pair_room\":%.0f}\n",
              n, fill_s, n / fill_s, told, (filled - base) * 1024.0 / n, look_us, empty_s, n / empty_s, walked, pairs,
              pairs / create_s, 2 * pairs / join_s, 2 * pairs / leave_s, (small_filled - small_base) * 1024.0 / pairs);
  return 0;
}
