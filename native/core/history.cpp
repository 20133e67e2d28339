#include "history.hpp"

#include <random>

namespace roomwire {

room_history::room_history(history_options options, std::string epoch)
    : options_(options), epoch_(std::move(epoch)) {}

std::string room_history::new_epoch() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = hex[v & 0xf];
  return out;
}

void room_history::expire(double now_ms) {
  while (!entries_.empty() &&
         (entries_.size() > options_.size ||
          (options_.ttl_ms != 0 && now_ms - entries_.front().at_ms > static_cast<double>(options_.ttl_ms)))) {
    bytes_ -= entries_.front().frame->size();
    entries_.pop_front();
  }
}

void room_history::append(std::shared_ptr<const std::string> frame, double now_ms) {
  ++last_;
  bytes_ += frame->size();
  entries_.push_back({last_, now_ms, std::move(frame)});
  expire(now_ms);
}

history_replay room_history::since(const std::optional<history_position>& since, double now_ms) {
  expire(now_ms);
  history_replay out;
  out.offset = last_;
  if (!since || since->epoch != epoch_ || since->offset > last_) return out;
  // Every offset after the client's must still be here: the first one kept is at most
  // one past it (or nothing was missed at all).
  if (since->offset < last_ && (entries_.empty() || entries_.front().offset > since->offset + 1)) return out;
  out.recovered = true;
  for (const auto& e : entries_) {
    if (e.offset <= since->offset) continue;
    out.bytes += e.frame->size();
    out.frames.push_back(e.frame);
  }
  return out;
}

void room_history::reset(std::string epoch, std::uint64_t last) {
  epoch_ = std::move(epoch);
  last_ = last;
  entries_.clear();
  bytes_ = 0;
}

std::vector<std::shared_ptr<const std::string>> room_history::load(std::string epoch, std::uint64_t last,
                                                                   std::vector<stored> kept, double now_ms) {
  std::vector<std::shared_ptr<const std::string>> missed;
  const bool same = epoch == epoch_;
  if (same && last <= last_) {
    // Nothing new here: only what is older than the oldest message held may fill in.
    const std::uint64_t oldest = entries_.empty() ? last_ + 1 : entries_.front().offset;
    std::deque<entry> older;
    for (auto& k : kept) {
      if (k.offset >= oldest) break;
      if (!older.empty() && k.offset != older.back().offset + 1) older.clear();
      older.push_back(std::move(k));
    }
    if (!older.empty() && older.back().offset + 1 == oldest) {
      for (const auto& e : older) bytes_ += e.frame->size();
      entries_.insert(entries_.begin(), std::make_move_iterator(older.begin()), std::make_move_iterator(older.end()));
    }
    expire(now_ms);
    return missed;
  }
  // The other history is ahead, or of another epoch: it is taken as it is. Only a run of
  // messages that reaches its last offset counts (nothing recovers across a hole).
  const std::uint64_t had = same ? last_ : last;
  std::deque<entry> taken;
  for (auto& k : kept) {
    if (k.offset > last) break;
    if (!taken.empty() && k.offset != taken.back().offset + 1) taken.clear();
    taken.push_back(std::move(k));
  }
  if (!taken.empty() && taken.back().offset != last) taken.clear();
  reset(std::move(epoch), last);
  for (auto& e : taken) {
    if (e.offset > had) missed.push_back(e.frame);
    bytes_ += e.frame->size();
    entries_.push_back(std::move(e));
  }
  expire(now_ms);
  return missed;
}

bool room_history::append_at(const std::string& epoch, std::uint64_t offset, std::shared_ptr<const std::string> frame,
                             double now_ms) {
  if (epoch != epoch_) {
    reset(epoch, offset - 1);
  } else if (offset <= last_) {
    return false;
  } else if (offset != last_ + 1) {
    reset(epoch_, offset - 1);
  }
  append(std::move(frame), now_ms);
  return true;
}

bool room_history::push_delivery(std::size_t thread, delivery d) {
  if (lanes_.size() <= thread) lanes_.resize(thread + 1);
  const bool was_empty = lanes_[thread].empty();
  lanes_[thread].push_back(std::move(d));
  return was_empty;
}

std::deque<room_history::delivery> room_history::take_deliveries(std::size_t thread) {
  std::lock_guard<std::mutex> held(mutex_);
  std::deque<delivery> out;
  if (thread < lanes_.size()) out.swap(lanes_[thread]);
  return out;
}

}  // namespace roomwire
