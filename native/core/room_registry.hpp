// Rooms and their members, linked both ways (room -> members, connection -> rooms).
// Member lists are immutable snapshots: a fan-out takes the current one under a brief
// shared lock and sends outside it, so membership changes never wait behind a fan-out.
// A snapshot is a table of fixed-size chunks shared with the snapshot before it, so a join
// or a leave copies the table and one or two chunks, not every member.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "history.hpp"
#include "options.hpp"

namespace roomwire {

/// What a room's member list points at: a ws_session (the server delivers through its
/// batched fan-out), or a fake in tests.
class room_member {
 public:
  virtual ~room_member() = default;
};

/// One member of one room.
struct member_info {
  std::string connection_id;
  std::string client_id;
  std::string user_info = "null";  // JSON text of the member's public presence info
  double joined_at = 0;            // ms since the epoch
  std::size_t io_index = 0;        // the I/O thread the member's connection lives on
  std::weak_ptr<room_member> sink;
  std::string node;                // the cluster node holding the connection; empty: this one
  bool local() const { return node.empty(); }
};

/// A room's members: an immutable snapshot, in chunks of up to `chunk_size` members that
/// the next snapshot shares where it did not change. Iterates like a vector.
class member_set {
 public:
  /// 64 members a chunk: a join copies the chunk table (one pointer per 64 members) and
  /// the last chunk; at 20,000 members that is ~300 pointers and 64 members, not 20,000.
  static constexpr std::size_t chunk_size = 64;
  using chunk = std::vector<member_info>;

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = member_info;
    using difference_type = std::ptrdiff_t;
    using pointer = const member_info*;
    using reference = const member_info&;
    iterator() = default;
    iterator(const member_set* set, std::size_t c, std::size_t i) : set_(set), c_(c), i_(i) {}
    reference operator*() const { return (*set_->chunks_[c_])[i_]; }
    pointer operator->() const { return &**this; }
    iterator& operator++() {
      if (++i_ == set_->chunks_[c_]->size()) {
        ++c_;
        i_ = 0;
      }
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator& o) const { return c_ == o.c_ && i_ == o.i_; }
    bool operator!=(const iterator& o) const { return !(*this == o); }

   private:
    const member_set* set_ = nullptr;
    std::size_t c_ = 0, i_ = 0;
  };

  member_set() = default;
  /// A set of `members`, in order (tests, and lists built whole).
  explicit member_set(std::vector<member_info> members);

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  iterator begin() const { return iterator(this, 0, 0); }
  iterator end() const { return iterator(this, chunks_.size(), 0); }
  const member_info& operator[](std::size_t i) const { return (*chunks_[i / chunk_size])[i % chunk_size]; }

  /// This set with `m` added at the end.
  member_set with(member_info m) const;
  /// This set without the member at `index`: the last member takes its place (so only the
  /// last member's index changes).
  member_set without(std::size_t index) const;

 private:
  std::vector<std::shared_ptr<const chunk>> chunks_;  // every chunk full but the last (never empty)
  std::size_t size_ = 0;
};

using member_list = std::shared_ptr<const member_set>;

/// A room as reported by getRoomInfo and the REST API.
struct room_view {
  std::string id;
  std::string name;
  std::string description;
  std::size_t max_connections = 0;  // 0: unlimited
  std::string metadata = "{}";      // JSON object text
  double created_at = 0;
  bool ephemeral = false;
  member_list members;
  /// Its recent messages, when created with history (shared: the same object for every view).
  std::shared_ptr<room_history> history;
};

/// The outcome of a join, end to end: the registry, the callbacks, the REST API and the
/// binding (lib/native.ts mirrors the numbers).
enum class join_result : int {
  ok = 0,
  unknown_room = 1,
  full = 2,
  already_member = 3,
  too_many_rooms = 4,      // past maxRoomsPerConnection
  id_too_long = 5,         // a room id past maxIdLength
  rejected = 6,            // onJoinRoom cancelled it
  unknown_connection = 7,  // no such connection, or it closed first
};

/// Which limits a join obeys.
enum class join_mode {
  normal,    // every limit of this server
  reserved,  // the cluster already took the room's place (Redis counted every node's members)
  mirror,    // a member of another node, copied here: its own node checked it; auto-creates
};

