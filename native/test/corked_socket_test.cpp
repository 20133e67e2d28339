// The corked socket and run_corked over a real loopback connection: what is appended
// before the thread idles leaves in one write, and each write hands its credit back.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "corked_socket.hpp"

using namespace roomwire;
using namespace std::chrono_literals;

namespace {

/// A connected pair: the corked end served by an I/O thread, the peer read by the test.
struct corked_pair {
  net::io_context ioc{1};
  tcp::socket peer{ioc};
  std::optional<corked_socket> cork;
  std::shared_ptr<int> owner = std::make_shared<int>(0);  // what the cork's operations keep alive
  std::mutex mutex;
  std::vector<std::size_t> writes;  // credit handed back by each completed write
  std::promise<void> all_written;
  std::size_t expected = 0, credited = 0;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  std::atomic<int> thrown{0};

  /// With `corked_loop`, the thread runs run_corked as the server's I/O threads do: a
  /// handler that throws is reported and the loop entered again.
  explicit corked_pair(bool corked_loop) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    cork.emplace(acceptor.accept(ioc));
    timeval tv{5, 0};
    setsockopt(peer.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static const corked_socket::owner_ops ops{
        [](void* self) -> std::shared_ptr<void> { return static_cast<corked_pair*>(self)->owner; },
        [](void* self, std::size_t credit) { static_cast<corked_pair*>(self)->credit(credit); }};
    cork->bind(ops, this);
    work.emplace(ioc.get_executor());
    thread = std::thread([this, corked_loop] {
      if (!corked_loop) return void(ioc.run());
      for (;;) {
        try {
          run_corked(ioc);
          return;
        } catch (const std::exception&) {
          ++thrown;
        }
      }
    });
  }
  void credit(std::size_t n) {
    std::lock_guard<std::mutex> lock(mutex);
    writes.push_back(n);
    credited += n;
    if (credited == expected) all_written.set_value();
  }
  ~corked_pair() {
    work.reset();
    ioc.stop();
    thread.join();
  }

  /// Appends a two-byte header and `text` as one frame, with its size as credit.
  void append(const std::string& text) {
    static const unsigned char head[2] = {0x81, 0x00};
    cork->append_frame(head, 2, text, text.size());
  }

  /// Waits (bounded) until `credit` has come back, then returns the writes seen.
  std::vector<std::size_t> wait_written(std::size_t credit) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      expected = credit;
      if (credited == expected) all_written.set_value();
    }
    if (all_written.get_future().wait_for(5s) != std::future_status::ready)
      throw std::runtime_error("timed out waiting for the writes");
    std::lock_guard<std::mutex> lock(mutex);
    return writes;
  }

  std::string read_exactly(std::size_t n) {
    std::string out(n, '\0');
    net::read(peer, net::buffer(out));
    return out;
  }
};

const std::string frames_abc = std::string("\x81\x00" "aaa", 5) + std::string("\x81\x00" "bbb", 5) +
                               std::string("\x81\x00" "ccc", 5);

}  // namespace

/// Appends three frames from one handler and expects them in one write.
void expect_one_handler_one_write(corked_pair& p) {
  net::post(p.ioc, [&p] {
    p.append("aaa");
    p.append("bbb");
    p.append("ccc");
  });
  EXPECT_EQ(p.wait_written(9), std::vector<std::size_t>{9});
  EXPECT_EQ(p.read_exactly(15), frames_abc);
}

TEST(CorkedSocket, FramesAppendedInOneHandlerLeaveInOneWrite) {
  corked_pair p(true);
  expect_one_handler_one_write(p);
}

TEST(CorkedSocket, HandlersQueuedBeforeTheThreadIdlesShareOneWrite) {
  corked_pair p(true);
  net::post(p.ioc, [&p] {
    // Three handlers queued together, each appending one frame: the thread runs them
    // all before it runs out of work, and only then writes.
    net::post(p.ioc, [&p] { p.append("aaa"); });
    net::post(p.ioc, [&p] { p.append("bbb"); });
    net::post(p.ioc, [&p] { p.append("ccc"); });
  });
  EXPECT_EQ(p.wait_written(9), std::vector<std::size_t>{9});
  EXPECT_EQ(p.read_exactly(15), frames_abc);
}

