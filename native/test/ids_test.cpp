#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "ids.hpp"

using namespace roomwire;

TEST(Ids, ConnectionIdsAreUuidV4AndUnique) {
  std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_connection_id();
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Ids, ClientIdsHaveThePrefixAndEightHexDigits) {
  std::regex re("client_[0-9a-f]{8}");
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(std::regex_match(make_client_id(), re));
}

TEST(Ids, Rfc3339FormatsUtcWithMilliseconds) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(1767225600123.0), "2026-01-01T00:00:00.123Z");
}
