// The hooks compiler: the `ws_hooks` JSON, its templates and expressions, checked and
// turned into the operations the machine runs (hooks.hpp). Every error names the key
// path of what is wrong; the JavaScript side maps it to the file's line.
#include "hooks.hpp"
#include "names.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace roomwire::hooks {
namespace json = boost::json;

compile_error::compile_error(std::vector<key_segment> where, const std::string& what)
    : std::invalid_argument(what), where_(std::move(where)) {}

std::string compile_error::path_text(const std::vector<key_segment>& where) {
  std::string out;
  for (const auto& seg : where) {
    if (seg.index >= 0) {
      out += '[' + std::to_string(seg.index) + ']';
    } else {
      if (!out.empty()) out += '.';
      out += seg.key;
    }
  }
  return out;
}

std::size_t value::size() const {
  std::size_t total = s.size();
  for (const auto& item : l) total += item.size();
  return total;
}

namespace {

/// A template or expression error: where in the text, turned into a compile_error by the caller.
struct syntax_error {
  std::string what;
};

// --- expressions -------------------------------------------------------------------

enum class tok : std::uint8_t {
  end, name, number, string, lparen, rparen, comma, dot, pipe,
  eq, ne, lt, le, gt, ge, plus, minus, star, slash, percent, and_, or_, not_
};

struct token {
  tok t = tok::end;
  std::string text;  // name, string (unescaped)
  double number = 0;
  std::size_t at = 0;
};

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  auto is_name_start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
    token t;
    t.at = i;
    if (is_name_start(c)) {
      std::size_t j = i + 1;
      while (j < s.size() && (is_name_start(s[j]) || is_digit(s[j]))) ++j;
      t.text = std::string(s.substr(i, j - i));
      if (t.text == "and") t.t = tok::and_;
      else if (t.text == "or") t.t = tok::or_;
      else if (t.text == "not") t.t = tok::not_;
      else t.t = tok::name;
      i = j;
    } else if (is_digit(c)) {
      std::size_t j = i;
      while (j < s.size() && (is_digit(s[j]) || s[j] == '.')) ++j;
      auto [end, ec] = std::from_chars(s.data() + i, s.data() + j, t.number);
      if (ec != std::errc() || end != s.data() + j)
        throw syntax_error{"bad number '" + std::string(s.substr(i, j - i)) + "' at column " + std::to_string(i + 1)};
      t.t = tok::number;
      i = j;
    } else if (c == '\'' || c == '"') {
      std::size_t j = i + 1;
      std::string text;
      for (;;) {
        if (j >= s.size()) throw syntax_error{"unclosed string at column " + std::to_string(i + 1)};
        if (s[j] == c) break;
        if (s[j] == '\\' && j + 1 < s.size()) {
          const char e = s[j + 1];
          text += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          j += 2;
          continue;
        }
        text += s[j++];
      }
      t.t = tok::string;
      t.text = std::move(text);
      i = j + 1;
    } else {
      auto two = s.substr(i, 2);
      struct sym { const char* text; tok t; };
      static const sym syms[] = {{"==", tok::eq}, {"!=", tok::ne}, {"<=", tok::le}, {">=", tok::ge},
                                 {"&&", tok::and_}, {"||", tok::or_}, {"<", tok::lt}, {">", tok::gt},
                                 {"(", tok::lparen}, {")", tok::rparen}, {",", tok::comma}, {".", tok::dot},
                                 {"|", tok::pipe}, {"+", tok::plus}, {"-", tok::minus}, {"*", tok::star},
                                 {"/", tok::slash}, {"%", tok::percent}, {"!", tok::not_}};
      bool found = false;
      for (const auto& sy : syms) {
        const std::size_t len = std::strlen(sy.text);
        if ((len == 2 && two == sy.text) || (len == 1 && c == sy.text[0])) {
          t.t = sy.t;
          i += len;
          found = true;
          break;
        }
      }
      if (!found) throw syntax_error{std::string("unexpected '") + c + "' at column " + std::to_string(i + 1)};
    }
    out.push_back(std::move(t));
  }
  token e;
  e.at = s.size();
  out.push_back(e);
  return out;
}

