// The hooks compiler and machine against a recording host: operations, templates,
// expressions and filters, the errors' key paths, the limits, and a join that finishes
// later.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hooks/hooks.hpp"

using namespace roomwire;
using namespace roomwire::hooks;

namespace {

struct recording_host : host {
  std::map<std::string, std::string> params, queries;
  std::vector<std::string> sent;
  std::vector<std::pair<std::string, std::string>> broadcasts;  // channel ("*": the route), text
  std::vector<std::string> joined, left, logs;
  bool async_join = false;
  std::function<void(std::string)> pending_join;

  std::string_view connection_id() const override { return "c1"; }
  std::string_view client_id() const override { return "u1"; }
  std::string_view path() const override { return "/ws/chat/lobby"; }
  const std::string* param(std::string_view name) const override {
    auto it = params.find(std::string(name));
    return it == params.end() ? nullptr : &it->second;
  }
  const std::string* query(std::string_view name) const override {
    auto it = queries.find(std::string(name));
    return it == queries.end() ? nullptr : &it->second;
  }
  void send(std::string text) override { sent.push_back(std::move(text)); }
  void broadcast(const std::string* channel, std::string text) override {
    broadcasts.emplace_back(channel ? *channel : "*", std::move(text));
  }
  void join(const std::string& channel, std::function<void(std::string)> done) override {
    joined.push_back(channel);
    if (async_join) pending_join = std::move(done);
    else done({});
  }
  std::string leave(const std::string& channel) override {
    left.push_back(channel);
    return {};
  }
  void log(log_level, std::string text) override { logs.push_back(std::move(text)); }
};

std::shared_ptr<const program> compiled(const std::string& json, limits lim = {}) { return compile(json, lim); }

/// The key path and message of a program that must not compile.
std::string error_of(const std::string& json, limits lim = {}) {
  try {
    compile(json, lim);
  } catch (const compile_error& e) {
    return compile_error::path_text(e.where()) + " | " + e.what();
  }
  return "(compiled)";
}

/// Sends `message` through a one-operation on_message program that sends `tmpl`.
std::string render(const std::string& tmpl_text, const std::string& message = "hello world") {
  std::string escaped;
  for (char c : tmpl_text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  auto prog = compiled(R"({"on_message":[{"WsOp":{"command":"send","message":")" + escaped + R"("}}]})");
  recording_host h;
  h.params["room"] = "lobby";
  h.queries["name"] = "ann";
  machine m(prog, h);
  m.run(hook::on_message, message);
  if (!h.logs.empty()) return "error: " + h.logs.back();
  return h.sent.empty() ? "(nothing)" : h.sent.back();
}

}  // namespace

TEST(Hooks, EchoAndNames) {
  EXPECT_EQ(render("Echo: {{ message }}"), "Echo: hello world");
  EXPECT_EQ(render("{{connection_id}}/{{ client_id }} on {{ path }}"), "c1/u1 on /ws/chat/lobby");
  EXPECT_EQ(render("{{ params.room }} {{ query.name }} [{{ query.missing }}]"), "lobby ann []");
  EXPECT_EQ(render("no template at all"), "no template at all");
}

TEST(Hooks, ExpressionsAndFilters) {
  EXPECT_EQ(render("{{ message | contains('world') }}"), "true");
  EXPECT_EQ(render("{{ message | startsWith('hello') }} {{ message | endsWith('x') }}"), "true false");
  EXPECT_EQ(render("{{ message | split(':') | last }}", "subscribe:news"), "news");
  EXPECT_EQ(render("{{ message | split(':') | first }}", "subscribe:news"), "subscribe");
  EXPECT_EQ(render("{{ message | split(':') | length }}", "a:b:c"), "3");
  EXPECT_EQ(render("{{ message | length }}", "héllo"), "5");
  EXPECT_EQ(render("{{ message | upper }}|{{ '  x ' | trim }}|{{ 'AbC' | lower }}"), "HELLO WORLD|x|abc");
  EXPECT_EQ(render("{{ message | split(' ') | join('+') }}"), "hello+world");
  EXPECT_EQ(render("{\"text\":{{ message | json }}}", "say \"hi\"\n"), "{\"text\":\"say \\\"hi\\\"\\n\"}");
  EXPECT_EQ(render("{{ query.nobody | default('guest') }}"), "guest");
  EXPECT_EQ(render("{{ message == 'score' }} {{ message != 'score' }}", "score"), "true false");
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 % 4 }} {{ 1 / 4 }} {{ -2 + 1 }}"), "7 9 3 0.25 -1");
  EXPECT_EQ(render("{{ '0' + 1 }} {{ 'a' + 1 }} {{ '1' + '2' }}"), "1 a1 12");
  EXPECT_EQ(render("{{ message | length > 3 }} {{ 10 > 9 }} {{ '10' > '9' }} {{ 'b' > 'a' }}"), "true true true true");
  EXPECT_EQ(render("{{ true and not false }} {{ false || null }} {{ !(1 == 1) }}"), "true false false");
}