/// A connection's departure from one room, as leave_all reports it.
struct departure {
  std::string room_id;
  member_info member;
  member_list remaining;  // the members left behind, to be told
};

/// One page of the room listing.
struct room_page {
  std::vector<room_view> rooms;
  std::size_t total = 0;              // rooms in all
  std::optional<std::uint64_t> next;  // the cursor of the next page, if any
};

/// Thread-safe registry of rooms.
class room_registry {
 public:
  /// Limits every join checks: rooms one connection may be in, and the longest room id a
  /// join may auto-create (0: no limit).
  void set_limits(std::size_t max_rooms_per_connection, std::size_t max_id_length);
  /// Creates a room and returns its id (`room_<32 hex>` unless `id` is given). Returns an
  /// empty string when `id` is given and already taken.
  /// With `history` enabled the room keeps its recent messages (a new epoch).
  std::string create(std::string name, std::string description, std::size_t max_connections,
                     std::string metadata, bool ephemeral, std::string id = {},
                     history_options history = {});
  /// Deletes a room; its former members are returned through `evicted`. False if unknown.
  bool remove(const std::string& id, std::vector<member_info>* evicted = nullptr);
  /// Adds a member. With `auto_create`, an unknown id creates an ephemeral room first.
  /// `before` gets the members the room had just before this one joined, taken under the
  /// same lock: they, and only they, are told of the join (with joins racing, each pair
  /// of members is then told of each other once).
  /// A room it auto-creates keeps the history `auto_history` describes.
  join_result join(const std::string& room_id, member_info member, bool auto_create = false,
                   member_list* before = nullptr, join_mode mode = join_mode::normal,
                   history_options auto_history = {});
  /// Adds a room copied from another node of the cluster (its id, fields and creation time);
  /// false when the id is taken.
  bool adopt(const room_view& view);
  /// The members held by `node` (empty: this node's own), with their rooms.
  std::vector<std::pair<std::string, member_info>> members_of_node(const std::string& node) const;
  /// Removes a member; returns it, or nullopt when it was not in the room. An ephemeral
  /// room left empty is deleted. `after` gets the members that remain, taken under the same lock.
  std::optional<member_info> leave(const std::string& room_id, const std::string& connection_id,
                                   member_list* after = nullptr);
  /// Removes a connection from every room; one departure for each.
  std::vector<departure> leave_all(const std::string& connection_id);

  /// The current member list (shared, immutable), or null for an unknown room.
  member_list members(const std::string& room_id) const;
  bool is_member(const std::string& room_id, const std::string& connection_id) const;
  std::vector<std::string> rooms_of(const std::string& connection_id) const;
  /// How many rooms a connection is in (without listing them).
  std::size_t room_count_of(const std::string& connection_id) const;
  std::optional<room_view> info(const std::string& room_id) const;
  /// The room's history, or null (an unknown room, or one without history).
  std::shared_ptr<room_history> history(const std::string& room_id) const;
  std::vector<room_view> all() const;
  /// Up to `limit` rooms in creation order, from the one the cursor `after` names
  /// (nullopt: from the first).
  room_page page(std::optional<std::uint64_t> after, std::size_t limit) const;

  std::size_t room_count() const;
  /// Sum of all rooms' member counts.
  std::size_t membership_count() const;
  /// Connections that are in at least one room.
  std::size_t member_connection_count() const;

 private:
  struct room {
    room_view view;
    std::uint64_t seq = 0;  // creation order
    /// Each member's index in view.members, kept while the room holds more than a chunk of
    /// members (a leave then finds its member at once; a small room is searched instead,
    /// and a room of two holds no map).
    std::unordered_map<std::string, std::size_t> index;
    bool indexed = false;
  };
  bool erase_locked(const std::string& id, std::vector<member_info>* evicted);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, room> rooms_;
  std::unordered_map<std::string, std::unordered_set<std::string>> rooms_by_connection_;
  std::map<std::uint64_t, std::string> by_seq_;  // room ids in creation order
  std::size_t memberships_ = 0;
  std::uint64_t next_seq_ = 0;
  std::size_t max_rooms_per_connection_ = 0;
  std::size_t max_id_length_ = 0;
};

}  // namespace roomwire
