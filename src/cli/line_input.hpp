// line_input.hpp — the text lines `predict` and `tokenize` read from --input FILE or stdin ("-"),
// streamed: a line is handed out as soon as it is complete, so `tail -f log | bert-emotion predict`
// answers each line while the pipe stays open, and memory stays bounded by one read buffer plus the
// longest line whatever the input's size.
//
// Lines split on "\n" only; a final newline adds no line. Invalid UTF-8 follows the policy of
// --on-invalid-utf8: `error` (the default) throws Utf8Error naming source:line, the byte and the
// likely encoding (UTF-16 byte-order mark, Latin-1); `replace` puts U+FFFD for each bad byte;
// `skip` drops the line (counted, reported by skipped_lines()). With strip_bom_and_cr (predict),
// a UTF-8 byte-order mark at the start and a "\r" at the end of each line (CRLF files) are removed,
// so they are neither classified nor echoed. A directory or missing file is an IoError at once.
//
//   LineInput in("-", Utf8Policy::Error, /*strip_bom_and_cr=*/true);
//   std::string line;
//   while (true) {
//     if (in.next(line, /*wait=*/batch.empty())) { batch.push_back(line); continue; }
//     if (in.at_end()) break;
//     flush(batch);   // nothing more buffered: answer what we have before blocking
//   }
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bert_emotion::cli {

enum class Utf8Policy { Error, Replace, Skip };

// "error" | "replace" | "skip" (the CLI restricts the choices).
Utf8Policy parse_utf8_policy(const std::string& name);

// Applies `policy` to one text; false means "skip it". `where` names it in the error ("in.txt:3",
// "argument 2"); `first_line` lets the message recognise a UTF-16 byte-order mark.
bool apply_utf8_policy(std::string& text, Utf8Policy policy, const std::string& where, bool first_line);

class LineInput {
 public:
  LineInput(const std::string& path, Utf8Policy policy, bool strip_bom_and_cr);
  ~LineInput();
  LineInput(const LineInput&) = delete;
  LineInput& operator=(const LineInput&) = delete;

  // The next line into `line`. When none is complete yet: with `wait`, blocks until one is (false
  // only at the end of the input); without, reads only what is available now and returns false if
  // that completes no line (at_end() tells whether the input is over).
  bool next(std::string& line, bool wait);
  bool at_end() const { return eof_ && pos_ >= buf_.size(); }

  const std::string& source() const { return source_; }                  // the path, or "<stdin>"
  const std::vector<size_t>& skipped_lines() const { return skipped_; }  // 1-based, with Skip

 private:
  bool read_some(bool wait);  // appends to buf_; false when nothing was read
  bool take_line(std::string& line);

  int fd_ = -1;
  bool owns_fd_ = false;
  std::string source_;
  Utf8Policy policy_;
  bool strip_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  size_t line_no_ = 0;
  std::vector<size_t> skipped_;
};

// Every line of `path` (for inputs that must be read whole, like tokenize's --pair-input).
std::vector<std::string> read_all_lines(const std::string& path, Utf8Policy policy, bool strip_bom_and_cr);

}  // namespace bert_emotion::cli
