#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include "room_registry.hpp"

using namespace roomwire;

namespace {

struct fake_member : room_member {
  std::atomic<int> frames{0};
  void deliver(const std::shared_ptr<const std::string>&) { ++frames; }
};

member_info member(const std::string& conn, const std::string& client = "c") {
  member_info m;
  m.connection_id = conn;
  m.client_id = client;
  return m;
}

}  // namespace

TEST(RoomRegistry, CreatesRoomsWithGeneratedIds) {
  room_registry reg;
  auto id = reg.create("General", "chat", 0, "", false);
  EXPECT_TRUE(std::regex_match(id, std::regex("room_[0-9a-f]{32}")));
  auto view = reg.info(id);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->name, "General");
  EXPECT_EQ(view->metadata, "{}");
  EXPECT_EQ(reg.room_count(), 1u);
  EXPECT_EQ(reg.create("x", "", 0, "", false, id), "");  // a given id must be free
}

TEST(RoomRegistry, ListsRoomsInCreationOrder) {
  room_registry reg;
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(reg.create("r" + std::to_string(i), "", 0, "", false));
  std::vector<std::string> listed;
  for (const auto& v : reg.all()) listed.push_back(v.id);
  EXPECT_EQ(listed, ids);
}

TEST(RoomRegistry, JoinsAndLeavesBothWays) {
  room_registry reg;
  auto a = reg.create("a", "", 0, "", false);
  auto b = reg.create("b", "", 0, "", false);
  EXPECT_EQ(reg.join(a, member("c1")), join_result::ok);
  EXPECT_EQ(reg.join(b, member("c1")), join_result::ok);
  EXPECT_EQ(reg.join(a, member("c2")), join_result::ok);
  EXPECT_EQ(reg.join(a, member("c1")), join_result::already_member);
  EXPECT_EQ(reg.join("room_nope", member("c1")), join_result::unknown_room);
  EXPECT_EQ(reg.rooms_of("c1"), (std::vector<std::string>{std::min(a, b), std::max(a, b)}));
  EXPECT_EQ(reg.members(a)->size(), 2u);
  EXPECT_TRUE(reg.is_member(b, "c1"));
  EXPECT_EQ(reg.membership_count(), 3u);

  auto left = reg.leave(a, "c1");
  ASSERT_TRUE(left);
  EXPECT_EQ(left->connection_id, "c1");
  EXPECT_FALSE(reg.leave(a, "c1"));
  EXPECT_FALSE(reg.is_member(a, "c1"));
  EXPECT_EQ(reg.rooms_of("c1"), (std::vector<std::string>{b}));
}

TEST(RoomRegistry, EnforcesMaxConnections) {
  room_registry reg;
  auto id = reg.create("small", "", 2, "", false);
  EXPECT_EQ(reg.join(id, member("c1")), join_result::ok);
  EXPECT_EQ(reg.join(id, member("c2")), join_result::ok);
  EXPECT_EQ(reg.join(id, member("c3")), join_result::full);
  reg.leave(id, "c1");
  EXPECT_EQ(reg.join(id, member("c3")), join_result::ok);
}

TEST(RoomRegistry, LeaveAllCleansEveryLink) {
  room_registry reg;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(reg.create("r", "", 0, "", false));
  for (const auto& id : ids) reg.join(id, member("c1"));
  reg.join(ids[0], member("c2"));
  auto removed = reg.leave_all("c1");
  EXPECT_EQ(removed.size(), 5u);
  EXPECT_TRUE(reg.rooms_of("c1").empty());
  EXPECT_EQ(reg.membership_count(), 1u);
  EXPECT_EQ(reg.member_connection_count(), 1u);
  EXPECT_EQ(reg.room_count(), 5u);  // persistent rooms stay
}

TEST(RoomRegistry, EphemeralAndAutoCreatedRoomsVanishWhenEmpty) {
  room_registry reg;
  EXPECT_EQ(reg.join("topic:1", member("c1"), true), join_result::ok);
  EXPECT_EQ(reg.join("topic:1", member("c2"), true), join_result::ok);
  EXPECT_EQ(reg.room_count(), 1u);
  reg.leave("topic:1", "c1");
  EXPECT_EQ(reg.room_count(), 1u);
  reg.leave_all("c2");
  EXPECT_EQ(reg.room_count(), 0u);
  auto id = reg.create("e", "", 0, "", true);
  reg.join(id, member("c3"));
  reg.leave(id, "c3");
  EXPECT_FALSE(reg.info(id));
}

