// atomic_file.hpp — write files and directories so that a crash never leaves half of one.
//
// Every file the engine produces (weights, configs, results, checkpoints) is written to a temporary
// name in the same directory, flushed with fsync, then renamed over the final name. A reader sees
// either the old complete file or the new complete one.
//
//   bert_emotion::write_file_atomic("out/config.json", json_text);
//   AtomicFile f("out/model.safetensors");  f.write(bytes, n);  f.commit();  // or destroy = discard
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace bert_emotion {

// Writes to `<path>.tmp-<pid>-<n>`; commit() fsyncs and renames onto `path` (and fsyncs the directory).
// If commit() is never called the temporary file is removed. Throws IoError naming the path
// (disk full, permission denied, file-size limit).
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// Reads a whole file; throws IoError naming it.
std::string read_file(const std::filesystem::path& path);

// Fsync a directory so that renames inside it are durable.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace bert_emotion
