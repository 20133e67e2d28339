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