TEST(RoomRegistry, RemoveEvictsMembers) {
  room_registry reg;
  auto id = reg.create("r", "", 0, "", false);
  reg.join(id, member("c1"));
  reg.join(id, member("c2"));
  std::vector<member_info> evicted;
  EXPECT_TRUE(reg.remove(id, &evicted));
  EXPECT_EQ(evicted.size(), 2u);
  EXPECT_TRUE(reg.rooms_of("c1").empty());
  EXPECT_EQ(reg.membership_count(), 0u);
  EXPECT_FALSE(reg.remove(id));
}

TEST(RoomRegistry, MemberListsAreSnapshots) {
  room_registry reg;
  auto id = reg.create("r", "", 0, "", false);
  reg.join(id, member("c1"));
  member_list before = reg.members(id);
  reg.join(id, member("c2"));
  EXPECT_EQ(before->size(), 1u);  // a fan-out in progress keeps its list
  EXPECT_EQ(reg.members(id)->size(), 2u);
}

TEST(RoomRegistry, SurvivesConcurrentJoinsLeavesAndFanOuts) {
  room_registry reg;
  auto id = reg.create("busy", "", 0, "", false);
  auto sink = std::make_shared<fake_member>();
  std::atomic<bool> stop{false};
  std::thread fan([&] {
    auto frame = std::make_shared<const std::string>("x");
    while (!stop) {
      if (auto list = reg.members(id))
        for (const auto& m : *list)
          if (auto s = m.sink.lock()) std::static_pointer_cast<fake_member>(s)->deliver(frame);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto conn = "t" + std::to_string(t) + "-" + std::to_string(i % 50);
        auto m = member(conn);
        m.sink = sink;
        reg.join(id, m);
        if (i % 3 == 0) reg.leave_all(conn);
        else reg.leave(id, conn);
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  fan.join();
  EXPECT_EQ(reg.membership_count(), 0u);
  EXPECT_EQ(reg.member_connection_count(), 0u);
  EXPECT_EQ(reg.members(id)->size(), 0u);
}

TEST(RoomRegistry, JoinAndLeaveReportTheMembersToTellUnderTheSameLock) {
  // Whoever joins is announced to the members before it, whoever leaves to those after
  // it: with joins racing, each pair of members is announced exactly once.
  room_registry reg;
  std::string id = reg.create("r", "", 0, "", false);
  const int n = 64;
  std::vector<member_list> before(n);
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (int i = t; i < n; i += 4) reg.join(id, member("c" + std::to_string(i)), false, &before[i]);
    });
  }
  for (auto& w : workers) w.join();
  std::set<std::pair<std::string, std::string>> told;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(before[i]);
    for (const auto& m : *before[i]) {
      std::string self = "c" + std::to_string(i);
      auto pair = m.connection_id < self ? std::make_pair(m.connection_id, self) : std::make_pair(self, m.connection_id);
      EXPECT_TRUE(told.insert(pair).second) << pair.first << " and " << pair.second << " told twice";
    }
  }
  EXPECT_EQ(told.size(), static_cast<std::size_t>(n * (n - 1) / 2));
  member_list after;
  ASSERT_TRUE(reg.leave(id, "c0", &after));
  EXPECT_EQ(after->size(), static_cast<std::size_t>(n - 1));
  auto gone = reg.leave_all("c1");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].remaining->size(), static_cast<std::size_t>(n - 2));
}