TEST(CorkedSocket, WithoutTheCorkedLoopAPostedFlushStillGathers) {
  corked_pair p(false);
  expect_one_handler_one_write(p);
}

TEST(CorkedSocket, DiscardDropsWhatIsNotYetWrittenAndReturnsItsCredit) {
  corked_pair p(true);
  std::promise<std::size_t> discarded;
  net::post(p.ioc, [&p, &discarded] {
    p.append("aaa");
    p.append("bbb");
    discarded.set_value(p.cork->discard_corked());
    p.append("ccc");
  });
  EXPECT_EQ(discarded.get_future().get(), 6u);
  EXPECT_EQ(p.wait_written(3), std::vector<std::size_t>{3});
  EXPECT_EQ(p.read_exactly(5), std::string("\x81\x00" "ccc", 5));
}

TEST(CorkedSocket, FramesAfterTheSocketFailedHandTheirCreditBackAtOnce) {
  corked_pair p(true);
  p.peer.close();
  std::promise<void> failed;
  // Keep writing until the socket reports the peer gone; every frame's credit comes back.
  std::function<void(int)> pump = [&](int round) {
    p.append(std::string(64 * 1024, 'x'));
    if (round < 200) net::post(p.ioc, [&, round] { pump(round + 1); });
    else failed.set_value();
  };
  net::post(p.ioc, [&] { pump(0); });
  ASSERT_EQ(failed.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_NO_THROW(p.wait_written(201 * 64 * 1024));
}

TEST(CorkedSocket, FramesCorkedBeforeAHandlerThrewAreStillWritten) {
  corked_pair p(true);
  net::post(p.ioc, [&p] {
    p.append("aaa");
    throw std::runtime_error("a faulty handler");
  });
  EXPECT_EQ(p.wait_written(3), std::vector<std::size_t>{3});
  EXPECT_EQ(p.read_exactly(5), std::string("\x81\x00" "aaa", 5));
  EXPECT_EQ(p.thrown.load(), 1);
}

TEST(CorkedSocket, AnOwnerStillHandlingFramesLetsLaterRepliesJoinTheWrite) {
  // A read waits in both cases; only the owner's word differs. The second frame comes two
  // idle points after the first (100 handlers in between, 64 per round).
  for (bool handling : {false, true}) {
    corked_pair p(true);
    net::post(p.ioc, [&p, handling] {
      p.cork->async_wait_readable([](error_code) {});
      p.cork->set_handling(handling);
      p.append("aaa");
      for (int i = 0; i < 100; ++i) net::post(p.ioc, [] {});
      net::post(p.ioc, [&p] { p.append("bbb"); });
    });
    auto expected = handling ? std::vector<std::size_t>{6} : std::vector<std::size_t>{3, 3};
    EXPECT_EQ(p.wait_written(6), expected) << (handling ? "handling" : "not handling");
  }
}

TEST(CorkedSocket, WhatTheSocketCannotTakeAtOnceFollowsInOrder) {
  // 4 MiB is far past the 64 KiB socket buffers set here: the write made at once takes
  // part, the rest goes in the background, and a frame appended later comes after it.
  corked_pair p(true);
  p.cork->next_layer().set_option(net::socket_base::send_buffer_size(64 * 1024));
  p.peer.set_option(net::socket_base::receive_buffer_size(64 * 1024));
  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  net::post(p.ioc, [&p, &big] {
    p.append(big);
    net::post(p.ioc, [&p] { p.append("zzz"); });
  });
  std::string got = p.read_exactly(2 + big.size() + 5);
  EXPECT_EQ(got.compare(2, big.size(), big), 0);
  EXPECT_EQ(got.substr(2 + big.size()), std::string("\x81\x00" "zzz", 5));
  auto writes = p.wait_written(big.size() + 3);
  std::size_t credited = 0;
  for (auto w : writes) credited += w;
  EXPECT_EQ(credited, big.size() + 3);
}