class parser {
 public:
  parser(std::string_view text, const std::vector<std::string>& variables)
      : toks_(tokenize(text)), vars_(variables) {}

  expr parse() {
    expr e;
    out_ = &e;
    e.root = or_expr();
    if (peek().t != tok::end) throw syntax_error{"unexpected text at column " + std::to_string(peek().at + 1)};
    return e;
  }

 private:
  const token& peek() const { return toks_[pos_]; }
  bool accept(tok t) {
    if (peek().t != t) return false;
    ++pos_;
    return true;
  }
  void expect(tok t, const char* what) {
    if (!accept(t)) throw syntax_error{std::string("expected ") + what + " at column " + std::to_string(peek().at + 1)};
  }
  std::uint32_t add(node n) {
    out_->nodes.push_back(std::move(n));
    return static_cast<std::uint32_t>(out_->nodes.size() - 1);
  }
  std::uint32_t binary(node::kind k, std::uint32_t a, std::uint32_t b) {
    node n;
    n.k = k;
    n.a = a;
    n.b = b;
    return add(std::move(n));
  }

  /// Bounds the nesting (parentheses, not, unary minus, filter arguments): the parser and
  /// the machine recurse once per level.
  struct nested {
    explicit nested(parser& p) : p_(p) {
      if (++p_.depth_ > max_depth) throw syntax_error{"the expression nests deeper than " + std::to_string(max_depth) + " levels"};
    }
    ~nested() { --p_.depth_; }
    parser& p_;
  };
  static constexpr int max_depth = 64;

