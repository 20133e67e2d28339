// The hooks machine: runs a route's compiled operations for one connection (hooks.hpp).
// Values are text, numbers, booleans, null and lists of text; a run stops at the first
// error (a limit, a failed operation) and logs where it stopped.
#include "hooks.hpp"
#include "names.hpp"
#include "../json_escape.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace roomwire::hooks {

namespace {

/// A run-time error: the run stops and logs it.
struct run_error {
  std::string what;
};

void format_number(double n, std::string& out) {
  if (std::isfinite(n) && n == std::floor(n) && std::fabs(n) < 1e15) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(n));
    out.append(buf, end);
    return;
  }
  if (!std::isfinite(n)) {
    out += std::isnan(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

void append_text(const value& v, std::string& out) {
  switch (v.k) {
    case value::kind::null: return;
    case value::kind::boolean: out += v.b ? "true" : "false"; return;
    case value::kind::number: format_number(v.n, out); return;
    case value::kind::string: out += v.s; return;
    case value::kind::list:
      for (std::size_t i = 0; i < v.l.size(); ++i) {
        if (i) out += ',';
        out += v.l[i];
      }
      return;
  }
}

std::string text_of(const value& v) {
  if (v.k == value::kind::string) return v.s;
  std::string out;
  append_text(v, out);
  return out;
}

bool truthy(const value& v) {
  switch (v.k) {
    case value::kind::null: return false;
    case value::kind::boolean: return v.b;
    case value::kind::number: return v.n != 0 && !std::isnan(v.n);
    case value::kind::string: return !v.s.empty() && v.s != "false";
    case value::kind::list: return !v.l.empty();
  }
  return false;
}

/// The value as a number: a number, or text that is one whole number.
bool numeric(const value& v, double& out) {
  if (v.k == value::kind::number) {
    out = v.n;
    return true;
  }
  if (v.k != value::kind::string || v.s.empty()) return false;
  const char* begin = v.s.data();
  const char* end = begin + v.s.size();
  if (*begin == '+') return false;
  auto [stop, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && stop == end;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

/// The first or last UTF-8 character of `s`.
std::string end_char(const std::string& s, bool last) {
  if (s.empty()) return {};
  if (!last) {
    std::size_t len = 1;
    while (len < s.size() && (static_cast<unsigned char>(s[len]) & 0xC0) == 0x80) ++len;
    return s.substr(0, len);
  }
  std::size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return s.substr(start);
}

const char* hook_name(hook h) {
  switch (h) {
    case hook::on_connect: return "on_connect";
    case hook::on_message: return "on_message";
    case hook::on_disconnect: return "on_disconnect";
  }
  return "";
}

}  // namespace

/// Evaluates expressions and renders templates against a machine's current run.
struct evaluator {
  machine& m;

  void step(std::size_t n = 1) {
    m.steps_ += n;
    if (m.prog_->limits.max_steps != 0 && m.steps_ > m.prog_->limits.max_steps)
      throw run_error{"the step budget (maxSteps " + std::to_string(m.prog_->limits.max_steps) + ") ran out"};
  }
  void bound(const std::string& s) {
    const std::size_t max = m.prog_->limits.max_output;
    if (max != 0 && s.size() > max)
      throw run_error{"output of " + std::to_string(s.size()) + " bytes is over maxOutput (" + std::to_string(max) + ")"};
  }

  /// A built-in name, a parameter or a variable, without copying it when it is text.
  const std::string* text_ref(const node& n) {
    static const std::string empty;
    switch (n.k) {
      case node::kind::name:
        switch (static_cast<builtin>(n.id)) {
          case builtin::message: return &m.message_;
          case builtin::reason: return &m.reason_;
          default: return nullptr;
        }
      case node::kind::param: {
        const std::string* p = m.host_.param(n.key);
        return p ? p : &empty;
      }
      case node::kind::query: {
        const std::string* q = m.host_.query(n.key);
        return q ? q : &empty;
      }
      case node::kind::variable: {
        const value& v = m.vars_[n.slot];
        if (v.k == value::kind::string) return &v.s;
        if (v.k == value::kind::null) return &empty;
        return nullptr;
      }
      default: return nullptr;
    }
  }

  value name(const node& n) {
    switch (static_cast<builtin>(n.id)) {
      case builtin::connection_id: return value::of(std::string(m.host_.connection_id()));
      case builtin::client_id: return value::of(std::string(m.host_.client_id()));
      case builtin::path: return value::of(std::string(m.host_.path()));
      case builtin::message:
        return m.which_ == hook::on_message ? value::of(m.message_) : value{};
      case builtin::code:
        return m.which_ == hook::on_disconnect ? value::of(static_cast<double>(m.code_)) : value{};
      case builtin::reason:
        return m.which_ == hook::on_disconnect ? value::of(m.reason_) : value{};
      case builtin::count_: break;
    }
    return {};
  }

  value eval(const expr& e, std::uint32_t i) {
    step();
    const node& n = e.nodes[i];
    switch (n.k) {
      case node::kind::literal: return n.lit;
      case node::kind::name: return name(n);
      case node::kind::param:
      case node::kind::query: {
        const std::string* p = n.k == node::kind::param ? m.host_.param(n.key) : m.host_.query(n.key);
        return p ? value::of(*p) : value{};
      }
      case node::kind::variable: return m.vars_[n.slot];
      case node::kind::not_: return value::of(!truthy(eval(e, n.a)));
      case node::kind::neg: {
        double x;
        if (!numeric(eval(e, n.a), x)) throw run_error{"'-' needs a number"};
        return value::of(-x);
      }
      case node::kind::and_: return value::of(truthy(eval(e, n.a)) && truthy(eval(e, n.b)));
      case node::kind::or_: return value::of(truthy(eval(e, n.a)) || truthy(eval(e, n.b)));
      case node::kind::eq: return value::of(equal(eval(e, n.a), eval(e, n.b)));
      case node::kind::ne: return value::of(!equal(eval(e, n.a), eval(e, n.b)));
      case node::kind::lt:
      case node::kind::le:
      case node::kind::gt:
      case node::kind::ge: return value::of(order(n.k, eval(e, n.a), eval(e, n.b)));
      case node::kind::add: return add(eval(e, n.a), eval(e, n.b));
      case node::kind::sub:
      case node::kind::mul:
      case node::kind::div:
      case node::kind::mod: return arithmetic(n.k, eval(e, n.a), eval(e, n.b));
      case node::kind::filter: return apply(e, n);
    }
    return {};
  }

  static bool equal(const value& a, const value& b) {
    double x, y;
    if ((a.k == value::kind::number || b.k == value::kind::number) && numeric(a, x) && numeric(b, y)) return x == y;
    if (a.k == value::kind::boolean && b.k == value::kind::boolean) return a.b == b.b;
    if (a.k == value::kind::null || b.k == value::kind::null) return a.k == b.k;
    return text_of(a) == text_of(b);
  }

  static bool order(node::kind k, const value& a, const value& b) {
    double x, y;
    int c;
    if (numeric(a, x) && numeric(b, y)) {
      c = x < y ? -1 : x > y ? 1 : 0;
    } else {
      const int t = text_of(a).compare(text_of(b));
      c = t < 0 ? -1 : t > 0 ? 1 : 0;
    }
    switch (k) {
      case node::kind::lt: return c < 0;
      case node::kind::le: return c <= 0;
      case node::kind::gt: return c > 0;
      default: return c >= 0;
    }
  }

  value add(const value& a, const value& b) {
    double x, y;
    if ((a.k == value::kind::number || b.k == value::kind::number) && numeric(a, x) && numeric(b, y))
      return value::of(x + y);
    std::string s = text_of(a);
    append_text(b, s);
    bound(s);
    return value::of(std::move(s));
  }

  static value arithmetic(node::kind k, const value& a, const value& b) {
    double x, y;
    const char* sym = k == node::kind::sub ? "-" : k == node::kind::mul ? "*" : k == node::kind::div ? "/" : "%";
    if (!numeric(a, x) || !numeric(b, y)) throw run_error{std::string("'") + sym + "' needs numbers"};
    if ((k == node::kind::div || k == node::kind::mod) && y == 0) throw run_error{std::string("'") + sym + "' by zero"};
    switch (k) {
      case node::kind::sub: return value::of(x - y);
      case node::kind::mul: return value::of(x * y);
      case node::kind::div: return value::of(x / y);
      default: return value::of(std::fmod(x, y));
    }
  }

  value apply(const expr& e, const node& n) {
    value a = eval(e, n.a);
    auto arg = [&](std::size_t i) { return eval(e, n.args[i]); };
    switch (static_cast<filter>(n.id)) {
      case filter::contains: {
        const std::string needle = text_of(arg(0));
        if (a.k == value::kind::list) {
          for (const auto& item : a.l)
            if (item == needle) return value::of(true);
          return value::of(false);
        }
        return value::of(text_of(a).find(needle) != std::string::npos);
      }
      case filter::starts_with: {
        const std::string s = text_of(a), p = text_of(arg(0));
        return value::of(s.compare(0, p.size(), p) == 0 && s.size() >= p.size());
      }
      case filter::ends_with: {
        const std::string s = text_of(a), p = text_of(arg(0));
        return value::of(s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0);
      }
      case filter::split: {
        const std::string s = text_of(a), sep = text_of(arg(0));
        if (sep.empty()) throw run_error{"split needs a separator that is not empty"};
        // split(sep, n): at most n parts, the last one holding the rest.
        double max_parts = 0;
        if (n.args.size() > 1 && (!numeric(arg(1), max_parts) || max_parts < 1))
          throw run_error{"split's second argument is a count of parts, 1 or more"};
        value out;
        out.k = value::kind::list;
        std::size_t at = 0;
        for (;;) {
          step();
          const bool rest = max_parts >= 1 && static_cast<double>(out.l.size() + 1) >= max_parts;
          const std::size_t next = rest ? std::string::npos : s.find(sep, at);
          out.l.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
          if (next == std::string::npos) break;
          at = next + sep.size();
        }
        return out;
      }
      case filter::first:
      case filter::last: {
        const bool last = static_cast<filter>(n.id) == filter::last;
        if (a.k == value::kind::list) {
          if (a.l.empty()) return {};
          return value::of(last ? a.l.back() : a.l.front());
        }
        if (a.k == value::kind::null) return {};
        return value::of(end_char(text_of(a), last));
      }
      case filter::at: {
        // A list's item by index (negative: from the end), or null.
        double i = 0;
        if (!numeric(arg(0), i) || i != std::floor(i)) throw run_error{"at takes an integer index"};
        if (a.k != value::kind::list) {
          // A single value is a list of one.
          std::string only = text_of(a);
          a = value{};
          a.k = value::kind::list;
          a.l.push_back(std::move(only));
        }
        const double index = i < 0 ? static_cast<double>(a.l.size()) + i : i;
        if (index < 0 || index >= static_cast<double>(a.l.size())) return {};
        return value::of(a.l[static_cast<std::size_t>(index)]);
      }
      case filter::length:
        if (a.k == value::kind::list) return value::of(static_cast<double>(a.l.size()));
        return value::of(static_cast<double>(code_points(text_of(a))));
      case filter::upper:
      case filter::lower: {
        std::string s = text_of(a);
        const bool up = static_cast<filter>(n.id) == filter::upper;
        for (char& c : s) {
          if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
          if (!up && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        }
        return value::of(std::move(s));
      }
      case filter::trim: {
        const std::string s = text_of(a);
        const auto b = s.find_first_not_of(" \t\r\n");
        if (b == std::string::npos) return value::of(std::string());
        const auto end = s.find_last_not_of(" \t\r\n");
        return value::of(s.substr(b, end - b + 1));
      }
      case filter::join: {
        if (a.k != value::kind::list) return value::of(text_of(a));
        const std::string sep = text_of(arg(0));
        std::string s;
        for (std::size_t i = 0; i < a.l.size(); ++i) {
          if (i) s += sep;
          s += a.l[i];
          bound(s);
        }
        return value::of(std::move(s));
      }
      case filter::json: {
        std::string s;
        switch (a.k) {
          case value::kind::null: s = "null"; break;
          case value::kind::boolean:
          case value::kind::number: append_text(a, s); break;
          case value::kind::string: append_json_string(s, a.s); break;
          case value::kind::list:
            s += '[';
            for (std::size_t i = 0; i < a.l.size(); ++i) {
              if (i) s += ',';
              append_json_string(s, a.l[i]);
            }
            s += ']';
            break;
        }
        bound(s);
        return value::of(std::move(s));
      }
      case filter::default_:
        if (a.k == value::kind::null || (a.k == value::kind::string && a.s.empty())) return arg(0);
        return a;
    }
    return {};
  }

  /// The template's value: the expression's own for a whole template, else the text.
  value evaluate(const tmpl& t) {
    if (t.whole()) return eval(t.parts[0].e, t.parts[0].e.root);
    return value::of(render(t));
  }

  std::string render(const tmpl& t) {
    std::string out;
    for (const auto& p : t.parts) {
      if (!p.is_expr) {
        out += p.text;
      } else if (const std::string* ref = p.e.nodes.size() == 1 ? text_ref(p.e.nodes[p.e.root]) : nullptr) {
        // Text held by a name alone is appended where it lies, not copied first (message and
        // reason are empty outside their hooks, as null renders).
        step();
        out += *ref;
      } else {
        append_text(eval(p.e, p.e.root), out);
      }
      bound(out);
    }
    return out;
  }

};

machine::machine(std::shared_ptr<const program> prog, host& h)
    : prog_(std::move(prog)), host_(h), vars_(prog_->variables.size()) {}

const value* machine::variable(std::string_view name) const {
  for (std::size_t i = 0; i < prog_->variables.size(); ++i)
    if (prog_->variables[i] == name) return &vars_[i];
  return nullptr;
}

void machine::run(hook which, std::string message, int code, std::string reason) {
  ++generation_;
  paused_ = false;
  stack_.clear();
  const auto& ops = prog_->hooks[static_cast<int>(which)];
  if (ops.empty()) return;
  which_ = which;
  message_ = std::move(message);
  code_ = code;
  reason_ = std::move(reason);
  steps_ = 0;
  stack_.push_back({&ops, 0});
  resume();
}

void machine::fail(const op& o, const std::string& why) {
  ++failures_;
  stack_.clear();
  paused_ = false;
  host_.log(log_level::warn, std::string("hook ") + hook_name(which_) + " on " + std::string(host_.path()) +
                                 " stopped at " + o.where + ": " + why);
}

void machine::resume() {
  evaluator ev{*this};
  while (!stack_.empty()) {
    frame& f = stack_.back();
    if (f.next >= f.ops->size()) {
      stack_.pop_back();
      continue;
    }
    const op& o = (*f.ops)[f.next++];
    try {
      ev.step();
      switch (o.k) {
        case op::kind::send:
          host_.send(ev.render(o.message));
          break;
        case op::kind::broadcast: {
          std::string text = ev.render(o.message);
          if (o.channel.empty()) {
            host_.broadcast(nullptr, std::move(text));
          } else {
            const std::string channel = ev.render(o.channel);
            if (channel.empty()) throw run_error{"the channel is empty"};
            host_.broadcast(&channel, std::move(text));
          }
          break;
        }
        case op::kind::join: {
          const std::string channel = ev.render(o.channel);
          if (channel.empty()) throw run_error{"the channel is empty"};
          // The run waits for the join; it usually finishes within the call.
          const std::uint64_t generation = generation_;
          join_inside_ = true;
          join_done_inside_ = false;
          paused_ = true;
          host_.join(channel, [this, generation, where = o.where, channel](std::string error) {
            if (generation != generation_) return;  // the run was abandoned
            if (!error.empty())
              host_.log(log_level::warn, std::string("hook ") + hook_name(which_) + " on " + std::string(host_.path()) +
                                             " at " + where + ": join " + channel + ": " + error);
            paused_ = false;
            if (join_inside_) {
              join_done_inside_ = true;
              return;
            }
            resume();
          });
          join_inside_ = false;
          if (!join_done_inside_) return;  // resumed by the join's completion
          break;
        }
        case op::kind::leave: {
          const std::string channel = ev.render(o.channel);
          if (channel.empty()) throw run_error{"the channel is empty"};
          const std::string error = host_.leave(channel);
          if (!error.empty())
            host_.log(log_level::debug, std::string("hook ") + hook_name(which_) + " at " + o.where + ": leave " +
                                            channel + ": " + error);
          break;
        }
        case op::kind::set_var: {
          value v = ev.evaluate(o.message);
          value& slot = vars_[o.slot];
          const std::size_t after = var_bytes_ - slot.size() + v.size();
          const std::size_t max = prog_->limits.max_variable_bytes;
          if (max != 0 && after > max)
            throw run_error{"the connection's variables would hold " + std::to_string(after) +
                            " bytes, over maxVariableBytes (" + std::to_string(max) + ")"};
          var_bytes_ = after;
          slot = std::move(v);
          break;
        }
        case op::kind::if_: {
          const bool yes = truthy(ev.evaluate(o.condition));
          const auto& branch = yes ? o.then_ops : o.else_ops;
          if (!branch.empty()) stack_.push_back({&branch, 0});
          break;
        }
        case op::kind::log: {
          // One line per Log, whatever the message holds: control characters are escaped,
          // so a client's text cannot forge log lines.
          std::string line;
          for (unsigned char c : ev.render(o.message)) {
            if (c >= 0x20 && c != 0x7f) {
              line += static_cast<char>(c);
            } else {
              char buf[8];
              std::snprintf(buf, sizeof buf, "\\x%02x", c);
              line += buf;
            }
          }
          host_.log(o.level, std::move(line));
          break;
        }
        case op::kind::return_:
          if (!o.message.empty()) host_.send(ev.render(o.message));
          stack_.clear();
          return;
      }
    } catch (const run_error& e) {
      return fail(o, e.what);
    }
  }
}

}  // namespace roomwire::hooks
