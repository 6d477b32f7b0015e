// line_input.cpp — streamed input lines for predict and tokenize; see line_input.hpp.
#include "cli/line_input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "data/dataset.hpp"
#include "tokenizer/unicode.hpp"
#include "util/error.hpp"

namespace bert_emotion::cli {

namespace {
constexpr size_t kReadChunk = 1 << 16;
}  // namespace

Utf8Policy parse_utf8_policy(const std::string& name) {
  if (name == "error") return Utf8Policy::Error;
  if (name == "replace") return Utf8Policy::Replace;
  if (name == "skip") return Utf8Policy::Skip;
  throw InvalidArgument("--on-invalid-utf8 must be error, replace or skip (got '" + name + "')");
}

bool apply_utf8_policy(std::string& text, Utf8Policy policy, const std::string& where, bool first_line) {
  const size_t bad = unicode::find_invalid_utf8(text);
  if (bad == std::string::npos) return true;
  switch (policy) {
    case Utf8Policy::Replace: text = replace_invalid_utf8(text); return true;
    case Utf8Policy::Skip: return false;
    case Utf8Policy::Error: break;
  }
  throw Utf8Error(invalid_utf8_message(text, bad, where, first_line) +
                      " (--on-invalid-utf8 replace or skip reads on past such lines)",
                  bad);
}

LineInput::LineInput(const std::string& path, Utf8Policy policy, bool strip_bom_and_cr)
    : source_(path == "-" ? "<stdin>" : path), policy_(policy), strip_(strip_bom_and_cr) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError("cannot open " + path + ": " + std::strerror(errno));
    owns_fd_ = true;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (owns_fd_) ::close(fd_);
    fd_ = -1;
    throw IoError(source_ + " is a directory: expected a file with one text per line (or - for stdin)");
  }
}

LineInput::~LineInput() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool LineInput::read_some(bool wait) {
  if (eof_) return false;
  if (!wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;  // nothing ready (regular files always are)
  }
  if (pos_ > 0) {  // keep only the unread tail: memory stays one chunk plus the current line
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  ssize_t n;
  do {
    n = ::read(fd_, buf_.data() + old, kReadChunk);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    buf_.resize(old);
    throw IoError("cannot read " + source_ + ": " + std::strerror(err));
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

bool LineInput::take_line(std::string& line) {
  const size_t nl = buf_.find('\n', pos_);
  if (nl == std::string::npos && !(eof_ && pos_ < buf_.size())) return false;
  const size_t end = nl == std::string::npos ? buf_.size() : nl;
  line.assign(buf_, pos_, end - pos_);
  pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
  ++line_no_;
  if (strip_) {
    if (line_no_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  return true;
}

bool LineInput::next(std::string& line, bool wait) {
  for (;;) {
    while (take_line(line)) {
      if (apply_utf8_policy(line, policy_, source_ + ":" + std::to_string(line_no_), line_no_ == 1)) return true;
      skipped_.push_back(line_no_);
    }
    if (eof_) return false;
    if (!read_some(wait) && !eof_) return false;  // nothing available now, and not waiting
  }
}

std::vector<std::string> read_all_lines(const std::string& path, Utf8Policy policy, bool strip_bom_and_cr) {
  LineInput in(path, policy, strip_bom_and_cr);
  std::vector<std::string> lines;
  std::string line;
  while (in.next(line, /*wait=*/true)) lines.push_back(std::move(line));
  return lines;
}

}  // namespace bert_emotion::cli
