// server_socket.hpp — raw loopback HTTP for the server tests: what a client library would not send
// (bad framing, no Content-Length, pieces with pauses) and what it would hide (the exact bytes back).
//
//   Exchange e = exchange(port, post("/predict", R"({"inputs": "hi"})"), /*half_close=*/false);
//   EXPECT_EQ(status_of(e.response), 200);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

namespace bert_emotion::testing_support {

// One connection: sends `request` (optionally in pieces with pauses), optionally half-closes, then
// reads until the server closes or `timeout_s` passes. Returns what came back.
struct Exchange {
  std::string response;
  bool closed_by_server = false;
  double seconds = 0;
};

inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline Exchange exchange(int port, const std::string& request, bool half_close, double timeout_s = 10) {
  Exchange ex;
  const auto start = std::chrono::steady_clock::now();
  const int fd = connect_loopback(port);
  if (fd < 0) return ex;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (e.g. header too large): fine
    sent += static_cast<size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  timeval tv{0, 100000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[65536];
  for (;;) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (t > timeout_s) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      ex.response.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      ex.closed_by_server = true;
      break;
    }
  }
  ::close(fd);
  ex.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return ex;
}

inline std::string post(const std::string& path, const std::string& body, const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

}  // namespace bert_emotion::testing_support
