// A room's recent messages, kept so that a client that lost its connection can rejoin and
// receive what it missed. Every message of a room with history gets the next offset of the
// room (1, 2, ...); the epoch names this history's lifetime: a room created again, or a
// server restarted, starts a new epoch, and offsets of an old epoch mean nothing in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace roomwire {

class member_set;

/// Bounds of one room's history; `size` 0 means the room keeps none.
struct history_options {
  std::size_t size = 0;       // messages kept, the newest
  std::uint64_t ttl_ms = 0;   // older messages are forgotten; 0: kept until pushed out by size
  bool enabled() const { return size != 0; }
};

/// Where a client stands in a room's history.
struct history_position {
  std::uint64_t offset = 0;  // the last offset the client has; 0: none yet
  std::string epoch;
};

/// What a rejoin gets: the messages after its position, or `recovered` false when they
/// are not all here any more (another epoch, pushed out, expired).
struct history_replay {
  bool recovered = false;
  std::uint64_t offset = 0;  // the room's last offset at the join
  std::vector<std::shared_ptr<const std::string>> frames;
  std::size_t bytes = 0;
};

/// One room's history. The caller holds `lock()` across an append and its delivery, and
/// across a join and its replay: a message is then either in the replay or delivered live
/// after it, never both, never neither.
class room_history {
 public:
  explicit room_history(history_options options, std::string epoch = new_epoch());

  /// A fresh epoch: 16 hex digits, random.
  static std::string new_epoch();

  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }
  const std::string& epoch() const { return epoch_; }
  const history_options& options() const { return options_; }

  // With lock() held:
  /// The offset the next message gets.
  std::uint64_t next_offset() const { return last_ + 1; }
  /// The last offset given out (0 before the first message).
  std::uint64_t last_offset() const { return last_; }
  /// Keeps `frame` as the message of offset next_offset(), sent at `now_ms`.
  void append(std::shared_ptr<const std::string> frame, double now_ms);
  /// The messages after `since` (nullopt: none wanted, recovered stays false).
  history_replay since(const std::optional<history_position>& since, double now_ms);
  /// Starts over in `epoch` with nothing kept, the last offset being `last` (a cluster's
  /// history seen here with another epoch, or with a gap).
  void reset(std::string epoch, std::uint64_t last);
  /// One message of the history held elsewhere (a cluster's, in Redis).
  struct stored {
    std::uint64_t offset;
    double at_ms;
    std::shared_ptr<const std::string> frame;
  };
  /// Takes the history held elsewhere: epoch `epoch`, last offset `last`, its newest
  /// messages `kept` (ascending). What is held here past `last` in the same epoch stays.
  /// Returns the messages this history had not had yet (same epoch, past its last offset):
  /// the members here have not been given them either.
  std::vector<std::shared_ptr<const std::string>> load(std::string epoch, std::uint64_t last,
                                                       std::vector<stored> kept, double now_ms);
  /// Appends the message of `offset` in `epoch` (a history whose offsets are given: a
  /// cluster's). False for an offset held already (a duplicate). Another epoch, or a gap,
  /// starts over just before it: what came before cannot be recovered here.
  bool append_at(const std::string& epoch, std::uint64_t offset, std::shared_ptr<const std::string> frame,
                 double now_ms);
  /// Messages and payload bytes held now.
  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }

  /// A message on its way to the members of one I/O thread.
  struct delivery {
    std::shared_ptr<const member_set> members;
    std::shared_ptr<const std::string> frame;
  };
  /// Queues a delivery for I/O thread `thread`, in offset order; true when the queue was
  /// empty (the caller then posts a drain to that thread). With lock() held.
  bool push_delivery(std::size_t thread, delivery d);
  /// No delivery is queued for `thread`. With lock() held.
  bool lane_empty(std::size_t thread) const { return thread >= lanes_.size() || lanes_[thread].empty(); }
  /// Takes every delivery queued for `thread`, in order (takes the lock itself). Handlers
  /// posted to one thread may run out of order; what they deliver, taken from here, does not.
  std::deque<delivery> take_deliveries(std::size_t thread);

 private:
  using entry = stored;
  void expire(double now_ms);

  std::mutex mutex_;
  history_options options_;
  std::string epoch_;
  std::uint64_t last_ = 0;
  std::deque<entry> entries_;
  std::size_t bytes_ = 0;
  std::vector<std::deque<delivery>> lanes_;  // per I/O thread
};

}  // namespace roomwire