  std::uint32_t or_expr() {
    nested guard(*this);
    std::uint32_t left = and_expr();
    while (accept(tok::or_)) left = binary(node::kind::or_, left, and_expr());
    return left;
  }
  std::uint32_t and_expr() {
    std::uint32_t left = not_expr();
    while (accept(tok::and_)) left = binary(node::kind::and_, left, not_expr());
    return left;
  }
  std::uint32_t not_expr() {
    nested guard(*this);
    if (accept(tok::not_)) {
      node n;
      n.k = node::kind::not_;
      n.a = not_expr();
      return add(std::move(n));
    }
    return comparison();
  }
  std::uint32_t comparison() {
    std::uint32_t left = additive();
    static const std::pair<tok, node::kind> ops[] = {{tok::eq, node::kind::eq}, {tok::ne, node::kind::ne},
                                                     {tok::lt, node::kind::lt}, {tok::le, node::kind::le},
                                                     {tok::gt, node::kind::gt}, {tok::ge, node::kind::ge}};
    for (const auto& [t, k] : ops)
      if (accept(t)) return binary(k, left, additive());
    return left;
  }
  std::uint32_t additive() {
    std::uint32_t left = multiplicative();
    for (;;) {
      if (accept(tok::plus)) left = binary(node::kind::add, left, multiplicative());
      else if (accept(tok::minus)) left = binary(node::kind::sub, left, multiplicative());
      else return left;
    }
  }
  std::uint32_t multiplicative() {
    std::uint32_t left = piped();
    for (;;) {
      if (accept(tok::star)) left = binary(node::kind::mul, left, piped());
      else if (accept(tok::slash)) left = binary(node::kind::div, left, piped());
      else if (accept(tok::percent)) left = binary(node::kind::mod, left, piped());
      else return left;
    }
  }
  std::uint32_t piped() {
    std::uint32_t left = unary();
    while (accept(tok::pipe)) {
      if (peek().t != tok::name) throw syntax_error{"expected a filter name after '|' at column " + std::to_string(peek().at + 1)};
      const token name = toks_[pos_++];
      const filter_spec* f = find_filter(name.text);
      if (!f) throw syntax_error{"unknown filter '" + name.text + "' (filters: " + filter_list() + ")"};
      node n;
      n.k = node::kind::filter;
      n.id = f->id;
      n.a = left;
      if (accept(tok::lparen)) {
        if (!accept(tok::rparen)) {
          do n.args.push_back(or_expr());
          while (accept(tok::comma));
          expect(tok::rparen, "')'");
        }
      }
      if (n.args.size() < f->min_args || n.args.size() > f->max_args) {
        throw syntax_error{"filter '" + name.text + "' takes " +
                           (f->min_args == f->max_args ? std::to_string(f->min_args)
                                                       : std::to_string(f->min_args) + " to " + std::to_string(f->max_args)) +
                           " argument" + (f->max_args == 1 ? "" : "s") + ", given " + std::to_string(n.args.size())};
      }
      left = add(std::move(n));
    }
    return left;
  }
  std::uint32_t unary() {
    nested guard(*this);
    if (accept(tok::minus)) {
      node n;
      n.k = node::kind::neg;
      n.a = unary();
      return add(std::move(n));
    }
    return primary();
  }
  std::uint32_t primary() {
    const token t = peek();
    node n;
    switch (t.t) {
      case tok::number:
        ++pos_;
        n.lit = value::of(t.number);
        return add(std::move(n));
      case tok::string:
        ++pos_;
        n.lit = value::of(t.text);
        return add(std::move(n));
      case tok::lparen: {
        ++pos_;
        std::uint32_t inner = or_expr();
        expect(tok::rparen, "')'");
        return inner;
      }
      case tok::name:
        ++pos_;
        return name(t);
      default:
        if (t.t == tok::end) throw syntax_error{"expression ends too soon"};
        throw syntax_error{"unexpected token at column " + std::to_string(t.at + 1)};
    }
  }
  std::uint32_t name(const token& t) {
    node n;
    if (t.text == "true" || t.text == "false") {
      n.lit = value::of(t.text == "true");
      return add(std::move(n));
    }
    if (t.text == "null") return add(std::move(n));
    if (t.text == "params" || t.text == "query") {
      expect(tok::dot, t.text == "params" ? "'.' and a path parameter's name after params"
                                          : "'.' and a query parameter's name after query");
      if (peek().t != tok::name) throw syntax_error{"expected a parameter name after '" + t.text + ".'"};
      n.k = t.text == "params" ? node::kind::param : node::kind::query;
      n.key = toks_[pos_++].text;
      return add(std::move(n));
    }
    if (peek().t == tok::dot) throw syntax_error{"'" + t.text + ".' has no members (only params.x and query.x do)"};
    if (const int b = builtin_index(t.text); b >= 0) {
      n.k = node::kind::name;
      n.id = static_cast<std::uint8_t>(b);
      return add(std::move(n));
    }
    auto it = std::find(vars_.begin(), vars_.end(), t.text);
    if (it == vars_.end())
      throw syntax_error{"unknown name '" + t.text + "' (not a built-in name, and no SetVar sets it)"};
    n.k = node::kind::variable;
    n.slot = static_cast<std::uint32_t>(it - vars_.begin());
    return add(std::move(n));
  }

  std::vector<token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  const std::vector<std::string>& vars_;
  expr* out_ = nullptr;
};

// --- templates -----------------------------------------------------------------------

tmpl parse_template(std::string_view text, const std::vector<std::string>& variables) {
  tmpl t;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      t.parts.push_back({std::string(text.substr(i)), false, {}});
      break;
    }
    if (open > i) t.parts.push_back({std::string(text.substr(i, open - i)), false, {}});
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) throw syntax_error{"'{{' at column " + std::to_string(open + 1) + " is not closed"};
    std::string_view inner = text.substr(open + 2, close - open - 2);
    try {
      tmpl::part p;
      p.is_expr = true;
      p.e = parser(inner, variables).parse();
      t.parts.push_back(std::move(p));
    } catch (const syntax_error& e) {
      throw syntax_error{e.what + " in '{{" + std::string(inner) + "}}'"};
    }
    i = close + 2;
  }
  return t;
}

// --- operations ----------------------------------------------------------------------

class compiler {
 public:
  explicit compiler(const limits& lim) : lim_(lim) {}