TEST(RoomRegistry, JoinModesObeyTheirLimits) {
  // normal: every limit; reserved: the cluster counted the room's places already;
  // mirror: another server's member, checked there, auto-creating its room.
  room_registry reg;
  reg.set_limits(1, 8);
  std::string id = reg.create("r", "", 1, "", false);
  EXPECT_EQ(reg.join(id, member("a")), join_result::ok);
  EXPECT_EQ(reg.join(id, member("b")), join_result::full);
  EXPECT_EQ(reg.join(id, member("b"), false, nullptr, join_mode::reserved), join_result::ok);
  EXPECT_EQ(reg.join("other", member("b"), true), join_result::too_many_rooms);
  member_info remote = member("r1");
  remote.node = "n2";
  EXPECT_EQ(reg.join("a-very-long-room-id", remote, false, nullptr, join_mode::mirror), join_result::ok);
  EXPECT_EQ(reg.join(id, remote, false, nullptr, join_mode::mirror), join_result::ok);  // past its max: counted there
  ASSERT_TRUE(reg.info("a-very-long-room-id"));
  EXPECT_TRUE(reg.info("a-very-long-room-id")->ephemeral);
  auto held = reg.members_of_node("n2");
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(reg.members_of_node("").size(), 2u);  // a and b, this server's own
  EXPECT_TRUE(reg.leave("a-very-long-room-id", "r1"));
  EXPECT_FALSE(reg.info("a-very-long-room-id"));  // ephemeral, empty
}

TEST(RoomRegistry, AdoptKeepsAnotherServersRoomAsItIs) {
  room_registry reg;
  room_view v;
  v.id = "lobby";
  v.name = "Lobby";
  v.max_connections = 5;
  v.metadata = R"({"k":1})";
  v.created_at = 1234;
  EXPECT_TRUE(reg.adopt(v));
  EXPECT_FALSE(reg.adopt(v));  // taken
  auto got = reg.info("lobby");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "Lobby");
  EXPECT_EQ(got->max_connections, 5u);
  EXPECT_EQ(got->metadata, R"({"k":1})");
  EXPECT_EQ(got->created_at, 1234);
  ASSERT_TRUE(got->members);
  EXPECT_TRUE(got->members->empty());
}

TEST(MemberSet, AddsAndRemovesAcrossChunksSharingWhatDidNotChange) {
  member_set s;
  std::vector<member_set> snapshots;
  for (int i = 0; i < 200; ++i) {
    s = s.with(member("m" + std::to_string(i)));
    snapshots.push_back(s);
  }
  ASSERT_EQ(s.size(), 200u);
  int i = 0;
  for (const auto& m : s) EXPECT_EQ(m.connection_id, "m" + std::to_string(i++));
  EXPECT_EQ(i, 200);
  // Earlier snapshots are untouched by later joins.
  EXPECT_EQ(snapshots[9].size(), 10u);
  EXPECT_EQ(snapshots[9][9].connection_id, "m9");
  EXPECT_EQ(std::distance(snapshots[63].begin(), snapshots[63].end()), 64);
  // Removing from the middle: the last member takes its place.
  member_set t = s.without(5);
  EXPECT_EQ(t.size(), 199u);
  EXPECT_EQ(t[5].connection_id, "m199");
  EXPECT_EQ(s[5].connection_id, "m5");
  // Down to nothing, from the front.
  for (std::size_t n = t.size(); n > 0; --n) t = t.without(0);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.begin(), t.end());
  member_set built(std::vector<member_info>{member("a"), member("b")});
  EXPECT_EQ(built.size(), 2u);
  EXPECT_EQ(built[1].connection_id, "b");
}

TEST(RoomRegistry, JoinsAndLeavesInAnyOrderKeepTheMembersRightPastAChunk) {
  room_registry reg;
  auto id = reg.create("big", "", 0, "", false);
  std::set<std::string> expected;
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  for (int step = 0; step < 3000; ++step) {
    const std::string conn = "c" + std::to_string(next() % 300);
    if (expected.count(conn)) {
      ASSERT_TRUE(reg.leave(id, conn));
      expected.erase(conn);
    } else {
      ASSERT_EQ(reg.join(id, member(conn)), join_result::ok);
      expected.insert(conn);
    }
    if (!expected.empty()) {
      ASSERT_EQ(reg.join(id, member(*expected.begin())), join_result::already_member);
    }
    if (step % 97 == 0 || expected.size() == 65 || expected.size() == 32) {
      std::set<std::string> got;
      for (const auto& m : *reg.members(id)) got.insert(m.connection_id);
      ASSERT_EQ(got, expected) << "at step " << step;
      for (const auto& c : expected) ASSERT_TRUE(reg.is_member(id, c));
    }
  }
  EXPECT_FALSE(reg.leave(id, "nobody"));
}
