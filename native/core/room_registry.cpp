#include "room_registry.hpp"

#include <algorithm>
#include <mutex>

#include "ids.hpp"

namespace roomwire {
namespace {

std::string make_room_id() {
  std::string uuid = make_connection_id();
  std::string id = "room_";
  for (char c : uuid)
    if (c != '-') id.push_back(c);
  return id;
}

}  // namespace

member_set::member_set(std::vector<member_info> members) : size_(members.size()) {
  for (std::size_t at = 0; at < members.size(); at += chunk_size) {
    const std::size_t end = std::min(members.size(), at + chunk_size);
    chunks_.push_back(std::make_shared<const chunk>(std::make_move_iterator(members.begin() + static_cast<std::ptrdiff_t>(at)),
                                                    std::make_move_iterator(members.begin() + static_cast<std::ptrdiff_t>(end))));
  }
}

member_set member_set::with(member_info m) const {
  member_set next;
  next.chunks_ = chunks_;
  next.size_ = size_ + 1;
  // Chunks are sized exactly: the last one is copied on every join anyway, and a room of
  // two keeps two members' worth, not a chunk's.
  if (chunks_.empty() || chunks_.back()->size() == chunk_size) {
    auto fresh = std::make_shared<chunk>();
    fresh->reserve(1);
    fresh->push_back(std::move(m));
    next.chunks_.push_back(std::move(fresh));
  } else {
    const chunk& old = *chunks_.back();
    auto last = std::make_shared<chunk>();
    last->reserve(old.size() + 1);
    last->insert(last->end(), old.begin(), old.end());
    last->push_back(std::move(m));
    next.chunks_.back() = std::move(last);
  }
  return next;
}

member_set member_set::without(std::size_t index) const {
  member_set next;
  next.chunks_ = chunks_;
  next.size_ = size_ - 1;
  const std::size_t last_c = chunks_.size() - 1;
  const std::size_t c = index / chunk_size, i = index % chunk_size;
  if (c == last_c) {
    auto last = std::make_shared<chunk>(*chunks_[c]);
    (*last)[i] = std::move(last->back());
    last->pop_back();
    if (last->empty()) next.chunks_.pop_back();
    else next.chunks_.back() = std::move(last);
    return next;
  }
  // The last member fills the hole; the last chunk shrinks (and goes when empty).
  auto hole = std::make_shared<chunk>(*chunks_[c]);
  (*hole)[i] = chunks_[last_c]->back();
  next.chunks_[c] = std::move(hole);
  if (chunks_[last_c]->size() == 1) {
    next.chunks_.pop_back();
  } else {
    auto last = std::make_shared<chunk>(chunks_[last_c]->begin(), chunks_[last_c]->end() - 1);
    next.chunks_.back() = std::move(last);
  }
  return next;
}

void room_registry::set_limits(std::size_t max_rooms_per_connection, std::size_t max_id_length) {
  std::unique_lock lock(mutex_);
  max_rooms_per_connection_ = max_rooms_per_connection;
  max_id_length_ = max_id_length;
}

std::string room_registry::create(std::string name, std::string description,
                                  std::size_t max_connections, std::string metadata,
                                  bool ephemeral, std::string id, history_options history) {
  std::unique_lock lock(mutex_);
  if (id.empty()) {
    do id = make_room_id();
    while (rooms_.count(id) != 0);
  } else if (rooms_.count(id) != 0) {
    return {};
  }
  room r;
  r.view.id = id;
  r.view.name = std::move(name);
  r.view.description = std::move(description);
  r.view.max_connections = max_connections;
  r.view.metadata = metadata.empty() ? "{}" : std::move(metadata);
  r.view.created_at = now_ms();
  r.view.ephemeral = ephemeral;
  r.view.members = std::make_shared<const member_set>();
  if (history.enabled()) r.view.history = std::make_shared<room_history>(history);
  r.seq = next_seq_++;
  by_seq_.emplace(r.seq, id);
  rooms_.emplace(id, std::move(r));
  return id;
}

bool room_registry::erase_locked(const std::string& id, std::vector<member_info>* evicted) {
  auto it = rooms_.find(id);
  if (it == rooms_.end()) return false;
  for (const auto& m : *it->second.view.members) {
    auto links = rooms_by_connection_.find(m.connection_id);
    if (links != rooms_by_connection_.end()) {
      links->second.erase(id);
      if (links->second.empty()) rooms_by_connection_.erase(links);
    }
    --memberships_;
    if (evicted) evicted->push_back(m);
  }
  by_seq_.erase(it->second.seq);
  rooms_.erase(it);
  return true;
}

bool room_registry::remove(const std::string& id, std::vector<member_info>* evicted) {
  std::unique_lock lock(mutex_);
  return erase_locked(id, evicted);
}

bool room_registry::adopt(const room_view& view) {
  std::unique_lock lock(mutex_);
  if (view.id.empty() || rooms_.count(view.id) != 0) return false;
  room r;
  r.view = view;
  r.view.members = std::make_shared<const member_set>();
  r.seq = next_seq_++;
  by_seq_.emplace(r.seq, view.id);
  rooms_.emplace(view.id, std::move(r));
  return true;
}

std::vector<std::pair<std::string, member_info>> room_registry::members_of_node(const std::string& node) const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, member_info>> out;
  for (const auto& [id, r] : rooms_)
    for (const auto& m : *r.view.members)
      if (m.node == node) out.emplace_back(id, m);
  return out;
}

