// http_connections.cpp — the bounded connection pool and our per-connection loop; see the header.
#include "serve/http_connections.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>

namespace bert_emotion::serve {

namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_rejecting = false;    // this task runs because the wait list is full
thread_local bool t_close_after = false;  // a handler asked to end the connection after its answer

int poll_one(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r;
}

int to_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

// A socket as httplib's Stream, with a small read buffer: httplib reads request lines a byte at a time.
class SocketStream : public httplib::Stream {
 public:
  SocketStream(socket_t sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override { return poll_one(sock_, POLLIN, read_timeout_ms_) > 0; }
  bool is_writable() const override { return poll_one(sock_, POLLOUT, write_timeout_ms_) > 0; }

  ssize_t read(char* ptr, size_t size) override {
    size = std::min<size_t>(size, INT_MAX);
    if (off_ < len_) return take(ptr, size);
    if (!is_readable()) return -1;
    off_ = len_ = 0;
    ssize_t n;
    do n = ::recv(sock_, buf_, sizeof buf_, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    len_ = static_cast<size_t>(n);
    return take(ptr, size);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(::getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(::getsockname, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  ssize_t take(char* ptr, size_t size) {
    const size_t n = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }
  void address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (get(sock_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) != 0)
      return;
    ip = host;
    port = std::atoi(serv);
  }

  socket_t sock_;
  int read_timeout_ms_, write_timeout_ms_;
  char buf_[4096];
  size_t off_ = 0, len_ = 0;
};

// Half-closes, then reads and drops what the client still sends (at most `max_bytes`, 1 s), so that
// closing does not reset a connection whose answer the client has not read yet.
void lingering_close(socket_t sock, size_t max_bytes) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  char buf[4096];
  size_t drained = 0;
  while (drained <= max_bytes) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || poll_one(sock, POLLIN, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace

ConnectionPool::ConnectionPool(size_t workers, size_t max_waiting)
    : max_workers_(std::max<size_t>(workers, 1)), max_waiting_(max_waiting) {}

ConnectionPool::~ConnectionPool() { shutdown(); }

bool ConnectionPool::rejecting() { return t_rejecting; }

size_t ConnectionPool::threads_started() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  {
    std::unique_lock lock(mutex_);
    const bool worker_free = idle_ > jobs_.size() || threads_.size() < max_workers_;
    if (shutdown_ || (!worker_free && jobs_.size() >= max_waiting_)) {
      lock.unlock();
      t_rejecting = true;  // the task answers 429 without reading and closes its socket
      fn();
      t_rejecting = false;
      return;
    }
    jobs_.push_back(std::move(fn));
    waiting_ = jobs_.size();
    if (idle_ < jobs_.size() && threads_.size() < max_workers_) threads_.emplace_back([this] { work(); });
  }
  cond_.notify_one();
}

void ConnectionPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    cond_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
    --idle_;
    if (jobs_.empty()) return;  // shut down and nothing left
    std::function<void()> fn = std::move(jobs_.front());
    jobs_.pop_front();
    waiting_ = jobs_.size();
    lock.unlock();
    fn();
    lock.lock();
  }
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
    threads.swap(threads_);
  }
  cond_.notify_all();
  for (auto& t : threads) t.join();
}

void HttpServer::raise_backlog(int backlog) {
  const socket_t fd = svr_sock_;
  if (fd != INVALID_SOCKET) ::listen(fd, backlog);
}

size_t HttpServer::backlog_length() const {
  const socket_t fd = svr_sock_;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (fd == INVALID_SOCKET || ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_unacked;  // for a listening socket: connections waiting in accept's queue
}

// Polls in short slices so that an idle connection notices pressure or shutdown quickly. A new
// connection (first request) waits for its request even under pressure: it has had its turn.
bool HttpServer::wait_for_request(socket_t sock, bool first) const {
  const auto deadline = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
  for (;;) {
    const bool stopping = policy_.stopping && policy_.stopping->load();
    const int r = poll_one(sock, POLLIN, stopping ? (first ? 100 : 0) : 10);
    if (r != 0) return r > 0;
    if (stopping) return false;
    if (!first && policy_.pool && *policy_.pool && (*policy_.pool)->pressure()) return false;
    if (Clock::now() >= deadline) return false;
  }
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  if (ConnectionPool::rejecting()) {
    const std::string& r = policy_.reject_response;
    [[maybe_unused]] const ssize_t n = ::send(sock, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);  // best effort
    ::shutdown(sock, SHUT_WR);
    ::close(sock);
    return false;
  }
  SocketStream strm(sock, to_ms(read_timeout_sec_, read_timeout_usec_), to_ms(write_timeout_sec_, write_timeout_usec_));
  bool ok = false;
  t_close_after = false;
  for (size_t served = 0; served < keep_alive_max_count_ && wait_for_request(sock, served == 0); ++served) {
    const bool busy = policy_.pool && *policy_.pool && (*policy_.pool)->pressure();
    const bool stopping = policy_.stopping && policy_.stopping->load();
    const bool last = served + 1 == keep_alive_max_count_ || busy || stopping;
    bool client_closed = false;
    ok = process_request(strm, last, client_closed, {});
    if (!ok || client_closed || last || t_close_after) break;
  }
  if (t_close_after) lingering_close(sock, policy_.linger_bytes);
  t_close_after = false;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

void close_after_response(httplib::Response& res) {
  t_close_after = true;
  res.set_header("Connection", "close");
}

}  // namespace bert_emotion::serve
