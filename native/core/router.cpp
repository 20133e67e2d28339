#include "router.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <stdexcept>

namespace roomwire {

route_pattern::route_pattern(std::string_view pattern) : text_(pattern) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': " + text_);
  std::size_t pos = 1;
  while (pos <= pattern.size()) {
    std::size_t end = pattern.find('/', pos);
    if (end == std::string_view::npos) end = pattern.size();
    std::string_view seg = pattern.substr(pos, end - pos);
    if (!seg.empty() && seg.front() == '{') {
      if (seg.size() < 3 || seg.back() != '}')
        throw std::invalid_argument("bad parameter segment in route pattern: " + text_);
      segments_.push_back({std::string(seg.substr(1, seg.size() - 2)), true});
    } else if (!seg.empty()) {
      segments_.push_back({std::string(seg), false});
    }
    pos = end + 1;
  }
}

bool route_pattern::match(const std::vector<std::string>& segments, string_pairs& params) const {
  if (segments.size() != segments_.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& want = segments_[i];
    if (want.param) {
      if (segments[i].empty()) return false;
    } else if (want.text != segments[i]) {
      return false;
    }
  }
  for (std::size_t i = 0; i < segments.size(); ++i)
    if (segments_[i].param) params.emplace_back(segments_[i].text, segments[i]);
  return true;
}

bool split_target(std::string_view target, std::string& path,
                  std::vector<std::string>& segments, string_pairs& query) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return false;
  const boost::urls::url_view& u = *parsed;
  path = u.path();
  segments.clear();
  for (auto seg : u.segments()) {
    // Empty segments (a trailing or doubled slash) are not significant for routing.
    if (!seg.empty()) segments.push_back(seg);
  }
  for (auto param : u.params()) query.emplace_back(param.key, param.has_value ? param.value : "");
  return true;
}

}  // namespace roomwire