join_result room_registry::join(const std::string& room_id, member_info member, bool auto_create,
                                member_list* before, join_mode mode, history_options auto_history) {
  std::unique_lock lock(mutex_);
  if (mode == join_mode::mirror) auto_create = true;
  if (max_rooms_per_connection_ != 0 && mode != join_mode::mirror) {
    auto links = rooms_by_connection_.find(member.connection_id);
    if (links != rooms_by_connection_.end() && links->second.size() >= max_rooms_per_connection_)
      return links->second.count(room_id) != 0 ? join_result::already_member : join_result::too_many_rooms;
  }
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) {
    if (!auto_create) return join_result::unknown_room;
    if (max_id_length_ != 0 && room_id.size() > max_id_length_ && mode != join_mode::mirror)
      return join_result::id_too_long;
    lock.unlock();
    create(room_id, "", 0, "{}", true, room_id, auto_history);
    lock.lock();
    it = rooms_.find(room_id);
    if (it == rooms_.end()) return join_result::unknown_room;
  }
  room& r = it->second;
  room_view& view = r.view;
  auto& rooms_of_member = rooms_by_connection_[member.connection_id];
  if (rooms_of_member.count(room_id) != 0) return join_result::already_member;
  if (view.max_connections != 0 && view.members->size() >= view.max_connections && mode == join_mode::normal) {
    if (rooms_of_member.empty()) rooms_by_connection_.erase(member.connection_id);
    return join_result::full;
  }
  if (before) *before = view.members;
  rooms_of_member.insert(room_id);
  const std::size_t at = view.members->size();
  if (r.indexed) {
    r.index.emplace(member.connection_id, at);
  } else if (at + 1 > member_set::chunk_size) {
    // Past one chunk: from now on a leave looks its member up.
    r.index.reserve(at + 1);
    for (std::size_t i = 0; i < at; ++i) r.index.emplace((*view.members)[i].connection_id, i);
    r.index.emplace(member.connection_id, at);
    r.indexed = true;
  }
  view.members = std::make_shared<const member_set>(view.members->with(std::move(member)));
  ++memberships_;
  return join_result::ok;
}

