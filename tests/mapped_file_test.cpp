// MappedFile and release_mapped_pages: released pages leave this process's resident set and read
// back unchanged (re-read from the file), and a range shorter than a page releases nothing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "util/mapped_file.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

// Resident pages of this process (/proc/self/statm's second field), in bytes.
size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t checksum(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace

TEST(MappedFile, ReleasedPagesLeaveTheResidentSetAndReadBackUnchanged) {
  const fs::path path = fs::temp_directory_path() / ("bert_emotion_mapped_file_test_" + std::to_string(::getpid()));
  constexpr size_t kSize = 64u << 20;
  {
    std::vector<uint8_t> bytes(kSize);
    for (size_t i = 0; i < kSize; ++i) bytes[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(kSize));
  }
  {
    const auto f = MappedFile::open(path);
    ASSERT_EQ(f->size(), kSize);
    const uint64_t before = checksum(f->data(), kSize);  // touches every page
    const size_t touched = resident_bytes();
    // An unaligned range: only the pages wholly inside it go.
    release_mapped_pages(f->bytes().subspan(100, kSize - 200));
    const size_t released = resident_bytes();
    EXPECT_GT(touched, released + kSize / 2) << "touched " << touched << " released " << released;
    EXPECT_EQ(checksum(f->data(), kSize), before);  // re-read from the file
    // Less than a page: nothing to release (and nothing breaks).
    release_mapped_pages(f->bytes().subspan(10, 100));
    EXPECT_EQ(checksum(f->data(), kSize), before);
  }
  fs::remove(path);
}
