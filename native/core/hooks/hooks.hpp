// Declarative WebSocket hooks (Worpen's `ws_hooks`): on_connect, on_message and
// on_disconnect as lists of operations, compiled once when the route is registered and
// run by the core with no JavaScript.
//
//   operations  WsOp {command: send | broadcast | join | leave, message?, channel?}
//               SetVar {name, value}   If {condition, then, else?}
//               Log {message, level?}  Return {value?}
//   templates   text with {{ expression }} parts; a template that is one expression
//               alone keeps the expression's value (a number stays a number)
//   expressions names (connection_id, client_id, message, path, code, reason,
//               params.x, query.x, variables), 'strings', numbers, true/false/null,
//               == != < <= > >= + - * / %, and/or/not (&& || !), parentheses,
//               filters: value | name or value | name(args) (hooks/names.hpp)
//
// The program is shared by every connection of the route; each connection has a
// hook_machine holding its variables. Limits bound what one run may build and do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "../log.hpp"

namespace roomwire::hooks {

/// What one run of a hook may use.
struct limits {
  /// 1 MiB per rendered template or string built: a large chat payload echoed with a
  /// prefix fits; a runaway `+` or split/join cannot grow without bound.
  std::size_t max_output = 1 << 20;
  /// 64 distinct SetVar names per route: per-connection state is a few fields, and each
  /// name costs a slot on every connection.
  std::size_t max_variables = 64;
  /// 16 KiB of variable values per connection: ids, names and counters fit many times,
  /// and 10,000 connections hold at most 160 MB of it.
  std::size_t max_variable_bytes = 16 << 10;
  /// 10,000 steps (operations, expression nodes, split parts) per run: programs have no
  /// loops, so this bounds the work of expressions over long messages (~100 µs).
  std::size_t max_steps = 10000;
};

/// A value while a hook runs.
struct value {
  enum class kind : std::uint8_t { null, boolean, number, string, list };
  kind k = kind::null;
  bool b = false;
  double n = 0;
  std::string s;
  std::vector<std::string> l;

  static value of(bool v) { value x; x.k = kind::boolean; x.b = v; return x; }
  static value of(double v) { value x; x.k = kind::number; x.n = v; return x; }
  static value of(std::string v) { value x; x.k = kind::string; x.s = std::move(v); return x; }
  /// The bytes it holds (for the variable budget).
  std::size_t size() const;
};

/// One step of a compiled expression; the tree is stored flat, children by index.
struct node {
  enum class kind : std::uint8_t {
    literal, name, param, query, variable,
    not_, neg, and_, or_, eq, ne, lt, le, gt, ge, add, sub, mul, div, mod, filter
  };
  kind k = kind::literal;
  std::uint8_t id = 0;            // name: which built-in; filter: which filter
  std::uint32_t a = 0, b = 0;     // operands (a: the filtered value)
  std::vector<std::uint32_t> args;  // a filter's arguments
  value lit;                      // literal
  std::string key;                // param, query: the parameter's name
  std::uint32_t slot = 0;         // variable
};

/// A compiled expression.
struct expr {
  std::vector<node> nodes;
  std::uint32_t root = 0;
};

/// A compiled template: literal text and expressions in order.
struct tmpl {
  struct part {
    std::string text;   // the literal text (when !is_expr)
    bool is_expr = false;
    expr e;
  };
  std::vector<part> parts;
  bool empty() const { return parts.empty(); }
  /// One expression and nothing else: its value is kept as it is.
  bool whole() const { return parts.size() == 1 && parts[0].is_expr; }
};

/// One compiled operation.
struct op {
  enum class kind : std::uint8_t { send, broadcast, join, leave, set_var, if_, log, return_ };
  kind k = kind::send;
  tmpl message;            // send, broadcast, log; return's value
  tmpl channel;            // broadcast (empty: the whole route), join, leave
  tmpl condition;          // if
  std::uint32_t slot = 0;  // set_var
  log_level level = log_level::info;
  std::vector<op> then_ops, else_ops;
  std::string where;       // the operation's key path, for runtime errors
};

/// The three hooks of a route.
enum class hook { on_connect = 0, on_message = 1, on_disconnect = 2 };

/// A route's compiled hooks.
struct program {
  std::vector<op> hooks[3];
  std::vector<std::string> variables;  // SetVar names, by slot
  hooks::limits limits;
};

/// A place in the source: the keys and indices from the hooks object down.
struct key_segment {
  std::string key;
  long index = -1;  // >= 0: an array index instead of a key
};

/// A program that does not compile: what is wrong and where.
class compile_error : public std::invalid_argument {
 public:
  compile_error(std::vector<key_segment> where, const std::string& what);
  /// The key path, e.g. on_message[0].If.then[1].WsOp.channel.
  const std::vector<key_segment>& where() const { return where_; }
  /// The key path as text.
  static std::string path_text(const std::vector<key_segment>& where);

 private:
  std::vector<key_segment> where_;
};

/// Compiles the `ws_hooks` object (its JSON text); throws compile_error, or
/// std::invalid_argument for text that is not JSON.
std::shared_ptr<const program> compile(std::string_view json_text, const limits& lim);

/// What a running hook acts on: the connection and the server around it.
class host {
 public:
  virtual ~host() = default;
  virtual std::string_view connection_id() const = 0;
  virtual std::string_view client_id() const = 0;
  virtual std::string_view path() const = 0;
  /// A path parameter or query parameter; null when absent.
  virtual const std::string* param(std::string_view name) const = 0;
  virtual const std::string* query(std::string_view name) const = 0;
  /// A text frame to this connection.
  virtual void send(std::string text) = 0;
  /// A text frame to every member of `channel` (null: every connection of the route).
  virtual void broadcast(const std::string* channel, std::string text) = 0;
  /// Joins `channel`; `done(error)` (empty: joined) runs at once or later. The run waits.
  virtual void join(const std::string& channel, std::function<void(std::string)> done) = 0;
  /// Leaves `channel`; the error text, empty when it left.
  virtual std::string leave(const std::string& channel) = 0;
  virtual void log(log_level level, std::string text) = 0;
};

/// One connection's hooks: its variables, and a run paused on a join.
class machine {
 public:
  machine(std::shared_ptr<const program> prog, host& h);
  /// Runs `which` with `message` (on_message), or the close `code` and `reason`
  /// (on_disconnect). A run still paused on a join is abandoned first.
  void run(hook which, std::string message = {}, int code = 0, std::string reason = {});
  /// Whether a run waits for a join to finish.
  bool paused() const { return paused_; }
  /// Runs that stopped on an error (a limit, a failed operation); the error is logged.
  std::uint64_t failures() const { return failures_; }
  /// A variable's value (tests).
  const value* variable(std::string_view name) const;

 private:
  struct frame {
    const std::vector<op>* ops;
    std::size_t next;
  };
  friend struct evaluator;
  void resume();
  void fail(const op& o, const std::string& why);

  std::shared_ptr<const program> prog_;
  host& host_;
  std::vector<value> vars_;
  std::size_t var_bytes_ = 0;
  // The current run.
  std::vector<frame> stack_;
  std::string message_;
  int code_ = 0;
  std::string reason_;
  hook which_ = hook::on_connect;
  std::size_t steps_ = 0;
  bool paused_ = false;
  bool join_inside_ = false;       // host::join has not returned yet
  bool join_done_inside_ = false;  // ... and its completion already ran
  std::uint64_t generation_ = 0;  // bumps when a run starts: a stale join's resume is ignored
  std::uint64_t failures_ = 0;
};

}  // namespace roomwire::hooks
