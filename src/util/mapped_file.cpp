// mapped_file.cpp — see mapped_file.hpp.
#include "util/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace bert_emotion {

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->source_ = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path.string() + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw IoError(path.string() + ": cannot stat: " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(path.string() + ": not a regular file");
  }
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      throw IoError(path.string() + ": cannot mmap " + std::to_string(f->size_) + " bytes: " + std::strerror(e));
    }
    f->mapping_ = p;
    f->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid
  return f;
}

MappedFile::~MappedFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

void release_mapped_pages(std::span<const uint8_t> range) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t skip = (page - reinterpret_cast<uintptr_t>(range.data()) % page) % page;  // to the first page boundary
  if (range.size() < skip + page) return;
  const size_t length = (range.size() - skip) / page * page;
  // madvise takes a non-const pointer; MADV_DONTNEED writes nothing. Advice only: a failure leaves
  // the pages resident, which costs memory, not correctness.
  (void)::madvise(const_cast<uint8_t*>(range.data()) + skip, length, MADV_DONTNEED);
}

}  // namespace bert_emotion