TEST(Hooks, RuntimeErrorsStopTheRunAndAreLogged) {
  EXPECT_EQ(render("{{ message - 1 }}"), "error: hook on_message on /ws/chat/lobby stopped at on_message[0].WsOp: '-' needs numbers");
  EXPECT_EQ(render("{{ 1 / 0 }}"), "error: hook on_message on /ws/chat/lobby stopped at on_message[0].WsOp: '/' by zero");
  EXPECT_NE(render("{{ message | split('') }}").find("separator"), std::string::npos);
}

TEST(Hooks, CompileErrorsNameTheKey) {
  EXPECT_EQ(error_of(R"({"on_mesage":[]})"), "on_mesage | on_mesage: unknown hook (hooks are on_connect, on_message and on_disconnect)");
  EXPECT_EQ(error_of(R"({"on_message":{}})"), "on_message | on_message: a list of operations");
  EXPECT_EQ(error_of(R"({"on_message":[{"SqlOp":{}}]})"),
            "on_message[0].SqlOp | on_message[0].SqlOp: unknown operation (hooks run WsOp, SetVar, If, Log and Return)");
  EXPECT_EQ(error_of(R"({"on_message":[{"WsOp":{"command":"shout","message":"x"}}]})"),
            "on_message[0].WsOp.command | on_message[0].WsOp.command: 'shout' is not a command (send, broadcast, join, leave)");
  EXPECT_EQ(error_of(R"({"on_message":[{"WsOp":{"command":"send"}}]})"), "on_message[0].WsOp | on_message[0].WsOp: needs 'message'");
  EXPECT_EQ(error_of(R"({"on_message":[{"WsOp":{"command":"send","message":"{{ mesage }}"}}]})"),
            "on_message[0].WsOp.message | on_message[0].WsOp.message: unknown name 'mesage' (not a built-in name, and no SetVar "
            "sets it) in '{{ mesage }}'");
  EXPECT_EQ(error_of(R"({"on_message":[{"If":{"condition":"message |","then":[]}}]})"),
            "on_message[0].If.condition | on_message[0].If.condition: expected a filter name after '|' at column 10 in '{{message |}}'");
  EXPECT_NE(error_of(R"({"on_message":[{"If":{"condition":"true","then":[{"WsOp":{"command":"send","message":"{{ a | nope }}"}}]}}]})")
                .find("on_message[0].If.then[0].WsOp.message"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"on_connect":[{"Log":{"message":"{{ message | split(1, 2, 3) }}"}}]})").find("takes 1 to 2 arguments, given 3"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"on_connect":[{"SetVar":{"name":"message","value":"x"}}]})").find("built-in"), std::string::npos);
  EXPECT_NE(error_of(R"({"on_connect":[{"Log":{"message":"{{ open"}}]})").find("is not closed"), std::string::npos);
  EXPECT_NE(error_of(R"({"on_connect":[{"Log":{"message":"x","level":"loud"}}]})").find("Log.level"), std::string::npos);
  EXPECT_NE(error_of(R"({"on_connect":[{"WsOp":{"command":"join"}}]})").find("needs 'channel'"), std::string::npos);
  EXPECT_NE(error_of(R"({"on_connect":[{"WsOp":{"command":"send","message":"x","to":"y"}}]})").find("WsOp.to"),
            std::string::npos);
  EXPECT_THROW(compile("{not json", {}), std::invalid_argument);
}

TEST(Hooks, VariablesAcrossHooksAndTheGameCounter) {
  auto prog = compiled(R"({
    "on_connect":[{"SetVar":{"name":"player_id","value":"{{ connection_id }}"}},
                  {"SetVar":{"name":"score","value":"0"}},
                  {"WsOp":{"command":"send","message":"Game started! Player ID: {{ player_id }}"}}],
    "on_message":[{"If":{"condition":"{{ message == 'score' }}","then":[
                    {"SetVar":{"name":"score","value":"{{ score + 1 }}"}},
                    {"WsOp":{"command":"send","message":"Score: {{ score }}"}},
                    {"WsOp":{"command":"broadcast","message":"{{ player_id }} scored! Total: {{ score }}","channel":"game"}}]}}]})");
  recording_host h;
  machine m(prog, h);
  m.run(hook::on_connect);
  m.run(hook::on_message, "score");
  m.run(hook::on_message, "miss");
  m.run(hook::on_message, "score");
  ASSERT_EQ(h.sent.size(), 3u);
  EXPECT_EQ(h.sent[0], "Game started! Player ID: c1");
  EXPECT_EQ(h.sent[1], "Score: 1");
  EXPECT_EQ(h.sent[2], "Score: 2");
  ASSERT_EQ(h.broadcasts.size(), 2u);
  EXPECT_EQ(h.broadcasts[1], std::make_pair(std::string("game"), std::string("c1 scored! Total: 2")));
  EXPECT_EQ(m.variable("score")->n, 2);
}

