#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "protocol.hpp"

using namespace roomwire;
namespace json = boost::json;

TEST(Protocol, ParsesObjectsWithStringType) {
  std::string err;
  auto f = protocol::parse_client_frame(R"({"type":"join_room","room_id":"r"})", err);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "join_room");
  EXPECT_EQ(f->body.at("room_id").as_string(), "r");
}

TEST(Protocol, RejectsWhatIsNotAnObjectWithType) {
  const char* bad[] = {"", "not json", "[1,2]", "42", "\"s\"", "{}", R"({"type":5})",
                       R"({"type":null})", R"({"type":"x")", "null"};
  for (const char* text : bad) {
    std::string err;
    EXPECT_FALSE(protocol::parse_client_frame(text, err)) << text;
    EXPECT_FALSE(err.empty()) << text;
  }
}

TEST(Protocol, RejectsDeepNesting) {
  std::string deep = R"({"type":"x","d":)" + std::string(200, '[') + std::string(200, ']') + "}";
  std::string err;
  EXPECT_FALSE(protocol::parse_client_frame(deep, err));
}

TEST(Protocol, BuildsServerMessages) {
  auto ts = "2026-01-01T00:00:00.000Z";
  auto w = json::parse(protocol::welcome("c-1", "client_1", "/chat", ts)).as_object();
  EXPECT_EQ(w.at("type").as_string(), "welcome");
  EXPECT_EQ(w.at("connection_id").as_string(), "c-1");
  EXPECT_EQ(w.at("client_id").as_string(), "client_1");
  EXPECT_EQ(w.at("path").as_string(), "/chat");
  EXPECT_EQ(w.at("timestamp").as_string(), ts);

  auto a = json::parse(protocol::message_ack("{\"type\":\"x\"}", ts)).as_object();
  EXPECT_EQ(a.at("type").as_string(), "message_ack");
  EXPECT_EQ(a.at("message").as_string(), "{\"type\":\"x\"}");

  auto b = json::parse(protocol::message_blocked("hi", "no \"quotes\"", ts)).as_object();
  EXPECT_EQ(b.at("originalMessage").as_string(), "hi");
  EXPECT_EQ(b.at("reason").as_string(), "no \"quotes\"");

  auto e = json::parse(protocol::error("invalid_format", "bad", ts)).as_object();
  EXPECT_EQ(e.at("error_type").as_string(), "invalid_format");

  auto p1 = json::parse(protocol::pong(ts, -1)).as_object();
  EXPECT_TRUE(p1.at("latency").is_null());
  auto p2 = json::parse(protocol::pong(ts, 12)).as_object();
  EXPECT_EQ(p2.at("latency").to_number<double>(), 12);
}

TEST(Protocol, RecognisesJsonObjects) {
  EXPECT_TRUE(protocol::is_json_object("{\"a\":1}"));
  EXPECT_FALSE(protocol::is_json_object("[1]"));
  EXPECT_FALSE(protocol::is_json_object("{"));
}
