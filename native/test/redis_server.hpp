// A redis-server of a test's own (Debian's), on a free loopback port, killed at the end:
// never the system service.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net.hpp"

extern char** environ;

namespace roomwire::test_support {

/// A free loopback port: bound, read back, released.
inline int free_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

/// A redis-server of its own: no persistence, loopback only.
class redis_server {
 public:
  explicit redis_server(int port) : port_(port) { start(); }
  ~redis_server() { kill(); }
  void start() {
    std::string p = std::to_string(port_);
    std::vector<std::string> args = {"redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its banner and warnings go to /dev/null: the test's output is the test's.
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    const int spawned = posix_spawnp(&pid_, "redis-server", &quiet, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&quiet);
    if (spawned != 0)
      throw std::runtime_error("cannot start redis-server (is it installed? scripts/setup.sh installs it)");
    // Ready once it accepts a connection (bounded: 5 s).
    for (int i = 0; i < 100; ++i) {
      net::io_context ioc;
      tcp::socket s(ioc);
      error_code ec;
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)), ec);
      if (!ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("redis-server did not start");
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace roomwire::test_support