TEST(Hooks, ReturnSendsAndStops) {
  auto prog = compiled(R"({"on_connect":[{"Return":{"value":"Welcome {{ connection_id }}"}},{"WsOp":{"command":"send","message":"never"}}],
                           "on_message":[{"If":{"condition":"message | length > 5","then":[{"Return":{"value":"Message too long"}}]}},
                                         {"Return":null},{"Log":{"message":"never"}}]})");
  recording_host h;
  machine m(prog, h);
  m.run(hook::on_connect);
  m.run(hook::on_message, "far too long");
  m.run(hook::on_message, "ok");
  EXPECT_EQ(h.sent, (std::vector<std::string>{"Welcome c1", "Message too long"}));
  EXPECT_TRUE(h.logs.empty());
}

TEST(Hooks, ChannelsAndTheDisconnectHook) {
  auto prog = compiled(R"({
    "on_connect":[{"SetVar":{"name":"room","value":"{{ params.room }}"}},{"WsOp":{"command":"join","channel":"{{ room }}"}},
                  {"WsOp":{"command":"broadcast","message":"{{ connection_id }} joined","channel":"{{ room }}"}}],
    "on_message":[{"If":{"condition":"message == '/leave'","then":[{"WsOp":{"command":"leave","channel":"{{ room }}"}}],
                         "else":[{"WsOp":{"command":"broadcast","message":"{{ message }}"}}]}}],
    "on_disconnect":[{"Log":{"message":"{{ connection_id }} left with {{ code }} {{ reason }}"}}]})");
  recording_host h;
  h.params["room"] = "lobby";
  machine m(prog, h);
  m.run(hook::on_connect);
  m.run(hook::on_message, "hi all");
  m.run(hook::on_message, "/leave");
  m.run(hook::on_disconnect, {}, 1000, "bye");
  EXPECT_EQ(h.joined, std::vector<std::string>{"lobby"});
  EXPECT_EQ(h.left, std::vector<std::string>{"lobby"});
  ASSERT_EQ(h.broadcasts.size(), 2u);
  EXPECT_EQ(h.broadcasts[0], std::make_pair(std::string("lobby"), std::string("c1 joined")));
  EXPECT_EQ(h.broadcasts[1], std::make_pair(std::string("*"), std::string("hi all")));
  EXPECT_EQ(h.logs, std::vector<std::string>{"c1 left with 1000 bye"});
}

TEST(Hooks, AJoinThatFinishesLaterHoldsTheRest) {
  auto prog = compiled(R"({"on_connect":[{"WsOp":{"command":"join","channel":"a"}},{"WsOp":{"command":"send","message":"in"}}],
                           "on_disconnect":[{"Log":{"message":"gone"}}]})");
  recording_host h;
  h.async_join = true;
  machine m(prog, h);
  m.run(hook::on_connect);
  EXPECT_TRUE(m.paused());
  EXPECT_TRUE(h.sent.empty());
  h.pending_join({});
  EXPECT_FALSE(m.paused());
  EXPECT_EQ(h.sent, std::vector<std::string>{"in"});

  // A run abandoned by the close: the late completion does nothing.
  recording_host h2;
  h2.async_join = true;
  machine m2(prog, h2);
  m2.run(hook::on_connect);
  m2.run(hook::on_disconnect, {}, 1006, "");
  h2.pending_join({});
  EXPECT_TRUE(h2.sent.empty());
  EXPECT_EQ(h2.logs, std::vector<std::string>{"gone"});
}

