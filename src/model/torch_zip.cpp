// torch_zip.cpp — see torch_zip.hpp.
#include "model/torch_zip.hpp"

#include <unzip.h>

#include <cstring>

namespace bert_emotion {

namespace {

constexpr size_t kMaxEntries = 1 << 20;
constexpr uint64_t kMaxInflated = uint64_t{1} << 34;  // 16 GiB: beyond any model this engine runs
constexpr uint64_t kMaxDeflateRatio = 1032;           // deflate cannot expand further

[[noreturn]] void fail(CheckpointRule rule, const std::string& source, const std::string& what) {
  throw CheckpointError(rule, source + ": " + what);
}

// minizip's handle, closed on every path.
struct Unzip {
  explicit Unzip(const std::string& path) : h(unzOpen64(path.c_str())) {}
  ~Unzip() {
    if (h != nullptr) unzClose(h);
  }
  Unzip(const Unzip&) = delete;
  Unzip& operator=(const Unzip&) = delete;
  unzFile h;
};

// A non-zip file that torch.save could have written before 1.6 (a raw pickle, or the older tar).
bool looks_legacy(std::span<const uint8_t> b) {
  if (b.size() >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) return true;  // pickle PROTO
  return b.size() >= 262 && std::memcmp(b.data() + 257, "ustar", 5) == 0;
}

}  // namespace

std::shared_ptr<TorchZip> TorchZip::open(const std::filesystem::path& path) {
  std::shared_ptr<TorchZip> z(new TorchZip());
  z->file_ = MappedFile::open(path);
  const std::string& src = z->file_->source();
  const auto bytes = z->file_->bytes();
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "PK\x03\x04", 4) != 0) {
    if (looks_legacy(bytes))
      fail(CheckpointRule::LegacyFormat, src,
           "a legacy (pre-1.6, non-zip) torch.save file; only the zip format is read. Re-save it with "
           "torch>=1.6 (torch.save(torch.load(f), f)) or convert it to safetensors");
    fail(CheckpointRule::BadZip, src, "not a PyTorch checkpoint (expected a zip archive starting with PK\\x03\\x04)");
  }
  Unzip zip(path.string());
  if (zip.h == nullptr)
    fail(CheckpointRule::BadZip, src, "not a complete zip archive (no readable central directory: truncated?)");

  const uint64_t file_size = bytes.size();
  int rc = unzGoToFirstFile(zip.h);
  while (rc == UNZ_OK) {
    if (z->entries_.size() >= kMaxEntries)
      fail(CheckpointRule::EntryTooLarge, src, "more than " + std::to_string(kMaxEntries) + " zip entries");
    unz_file_info64 info{};
    char name_buf[1024];
    if (unzGetCurrentFileInfo64(zip.h, &info, name_buf, sizeof name_buf, nullptr, 0, nullptr, 0) != UNZ_OK ||
        info.size_filename >= sizeof name_buf)
      fail(CheckpointRule::BadZip, src, "unreadable zip directory record #" + std::to_string(z->entries_.size()));
    const std::string name(name_buf, info.size_filename);
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED)
      fail(CheckpointRule::BadZip, src,
           "entry " + name + " uses compression method " + std::to_string(info.compression_method) +
               " (expected stored or deflated)");
    if (info.compressed_size > file_size)
      fail(CheckpointRule::EntryTooLarge, src,
           "entry " + name + " claims " + std::to_string(info.compressed_size) + " bytes but the file has " +
               std::to_string(file_size));
    Entry e;
    e.stored = info.compression_method == 0;
    e.compressed = info.compressed_size;
    e.size = info.uncompressed_size;
    if (e.stored && e.size != e.compressed)
      fail(CheckpointRule::BadZip, src,
           "stored entry " + name + " has sizes " + std::to_string(e.compressed) + " / " + std::to_string(e.size) +
               " (a stored entry's must be equal)");
    if (!e.stored && (e.size > kMaxInflated || e.size > e.compressed * kMaxDeflateRatio + 1024))
      fail(CheckpointRule::EntryTooLarge, src,
           "deflated entry " + name + " claims " + std::to_string(e.size) + " bytes from " +
               std::to_string(e.compressed) + " compressed");
    // Opening the entry checks its local header against the directory and finds its data.
    if (unzOpenCurrentFile(zip.h) != UNZ_OK)
      fail(CheckpointRule::BadZip, src,
           "entry " + name + ": local header missing or inconsistent (truncated or encrypted?)");
    e.data_offset = unzGetCurrentFileZStreamPos64(zip.h);
    unzCloseCurrentFile(zip.h);
    if (e.data_offset > file_size || e.compressed > file_size - e.data_offset)
      fail(CheckpointRule::EntryTooLarge, src,
           "entry " + name + " claims " + std::to_string(e.compressed) + " bytes at offset " +
               std::to_string(e.data_offset) + " but the file has only " + std::to_string(file_size) +
               " bytes (truncated?)");
    // Everything lives under one top folder, named after the first entry's.
    const size_t slash = name.find('/');
    if (slash == std::string::npos || slash == 0)
      fail(CheckpointRule::BadZip, src, "entry " + name + " is not inside a top folder (expected archive/...)");
    const std::string top = name.substr(0, slash);
    if (z->prefix_.empty()) z->prefix_ = top;
    if (top == z->prefix_) {
      if (!z->entries_.emplace(name.substr(slash + 1), std::move(e)).second)
        fail(CheckpointRule::BadZip, src, "entry " + name + " appears twice");
    }
    rc = unzGoToNextFile(zip.h);
  }
  if (rc != UNZ_END_OF_LIST_OF_FILE) fail(CheckpointRule::BadZip, src, "zip directory is damaged (truncated?)");
  if (!z->has("data.pkl"))
    fail(CheckpointRule::MissingEntry, src,
         "no " + (z->prefix_.empty() ? std::string("archive") : z->prefix_) +
             "/data.pkl entry (not a torch.save checkpoint)");
  if (z->has("byteorder")) {
    const auto order = z->entry("byteorder");
    if (std::string(order.begin(), order.end()) != "little")
      throw UnsupportedError(src + ": a big-endian checkpoint (byteorder '" + std::string(order.begin(), order.end()) +
                             "'); only little-endian is supported");
  }
  return z;
}

