#include "history.hpp"

#include <gtest/gtest.h>

using namespace roomwire;

namespace {

std::shared_ptr<const std::string> frame(std::uint64_t n) {
  return std::make_shared<const std::string>("m" + std::to_string(n));
}

void fill(room_history& h, std::uint64_t count, double at = 0) {
  auto lock = h.lock();
  for (std::uint64_t i = 0; i < count; ++i) h.append(frame(h.next_offset()), at);
}

std::vector<std::string> texts(const history_replay& r) {
  std::vector<std::string> out;
  for (const auto& f : r.frames) out.push_back(*f);
  return out;
}

}  // namespace

TEST(History, OffsetsStartAtOneAndReplayWhatFollowsThePosition) {
  room_history h({10, 0}, "e1");
  EXPECT_EQ(h.next_offset(), 1u);
  fill(h, 5);
  auto lock = h.lock();
  auto r = h.since(history_position{2, "e1"}, 0);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.offset, 5u);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"m3", "m4", "m5"}));
  auto none = h.since(history_position{5, "e1"}, 0);
  EXPECT_TRUE(none.recovered);
  EXPECT_TRUE(none.frames.empty());
  auto from_start = h.since(history_position{0, "e1"}, 0);
  EXPECT_TRUE(from_start.recovered);
  EXPECT_EQ(from_start.frames.size(), 5u);
}

TEST(History, AnotherEpochOrAFutureOffsetIsNotRecovered) {
  room_history h({10, 0}, "e1");
  fill(h, 3);
  auto lock = h.lock();
  EXPECT_FALSE(h.since(history_position{1, "other"}, 0).recovered);
  EXPECT_FALSE(h.since(history_position{4, "e1"}, 0).recovered);
  auto none = h.since(std::nullopt, 0);
  EXPECT_FALSE(none.recovered);
  EXPECT_EQ(none.offset, 3u);
  EXPECT_TRUE(none.frames.empty());
}

TEST(History, SizeBoundPushesOutTheOldestAndAGapIsNotRecovered) {
  room_history h({3, 0}, "e");
  fill(h, 10);
  auto lock = h.lock();
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.bytes(), 2u + 2u + 3u);  // m8 m9 m10
  EXPECT_FALSE(h.since(history_position{6, "e"}, 0).recovered);  // 7 is gone
  auto r = h.since(history_position{7, "e"}, 0);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"m8", "m9", "m10"}));
}

TEST(History, ExpiredMessagesAreForgotten) {
  room_history h({100, 1000}, "e");
  fill(h, 2, 0);
  fill(h, 2, 1500);
  auto lock = h.lock();
  auto r = h.since(history_position{2, "e"}, 1600);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"m3", "m4"}));
  EXPECT_FALSE(h.since(history_position{1, "e"}, 1600).recovered);
  // Everything expired: a client that had it all is fine, one that missed one is not.
  EXPECT_TRUE(h.since(history_position{4, "e"}, 5000).recovered);
  EXPECT_FALSE(h.since(history_position{3, "e"}, 5000).recovered);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.bytes(), 0u);
}

TEST(History, EpochsAreRandom) {
  EXPECT_EQ(room_history::new_epoch().size(), 16u);
  EXPECT_NE(room_history::new_epoch(), room_history::new_epoch());
}

namespace {
std::vector<room_history::stored> stored_range(std::uint64_t from, std::uint64_t to) {
  std::vector<room_history::stored> out;
  for (std::uint64_t n = from; n <= to; ++n) out.push_back({n, 0, frame(n)});
  return out;
}
}  // namespace

TEST(History, AppendAtDropsDuplicatesAndStartsOverAfterAGapOrANewEpoch) {
  room_history h({100, 0}, "e");
  auto lock = h.lock();
  EXPECT_TRUE(h.append_at("e", 1, frame(1), 0));
  EXPECT_FALSE(h.append_at("e", 1, frame(1), 0));
  EXPECT_TRUE(h.append_at("e", 2, frame(2), 0));
  EXPECT_TRUE(h.append_at("e", 5, frame(5), 0));  // 3 and 4 never came
  EXPECT_FALSE(h.since(history_position{2, "e"}, 0).recovered);
  EXPECT_TRUE(h.since(history_position{4, "e"}, 0).recovered);
  EXPECT_TRUE(h.append_at("f", 9, frame(9), 0));
  EXPECT_EQ(h.epoch(), "f");
  EXPECT_EQ(h.last_offset(), 9u);
  EXPECT_FALSE(h.since(history_position{5, "e"}, 0).recovered);
  EXPECT_TRUE(h.since(history_position{8, "f"}, 0).recovered);
}

TEST(History, LoadTakesAHistoryAheadAndReturnsWhatWasNotHadYet) {
  room_history h({100, 0}, "local");
  auto lock = h.lock();
  // Another epoch: taken, nothing to deliver (it was never this history's).
  EXPECT_TRUE(h.load("redis", 4, stored_range(1, 4), 0).empty());
  EXPECT_EQ(h.epoch(), "redis");
  EXPECT_EQ(h.last_offset(), 4u);
  EXPECT_EQ(h.size(), 4u);
  // The same epoch, ahead: the messages past 4 are returned, to be delivered.
  auto missed = h.load("redis", 7, stored_range(1, 7), 0);
  ASSERT_EQ(missed.size(), 3u);
  EXPECT_EQ(*missed[0], "m5");
  EXPECT_EQ(*missed[2], "m7");
  auto r = h.since(history_position{0, "redis"}, 0);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.frames.size(), 7u);
  // Not ahead: nothing changes but older messages filling in before the oldest.
  h.reset("redis", 7);
  EXPECT_TRUE(h.append_at("redis", 8, frame(8), 0));
  EXPECT_TRUE(h.load("redis", 8, stored_range(3, 8), 0).empty());
  EXPECT_EQ(h.size(), 6u);
  EXPECT_TRUE(h.since(history_position{2, "redis"}, 0).recovered);
  EXPECT_FALSE(h.since(history_position{1, "redis"}, 0).recovered);
}

TEST(History, LoadKeepsOnlyARunThatReachesTheLastOffset) {
  room_history h({100, 0}, "e");
  auto lock = h.lock();
  auto kept = stored_range(1, 3);
  auto tail = stored_range(6, 8);
  kept.insert(kept.end(), tail.begin(), tail.end());
  h.load("x", 8, kept, 0);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_TRUE(h.since(history_position{5, "x"}, 0).recovered);
  EXPECT_FALSE(h.since(history_position{3, "x"}, 0).recovered);
  h.load("y", 9, stored_range(1, 5), 0);  // ends before the last: nothing recoverable
  EXPECT_EQ(h.size(), 0u);
  EXPECT_FALSE(h.since(history_position{4, "y"}, 0).recovered);
  EXPECT_TRUE(h.since(history_position{9, "y"}, 0).recovered);
}