TEST(Hooks, Limits) {
  limits lim;
  lim.max_output = 16;
  auto prog = compiled(R"({"on_message":[{"WsOp":{"command":"send","message":"Echo: {{ message }}"}}]})", lim);
  recording_host h;
  machine m(prog, h);
  m.run(hook::on_message, "0123456789");
  m.run(hook::on_message, "01234567890");
  EXPECT_EQ(h.sent, std::vector<std::string>{"Echo: 0123456789"});
  ASSERT_EQ(h.logs.size(), 1u);
  EXPECT_NE(h.logs[0].find("over maxOutput (16)"), std::string::npos);
  EXPECT_EQ(m.failures(), 1u);

  limits steps;
  steps.max_steps = 50;
  auto split = compiled(R"({"on_message":[{"WsOp":{"command":"send","message":"{{ message | split(',') | length }}"}}]})", steps);
  recording_host hs;
  machine ms(split, hs);
  ms.run(hook::on_message, "a,b,c");
  ms.run(hook::on_message, std::string(100, ','));
  EXPECT_EQ(hs.sent, std::vector<std::string>{"3"});
  ASSERT_EQ(hs.logs.size(), 1u);
  EXPECT_NE(hs.logs[0].find("maxSteps 50"), std::string::npos);

  limits vars;
  vars.max_variables = 1;
  EXPECT_NE(error_of(R"({"on_connect":[{"SetVar":{"name":"a","value":"1"}},{"SetVar":{"name":"b","value":"2"}}]})", vars)
                .find("maxVariables is 1"),
            std::string::npos);

  limits bytes;
  bytes.max_variable_bytes = 8;
  auto keep = compiled(R"({"on_message":[{"SetVar":{"name":"last","value":"{{ message }}"}},
                                          {"WsOp":{"command":"send","message":"kept {{ last }}"}}]})", bytes);
  recording_host hb;
  machine mb(keep, hb);
  mb.run(hook::on_message, "12345678");
  mb.run(hook::on_message, "123456789");
  mb.run(hook::on_message, "short");
  EXPECT_EQ(hb.sent, (std::vector<std::string>{"kept 12345678", "kept short"}));
  EXPECT_NE(hb.logs.at(0).find("maxVariableBytes (8)"), std::string::npos);
}

TEST(Hooks, SplitWithACountAndAt) {
  EXPECT_EQ(render("{{ message | split(':', 3) | at(2) }}", "publish:news:at 10:30"), "at 10:30");
  EXPECT_EQ(render("{{ message | split(':', 3) | at(1) }}|{{ message | split(':') | at(-1) }}", "publish:news:x:y"), "news|y");
  EXPECT_EQ(render("[{{ message | split(':') | at(9) }}]", "a:b"), "[]");
  EXPECT_EQ(render("{{ message | split(':', 1) | length }}", "a:b:c"), "1");
  EXPECT_NE(render("{{ message | split(':', 0) }}", "a:b").find("count of parts"), std::string::npos);
}

TEST(Hooks, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "{{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}";
  EXPECT_NE(error_of(R"({"on_connect":[{"Log":{"message":")" + deep + R"("}}]})").find("nests deeper than 64"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  EXPECT_NE(error_of(R"({"on_connect":[{"If":{"condition":")" + nots + R"(true","then":[]}}]})").find("nests deeper"), std::string::npos);
  EXPECT_EQ(render("{{ " + std::string(20, '(') + "'ok'" + std::string(20, ')') + " }}"), "ok");
  std::string ifs = R"({"Log":{"message":"x"}})";
  for (int i = 0; i < 100; ++i) ifs = R"({"If":{"condition":"true","then":[)" + ifs + "]}}";
  EXPECT_THROW(compile(R"({"on_connect":[)" + ifs + "]}", {}), std::invalid_argument);
}

TEST(Hooks, LogWritesOneLineWhateverTheMessageHolds) {
  auto prog = compiled(R"({"on_message":[{"Log":{"message":"got {{ message }}"}}]})");
  recording_host h;
  machine m(prog, h);
  m.run(hook::on_message, "a\nroomwire error: forged\r\x01");
  ASSERT_EQ(h.logs.size(), 1u);
  EXPECT_EQ(h.logs[0], "got a\\x0aroomwire error: forged\\x0d\\x01");
}
