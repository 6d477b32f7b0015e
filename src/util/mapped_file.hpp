// mapped_file.hpp — a whole file mapped read-only (mmap), shared by whoever holds views into it.
//
// Checkpoint readers hand out pointers into the mapping instead of copying tensors; a
// shared_ptr<MappedFile> kept beside those pointers keeps them valid.
//
//   auto f = MappedFile::open("pytorch_model.bin");          // IoError naming the file on failure
//   std::span<const uint8_t> all = f->bytes();
//   release_mapped_pages(all.subspan(4096, n));              // no longer resident; re-read if touched
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace bert_emotion {

class MappedFile {
 public:
  // IoError if `path` cannot be opened, is not a regular file, or cannot be mapped.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& source() const { return source_; }

 private:
  MappedFile() = default;
  std::string source_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;
};

// Drops this process's resident pages that lie wholly inside `range`, which must be part of a
// MappedFile's (read-only, never written) mapping: touching them again re-reads them from the file,
// so the contents seen do not change. For tensors the engine holds a copy of in another layout.
// Never call it on heap memory (there it would zero the pages).
void release_mapped_pages(std::span<const uint8_t> range);

}  // namespace bert_emotion
