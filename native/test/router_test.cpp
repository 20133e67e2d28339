#include <gtest/gtest.h>

#include <stdexcept>

#include "router.hpp"

using namespace roomwire;

namespace {
std::vector<std::string> segs(std::string_view target) {
  std::string path;
  std::vector<std::string> s;
  string_pairs q;
  EXPECT_TRUE(split_target(target, path, s, q));
  return s;
}
}  // namespace

TEST(RoutePattern, MatchesLiteralSegments) {
  route_pattern p("/chat");
  string_pairs params;
  EXPECT_TRUE(p.match(segs("/chat"), params));
  EXPECT_TRUE(p.match(segs("/chat/"), params));
  EXPECT_FALSE(p.match(segs("/chats"), params));
  EXPECT_FALSE(p.match(segs("/chat/x"), params));
  EXPECT_TRUE(params.empty());
}

TEST(RoutePattern, CapturesParameters) {
  route_pattern p("/rooms/{roomId}/members/{member}");
  string_pairs params;
  ASSERT_TRUE(p.match(segs("/rooms/r1/members/alice%20b"), params));
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"roomId", "r1"}));
  EXPECT_EQ(params[1], (std::pair<std::string, std::string>{"member", "alice b"}));
}

TEST(RoutePattern, FailedMatchLeavesParamsAlone) {
  route_pattern p("/a/{x}/c");
  string_pairs params;
  EXPECT_FALSE(p.match(segs("/a/1/d"), params));
  EXPECT_TRUE(params.empty());
}

TEST(RoutePattern, RootMatchesOnlyRoot) {
  route_pattern p("/");
  string_pairs params;
  EXPECT_TRUE(p.match(segs("/"), params));
  EXPECT_FALSE(p.match(segs("/x"), params));
}

TEST(RoutePattern, RejectsBadPatterns) {
  EXPECT_THROW(route_pattern("chat"), std::invalid_argument);
  EXPECT_THROW(route_pattern(""), std::invalid_argument);
  EXPECT_THROW(route_pattern("/a/{}"), std::invalid_argument);
  EXPECT_THROW(route_pattern("/a/{x"), std::invalid_argument);
}

TEST(SplitTarget, DecodesQuery) {
  std::string path;
  std::vector<std::string> s;
  string_pairs q;
  ASSERT_TRUE(split_target("/chat?clientId=bob&token=a%2Bb&flag", path, s, q));
  EXPECT_EQ(path, "/chat");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].second, "bob");
  EXPECT_EQ(q[1].second, "a+b");
  EXPECT_EQ(q[2].first, "flag");
  EXPECT_EQ(q[2].second, "");
}

TEST(SplitTarget, RejectsInvalidTargets) {
  std::string path;
  std::vector<std::string> s;
  string_pairs q;
  EXPECT_FALSE(split_target("http//x", path, s, q));
  EXPECT_FALSE(split_target("/a b", path, s, q));
  EXPECT_FALSE(split_target("/%zz", path, s, q));
}
