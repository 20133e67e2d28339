// The server's WebSocket connections, addressable by connection id and by client id. The
// links live in the sessions themselves (Boost.Intrusive hooks), so indexing a connection
// allocates nothing: two hash nodes and a copy of each id cost an idle connection about
// 100 bytes before (bench/RESULTS.md). Not thread-safe: the server guards it with its
// sessions mutex.
#pragma once

#include <boost/intrusive/unordered_set.hpp>

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "ws_session.hpp"

namespace roomwire {

class session_index {
  struct id_of {
    using type = std::string_view;
    type operator()(const ws_session& s) const { return s.connection_id(); }
  };
  struct client_of {
    using type = std::string_view;
    type operator()(const ws_session& s) const { return s.client_id(); }
  };
  template <ws_session::index_hook ws_session::*Hook, class Key>
  using set_of = boost::intrusive::unordered_multiset<
      ws_session, boost::intrusive::member_hook<ws_session, ws_session::index_hook, Hook>,
      boost::intrusive::key_of_value<Key>, boost::intrusive::hash<std::hash<std::string_view>>,
      boost::intrusive::power_2_buckets<true>, boost::intrusive::constant_time_size<true>>;
  using by_id_set = set_of<&ws_session::by_id_hook_, id_of>;
  using by_client_set = set_of<&ws_session::by_client_hook_, client_of>;

  /// A hash table's buckets, grown (doubled) as it fills: the intrusive tables use the
  /// storage they are given and never allocate.
  template <class Set>
  struct table {
    std::vector<typename Set::bucket_type> buckets = std::vector<typename Set::bucket_type>(initial_buckets);
    Set set{typename Set::bucket_traits(buckets.data(), buckets.size())};

    void grow_if_full() {
      if (set.size() < buckets.size()) return;
      std::vector<typename Set::bucket_type> bigger(buckets.size() * 2);
      set.rehash(typename Set::bucket_traits(bigger.data(), bigger.size()));
      buckets.swap(bigger);
    }
  };
  /// Buckets of an empty table: a power of two, small for a server with few connections.
  static constexpr std::size_t initial_buckets = 64;

 public:
  session_index() = default;
  session_index(const session_index&) = delete;
  session_index& operator=(const session_index&) = delete;

  /// Adds `s`, which stays until erase(s) (before it is destroyed). Connection ids are
  /// random UUIDs; were two ever equal, each session would still take out only itself.
  void insert(ws_session& s) {
    by_id_.grow_if_full();
    by_client_.grow_if_full();
    by_id_.set.insert(s);
    by_client_.set.insert(s);
  }
  /// Takes `s` out; false when it was not in.
  bool erase(ws_session& s) {
    if (!s.by_id_hook_.is_linked()) return false;
    by_id_.set.erase(by_id_.set.iterator_to(s));
    by_client_.set.erase(by_client_.set.iterator_to(s));
    return true;
  }
  /// The session with `connection_id`, or null.
  ws_session* find(std::string_view connection_id) {
    auto it = by_id_.set.find(connection_id);
    return it == by_id_.set.end() ? nullptr : &*it;
  }
  /// Calls `f(session)` for each session of `client_id`.
  template <class F>
  void for_client(std::string_view client_id, F&& f) {
    auto [first, last] = by_client_.set.equal_range(client_id);
    for (auto it = first; it != last; ++it) f(*it);
  }
  /// Calls `f(session)` for every session.
  template <class F>
  void for_each(F&& f) {
    for (auto& s : by_id_.set) f(s);
  }
  std::size_t size() const { return by_id_.set.size(); }

 private:
  table<by_id_set> by_id_;
  table<by_client_set> by_client_;
};

}  // namespace roomwire
