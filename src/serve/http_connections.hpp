// http_connections.hpp — how the server holds connections: a bounded worker pool and a cpp-httplib
// server whose per-connection loop we own.
//
// cpp-httplib gives each accepted connection to a TaskQueue and serves it on one thread for its
// whole keep-alive life. Its ThreadPool queues connections without bound, so with every worker busy
// a request neither runs nor gets 429: it waits unseen. Here:
//   ConnectionPool  starts up to `workers` threads on demand; at most `max_waiting` accepted
//                   connections wait for one; a connection beyond that is run on the accepting
//                   thread with rejecting() true, where HttpServer answers a canned 429 without
//                   reading (nothing blocks) and closes it.
//                   pressure() says connections are waiting, so idle keep-alive connections yield.
//   HttpServer      replaces httplib's per-connection loop: it serves requests with its own socket
//                   stream, closes an idle keep-alive connection early under pressure or once the
//                   server is stopping, closes after any response marked close_after_response(), and
//                   then drains what the client still sends (a "lingering close": closing with
//                   unread bytes would reset the connection and the client could lose the answer).
//
//   auto http = std::make_unique<HttpServer>();
//   http->new_task_queue = [&] { pool = new ConnectionPool(workers, 512); return pool; };
//   http->set_policy({&pool, &stopping, payload_limit, canned_429});   // before listen
//   // in a handler: close_after_response(res);      // this answer ends the connection
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bert_emotion::serve {

// A TaskQueue with a bounded number of threads (started lazily) and a bounded wait list.
class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(size_t workers, size_t max_waiting);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs every waiting task, then joins the threads

  bool pressure() const { return waiting_.load() > 0; }
  size_t threads_started() const;
  static bool rejecting();  // true inside a task run by enqueue() because the wait list is full

 private:
  void work();

  const size_t max_workers_;
  const size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
  std::atomic<size_t> waiting_{0};
};

// What the connection loop needs from the application.
struct ConnectionPolicy {
  const ConnectionPool* const* pool = nullptr;  // the live pool (httplib creates it in listen)
  const std::atomic<bool>* stopping = nullptr;  // true: close idle connections, serve what is readable
  size_t linger_bytes = 0;                      // most bytes drained after closing with unread input
  std::string reject_response;                  // raw HTTP answer for a connection over the wait list
};

class HttpServer : public httplib::Server {
 public:
  void set_policy(ConnectionPolicy p) { policy_ = std::move(p); }
  // Linux lets listen() be called again to raise the backlog (httplib compiles in 5).
  void raise_backlog(int backlog);
  // Connections accepted by the kernel but not yet by us (TCP_INFO of the listening socket).
  size_t backlog_length() const;

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool wait_for_request(socket_t sock, bool first) const;

  ConnectionPolicy policy_;
};

// Marks the response being written on this thread as the connection's last ("Connection: close").
void close_after_response(httplib::Response& res);

}  // namespace bert_emotion::serve
