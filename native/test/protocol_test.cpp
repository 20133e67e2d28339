#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <optional>
#include <vector>

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

// What the frame's type is by a full DOM parse: the string value of the top-level "type"
// member as json::object keeps it, or nothing for a frame that is not an object with one.
static std::optional<std::string> dom_type(const std::string& text) {
  boost::system::error_code ec;
  json::value v = protocol::parse_json(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto it = v.as_object().find("type");
  if (it == v.as_object().end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

TEST(Protocol, TypeScanAgreesWithTheDomParse) {
  const std::string frames[] = {
      R"({"type":"echo","data":"x"})",
      R"({"data":{"type":"inner"},"type":"outer"})",
      R"({"data":{"type":"inner"}})",
      R"({"type":"first","type":"second"})",
      R"({"type":"first","type":5})",
      R"({"type":5,"type":"later"})",
      R"({"type":["a"],"x":"y"})",
      R"({"type":{"a":"b"},"x":"y"})",
      R"({"ty\u0070e":"escaped key"})",
      R"({"type":"esc\"aped \u00e9 \ud83d\ude00"})",
      R"({"type":"lone \ud800"})",
      R"({"list":[{"type":"no"}],"type":"yes"})",
      R"({"type":"join_room","room_id":"r"})",
      R"({"type":"room_message","room_id":"r","message":"m"})",
      R"({"type":""})",
      R"([{"type":"x"}])",
      R"({"type":"x"} trailing)",
      R"({"type":"x",})",
  };
  for (const auto& text : frames) {
    std::string err;
    auto f = protocol::parse_client_frame(text, err);
    const auto expected = dom_type(text);
    ASSERT_EQ(f.has_value(), expected.has_value()) << text << ": " << err;
    if (f) {
      EXPECT_EQ(f->type, *expected) << text;
    }
  }
}

TEST(Protocol, MessageAckIsTheSerialisedObject) {
  std::string every_byte;  // each byte value once, in runs with text between
  for (int c = 0; c < 256; ++c) every_byte.append("ab").push_back(static_cast<char>(c));
  const std::string texts[] = {"", "plain", "quote \" and backslash \\", "controls \x01\t\n\x1f",
                               "unicode \xc3\xa9 \xf0\x9f\x98\x80", std::string(5000, 'x') + "\"",
                               R"({"type":"echo","data":"<b>/</b>"})", "\"\"\\", every_byte};
  std::vector<std::string> all(std::begin(texts), std::end(texts));
  for (std::size_t at = 0; at < 40; ++at) {  // each place in and around a 16-byte step
    for (const char special : {'"', '\\', '\x1f', '\x7f', '\x80'}) {
      std::string text(40, 'y');
      text[at] = special;
      all.push_back(text);
    }
  }
  for (const auto& text : all) {
    json::object o;
    o["type"] = "message_ack";
    o["message"] = text;
    o["timestamp"] = "2026-01-01T00:00:00.000Z";
    EXPECT_EQ(protocol::message_ack(text, "2026-01-01T00:00:00.000Z"), json::serialize(o)) << text;
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

TEST(Protocol, BuildsRoomMessages) {
  auto ts = "2026-01-01T00:00:00.000Z";
  auto joined = json::parse(protocol::room_joined("r1", ts)).as_object();
  EXPECT_EQ(joined.at("type").as_string(), "room_joined");
  EXPECT_EQ(joined.at("room_id").as_string(), "r1");
  auto from = json::parse(protocol::room_message("r1", "hi \"there\"", "alice", ts)).as_object();
  EXPECT_EQ(from.at("message").as_string(), "hi \"there\"");
  EXPECT_EQ(from.at("from_client_id").as_string(), "alice");
  auto app = json::parse(protocol::room_message("r1", "news", "", ts)).as_object();
  EXPECT_FALSE(app.contains("from_client_id"));
  auto dm = json::parse(protocol::direct_message("psst", "bob", ts)).as_object();
  EXPECT_EQ(dm.at("type").as_string(), "direct_message");
  EXPECT_EQ(dm.at("from_client_id").as_string(), "bob");
}

TEST(Protocol, BuildsPresence) {
  member_info m;
  m.connection_id = "c1";
  m.client_id = "alice";
  m.user_info = R"({"name":"Alice"})";
  m.joined_at = 0;
  auto p = json::parse(protocol::presence("join", "r1", m, "t")).as_object();
  EXPECT_EQ(p.at("event").as_string(), "join");
  EXPECT_EQ(p.at("user_info").at("name").as_string(), "Alice");
  member_info anon = m;
  anon.user_info = "null";
  auto state = json::parse(protocol::presence_state("r1", member_set({m, anon}), "t")).as_object();
  const auto& members = state.at("members").as_array();
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].at("joined_at").as_string(), "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(members[1].at("user_info").is_null());
}

TEST(Protocol, ExtractsMessageText) {
  std::string out;
  EXPECT_TRUE(protocol::message_text(json::parse(R"({"message":"a"})").as_object(), out));
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(protocol::message_text(json::parse(R"({"data":"b"})").as_object(), out));
  EXPECT_EQ(out, "b");
  EXPECT_TRUE(protocol::message_text(json::parse(R"({"data":{"message":"c"}})").as_object(), out));
  EXPECT_EQ(out, "c");
  EXPECT_FALSE(protocol::message_text(json::parse(R"({"data":{"x":1}})").as_object(), out));
  EXPECT_FALSE(protocol::message_text(json::parse(R"({"message":5})").as_object(), out));
  EXPECT_FALSE(protocol::message_text(json::parse(R"({})").as_object(), out));
}

TEST(Protocol, DescribesRooms) {
  room_view r;
  r.id = "room_1";
  r.name = "General";
  r.max_connections = 0;
  r.metadata = R"({"topic":"all"})";
  member_info m;
  m.connection_id = "c1";
  r.members = std::make_shared<const member_set>(std::vector<member_info>{m});
  auto o = protocol::room_object(r);
  EXPECT_TRUE(o.at("maxConnections").is_null());
  EXPECT_EQ(o.at("connectionsCount").as_uint64(), 1u);
  EXPECT_EQ(o.at("connections").as_array()[0].as_string(), "c1");
  EXPECT_EQ(o.at("metadata").at("topic").as_string(), "all");
}

TEST(Protocol, AcceptsLoneSurrogateEscapesAsJavaScriptWritesThem) {
  // JSON.stringify writes a lone surrogate (half an emoji) as an escape: it is taken, as
  // U+FFFD, the character a WebSocket client's own UTF-8 encoding would have sent.
  std::string err;
  auto text_of = [&](const std::string& escaped) {
    auto f = protocol::parse_client_frame(R"({"type":"join_room","s":")" + escaped + R"("})", err);
    return f ? std::string(f->body.at("s").as_string()) : std::string("<rejected: " + err + ">");
  };
  EXPECT_EQ(text_of(R"(a\ud800b)"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(text_of(R"(\udc00)"), "\xEF\xBF\xBD");
  EXPECT_EQ(text_of(R"(\uD83D)"), "\xEF\xBF\xBD");
  EXPECT_EQ(text_of(R"(\ud83d\ud83d)"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(text_of(R"(\ud83d\ude00)"), "\xF0\x9F\x98\x80");  // a pair is one character
  EXPECT_EQ(text_of(R"(\\ud800)"), "\\ud800");                // an escaped backslash, then text
  EXPECT_EQ(text_of(R"(\\\ud800)"), "\\\xEF\xBF\xBD");
  EXPECT_EQ(text_of(R"(\u00e9)"), "\xC3\xA9");
  EXPECT_FALSE(protocol::parse_client_frame(R"({"type":"m","s":"\ud8"})", err));  // still malformed
  EXPECT_FALSE(protocol::parse_client_frame(R"({"type":"join_room","s":"\ud8"})", err));
}

TEST(Protocol, TakesNestingUpToTheDocumentedDepth) {
  std::string err;
  auto nested = [](std::size_t depth) {  // the object itself is one level
    return R"({"type":"x","d":)" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(protocol::parse_client_frame(nested(protocol::max_json_depth), err)) << err;
  EXPECT_FALSE(protocol::parse_client_frame(nested(protocol::max_json_depth + 1), err));
  EXPECT_EQ(protocol::max_json_depth, 64u);
}