  std::shared_ptr<const program> run(const json::value& root) {
    auto prog = std::make_shared<program>();
    prog->limits = lim_;
    const json::object* hooks = root.if_object();
    if (!hooks) fail("the hooks are an object with on_connect, on_message and on_disconnect");
    static const char* names[] = {"on_connect", "on_message", "on_disconnect"};
    for (const auto& kv : *hooks) {
      if (std::find_if(std::begin(names), std::end(names), [&](const char* n) { return kv.key() == n; }) == std::end(names))
        at(std::string(kv.key()), [&] { fail("unknown hook (hooks are on_connect, on_message and on_disconnect)"); });
    }
    // The variables first: a name can be read by any hook, whichever sets it.
    for (const char* n : names)
      if (const json::value* v = hooks->if_contains(n)) collect_variables(*v);
    if (lim_.max_variables != 0 && vars_.size() > lim_.max_variables) {
      fail("the hooks set " + std::to_string(vars_.size()) + " variables; maxVariables is " +
           std::to_string(lim_.max_variables));
    }
    for (int h = 0; h < 3; ++h) {
      if (const json::value* v = hooks->if_contains(names[h]))
        at(names[h], [&] { prog->hooks[h] = ops(*v); });
    }
    prog->variables = vars_;
    return prog;
  }

 private:
  template <class F>
  void at(std::string key, F&& f) {
    path_.push_back({std::move(key), -1});
    f();
    path_.pop_back();
  }
  template <class F>
  void at_index(std::size_t i, F&& f) {
    path_.push_back({{}, static_cast<long>(i)});
    f();
    path_.pop_back();
  }
  [[noreturn]] void fail(const std::string& what) {
    const std::string where = compile_error::path_text(path_);
    throw compile_error(path_, where.empty() ? what : where + ": " + what);
  }

  void collect_variables(const json::value& list) {
    const json::array* a = list.if_array();
    if (!a) return;
    for (const auto& item : *a) {
      const json::object* o = item.if_object();
      if (!o || o->size() != 1) continue;
      const auto& kv = *o->begin();
      const json::object* body = kv.value().if_object();
      if (!body) continue;
      if (kv.key() == "SetVar") {
        if (const json::value* n = body->if_contains("name"); n && n->is_string()) {
          std::string name(n->get_string());
          if (std::find(vars_.begin(), vars_.end(), name) == vars_.end()) vars_.push_back(name);
        }
      } else if (kv.key() == "If") {
        if (const json::value* t = body->if_contains("then")) collect_variables(*t);
        if (const json::value* e = body->if_contains("else")) collect_variables(*e);
      }
    }
  }

  std::vector<op> ops(const json::value& v) {
    const json::array* a = v.if_array();
    if (!a) fail("a list of operations");
    std::vector<op> out;
    for (std::size_t i = 0; i < a->size(); ++i) at_index(i, [&] { out.push_back(one((*a)[i])); });
    return out;
  }

  op one(const json::value& v) {
    const json::object* o = v.if_object();
    if (!o || o->size() != 1) fail("an operation is an object with one key: WsOp, SetVar, If, Log or Return");
    const auto& kv = *o->begin();
    const std::string name(kv.key());
    op out;
    at(name, [&] {
      out.where = compile_error::path_text(path_);
      if (name == "Return" && kv.value().is_null()) {
        out.k = op::kind::return_;
        return;
      }
      const json::object* body = kv.value().if_object();
      if (!body) fail("an object of the operation's fields");
      if (name == "WsOp") ws_op(*body, out);
      else if (name == "SetVar") set_var(*body, out);
      else if (name == "If") if_op(*body, out);
      else if (name == "Log") log_op(*body, out);
      else if (name == "Return") return_op(*body, out);
      else fail("unknown operation (hooks run WsOp, SetVar, If, Log and Return)");
    });
    return out;
  }