std::optional<member_info> room_registry::leave(const std::string& room_id,
                                                const std::string& connection_id, member_list* after) {
  std::unique_lock lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  room& r = it->second;
  room_view& view = r.view;
  std::size_t at = 0;
  if (r.indexed) {
    auto pos = r.index.find(connection_id);
    if (pos == r.index.end()) return std::nullopt;
    at = pos->second;
    r.index.erase(pos);
  } else {
    const member_set& list = *view.members;
    while (at < list.size() && list[at].connection_id != connection_id) ++at;
    if (at == list.size()) return std::nullopt;
  }
  member_info removed = (*view.members)[at];
  const std::size_t last = view.members->size() - 1;
  if (r.indexed && at != last) r.index[(*view.members)[last].connection_id] = at;  // the last member fills the hole
  view.members = std::make_shared<const member_set>(view.members->without(at));
  if (r.indexed && view.members->size() <= member_set::chunk_size / 2) {
    // Small again: searched, and the map's memory given back.
    r.index = {};
    r.indexed = false;
  }
  if (after) *after = view.members;
  --memberships_;
  auto links = rooms_by_connection_.find(connection_id);
  if (links != rooms_by_connection_.end()) {
    links->second.erase(room_id);
    if (links->second.empty()) rooms_by_connection_.erase(links);
  }
  if (view.ephemeral && view.members->empty()) {
    by_seq_.erase(it->second.seq);
    rooms_.erase(it);
  }
  return removed;
}

std::vector<departure> room_registry::leave_all(const std::string& connection_id) {
  std::vector<std::string> ids = rooms_of(connection_id);
  std::vector<departure> out;
  out.reserve(ids.size());
  for (auto& id : ids) {
    member_list remaining;
    if (auto m = leave(id, connection_id, &remaining))
      out.push_back({std::move(id), std::move(*m), std::move(remaining)});
  }
  return out;
}

member_list room_registry::members(const std::string& room_id) const {
  std::shared_lock lock(mutex_);
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? nullptr : it->second.view.members;
}

std::shared_ptr<room_history> room_registry::history(const std::string& room_id) const {
  std::shared_lock lock(mutex_);
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? nullptr : it->second.view.history;
}

bool room_registry::is_member(const std::string& room_id, const std::string& connection_id) const {
  std::shared_lock lock(mutex_);
  auto links = rooms_by_connection_.find(connection_id);
  return links != rooms_by_connection_.end() && links->second.count(room_id) != 0;
}

std::size_t room_registry::room_count_of(const std::string& connection_id) const {
  std::shared_lock lock(mutex_);
  auto links = rooms_by_connection_.find(connection_id);
  return links == rooms_by_connection_.end() ? 0 : links->second.size();
}

std::vector<std::string> room_registry::rooms_of(const std::string& connection_id) const {
  std::shared_lock lock(mutex_);
  auto links = rooms_by_connection_.find(connection_id);
  if (links == rooms_by_connection_.end()) return {};
  std::vector<std::string> out(links->second.begin(), links->second.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<room_view> room_registry::info(const std::string& room_id) const {
  std::shared_lock lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return std::nullopt;
  return it->second.view;
}

std::vector<room_view> room_registry::all() const {
  std::shared_lock lock(mutex_);
  std::vector<const room*> ordered;
  ordered.reserve(rooms_.size());
  for (const auto& [id, r] : rooms_) ordered.push_back(&r);
  std::sort(ordered.begin(), ordered.end(), [](const room* a, const room* b) { return a->seq < b->seq; });
  std::vector<room_view> out;
  out.reserve(ordered.size());
  for (const room* r : ordered) out.push_back(r->view);
  return out;
}

room_page room_registry::page(std::optional<std::uint64_t> after, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  room_page out;
  out.total = rooms_.size();
  auto it = after ? by_seq_.lower_bound(*after) : by_seq_.begin();
  for (; it != by_seq_.end() && out.rooms.size() < limit; ++it) out.rooms.push_back(rooms_.at(it->second).view);
  if (it != by_seq_.end()) out.next = it->first;
  return out;
}

std::size_t room_registry::room_count() const {
  std::shared_lock lock(mutex_);
  return rooms_.size();
}

std::size_t room_registry::membership_count() const {
  std::shared_lock lock(mutex_);
  return memberships_;
}

std::size_t room_registry::member_connection_count() const {
  std::shared_lock lock(mutex_);
  return rooms_by_connection_.size();
}

}  // namespace roomwire
