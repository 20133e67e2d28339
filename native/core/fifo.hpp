// A first-in first-out queue on a vector: allocates nothing until the first push (libstdc++'s
// std::deque allocates a map and a 512-byte node on construction, ~600 bytes per empty
// queue, which adds up across tens of thousands of idle connections).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace roomwire {

template <class T>
class fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  T& back() { return items_.back(); }
  void push_back(T value) { items_.push_back(std::move(value)); }
  template <class... Args>
  void emplace_back(Args&&... args) { items_.emplace_back(std::forward<Args>(args)...); }
  void pop_front() {
    items_[head_] = T();  // release what the element holds now, not at the next compaction
    if (++head_ == items_.size()) clear();
    else if (head_ >= 64 && head_ * 2 >= items_.size()) compact();
  }
  void pop_back() {
    items_.pop_back();
    if (head_ == items_.size()) clear();
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }
  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }

 private:
  void compact() {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace roomwire