bool TorchZip::mapped(const std::string& name) const {
  auto it = entries_.find(name);
  return it != entries_.end() && it->second.stored;
}

std::span<const uint8_t> TorchZip::entry(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(CheckpointRule::MissingEntry, source(), "no entry " + prefix_ + "/" + name);
  Entry& e = it->second;
  if (e.stored) return file_->bytes().subspan(e.data_offset, e.size);
  if (!e.loaded) {
    // Re-open the directory to inflate; rare (torch.save never deflates).
    Unzip zip(source());
    const std::string full = prefix_ + "/" + name;
    if (zip.h == nullptr || unzLocateFile(zip.h, full.c_str(), 1) != UNZ_OK || unzOpenCurrentFile(zip.h) != UNZ_OK)
      fail(CheckpointRule::BadZip, source(), "cannot reopen entry " + full);
    std::vector<uint8_t> out;
    uint8_t chunk[1 << 16];
    while (true) {
      const int n = unzReadCurrentFile(zip.h, chunk, sizeof chunk);
      if (n < 0) fail(CheckpointRule::BadZip, source(), "entry " + full + ": corrupt deflate data");
      if (n == 0) break;
      if (out.size() + static_cast<size_t>(n) > e.size)
        fail(CheckpointRule::BadZip, source(),
             "entry " + full + " inflates past its declared " + std::to_string(e.size) + " bytes");
      out.insert(out.end(), chunk, chunk + n);
    }
    if (unzCloseCurrentFile(zip.h) != UNZ_OK || out.size() != e.size)
      fail(CheckpointRule::BadZip, source(),
           "entry " + full + ": CRC or size mismatch (" + std::to_string(out.size()) + " of " + std::to_string(e.size) +
               " bytes)");
    e.inflated = std::move(out);
    e.loaded = true;
  }
  return e.inflated;
}

}  // namespace bert_emotion