  void only(const json::object& body, std::initializer_list<const char*> allowed, const char* what) {
    for (const auto& kv : body) {
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return kv.key() == a; }) == allowed.end())
        at(std::string(kv.key()), [&] { fail(std::string("not a field of ") + what); });
    }
  }

  tmpl text_field(const json::object& body, const char* key, bool required) {
    tmpl out;
    const json::value* v = body.if_contains(key);
    if (!v) {
      if (required) fail(std::string("needs '") + key + "'");
      return out;
    }
    at(key, [&] {
      std::string text;
      if (v->is_string()) text = std::string(v->get_string());
      else if (v->is_number() || v->is_bool()) text = json::serialize(*v);
      else fail("a template (a string)");
      out = templ(text);
    });
    return out;
  }

  tmpl templ(std::string_view text) {
    try {
      return parse_template(text, vars_);
    } catch (const syntax_error& e) {
      fail(e.what);
    }
  }

  void ws_op(const json::object& body, op& out) {
    only(body, {"command", "message", "channel"}, "WsOp (command, message, channel)");
    const json::value* cmd = body.if_contains("command");
    if (!cmd || !cmd->is_string()) fail("needs 'command': send, broadcast, join or leave");
    const std::string command(cmd->get_string());
    if (command == "send" || command == "broadcast") {
      out.k = command == "send" ? op::kind::send : op::kind::broadcast;
      out.message = text_field(body, "message", true);
      out.channel = text_field(body, "channel", false);
      if (out.k == op::kind::send && !out.channel.empty()) at("channel", [&] { fail("send goes to this connection: broadcast takes a channel"); });
    } else if (command == "join" || command == "leave") {
      out.k = command == "join" ? op::kind::join : op::kind::leave;
      out.channel = text_field(body, "channel", true);
      if (body.contains("message")) at("message", [&] { fail(command + " takes a channel only"); });
    } else {
      at("command", [&] { fail("'" + command + "' is not a command (send, broadcast, join, leave)"); });
    }
  }

  void set_var(const json::object& body, op& out) {
    only(body, {"name", "value"}, "SetVar (name, value)");
    const json::value* n = body.if_contains("name");
    if (!n || !n->is_string()) fail("needs 'name', a string");
    const std::string name(n->get_string());
    at("name", [&] {
      if (!valid_name(name)) fail("'" + name + "' is not a name (letters, digits and _, not starting with a digit)");
      if (builtin_index(name) >= 0 || name == "params" || name == "query" || name == "true" || name == "false" ||
          name == "null" || name == "and" || name == "or" || name == "not")
        fail("'" + name + "' is a built-in name");
    });
    out.k = op::kind::set_var;
    out.slot = static_cast<std::uint32_t>(std::find(vars_.begin(), vars_.end(), name) - vars_.begin());
    out.message = text_field(body, "value", true);
  }

  void if_op(const json::object& body, op& out) {
    only(body, {"condition", "then", "else"}, "If (condition, then, else)");
    out.k = op::kind::if_;
    const json::value* c = body.if_contains("condition");
    if (!c || !c->is_string()) fail("needs 'condition', a string");
    at("condition", [&] {
      std::string_view text = c->get_string();
      // A condition without {{ }} is one expression.
      if (text.find("{{") == std::string_view::npos) out.condition = templ("{{" + std::string(text) + "}}");
      else out.condition = templ(text);
    });
    const json::value* t = body.if_contains("then");
    if (!t) fail("needs 'then', a list of operations");
    at("then", [&] { out.then_ops = ops(*t); });
    if (const json::value* e = body.if_contains("else")) at("else", [&] { out.else_ops = ops(*e); });
  }

  void log_op(const json::object& body, op& out) {
    only(body, {"message", "level"}, "Log (message, level)");
    out.k = op::kind::log;
    out.message = text_field(body, "message", true);
    if (const json::value* l = body.if_contains("level")) {
      at("level", [&] {
        if (!l->is_string() || !parse_log_level(l->get_string(), out.level) || out.level == log_level::silent)
          fail("debug, info, warn or error");
      });
    }
  }

  void return_op(const json::object& body, op& out) {
    only(body, {"value"}, "Return (value)");
    out.k = op::kind::return_;
    out.message = text_field(body, "value", false);
  }

  static bool valid_name(const std::string& n) {
    if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  const limits& lim_;
  std::vector<std::string> vars_;
  std::vector<key_segment> path_;
};

}  // namespace

std::shared_ptr<const program> compile(std::string_view json_text, const limits& lim) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 128;  // about 30 nested If operations; the compiler recurses per level
  json::value root = json::parse(json_text, ec, {}, opts);
  if (ec) throw std::invalid_argument("the hooks are not JSON (or nest deeper than 128 levels): " + ec.message());
  return compiler(lim).run(root);
}

}  // namespace roomwire::hooks
