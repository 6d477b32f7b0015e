// torch_zip.hpp — the zip container of a PyTorch checkpoint (torch.save since 1.6).
//
// torch.save writes a zip whose entries share one top folder (`archive/` or the file's stem):
// `data.pkl` (the pickle, read by torch_pickle), `data/<key>` (one raw little-endian storage per
// key), `version`, and since 2.x `byteorder` and `.data/serialization_id`. Entries are stored
// uncompressed and 64-byte aligned so that they can be mapped: a stored entry is a span straight
// into the mmap'ed file; a deflated one (a re-zipped checkpoint) is inflated into memory and its
// CRC checked. The directory is read with zlib's minizip (unzGetCurrentFileZStreamPos64 gives an
// entry's data offset, which is what mapping needs), after which every stored entry is checked to
// lie inside the file, so a truncated file or an entry claiming gigabytes is refused up front.
// A file that is not a zip is refused as the legacy pre-1.6 format when it looks like one (a raw
// pickle or a tar), else as not a zip.
//
//   auto zip = TorchZip::open("pytorch_model.bin");          // CheckpointError / IoError
//   std::span<const uint8_t> pkl = zip->entry("data.pkl");    // relative to the top folder
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/checkpoint_error.hpp"
#include "util/mapped_file.hpp"

namespace bert_emotion {

class TorchZip {
 public:
  static std::shared_ptr<TorchZip> open(const std::filesystem::path& path);

  const std::string& source() const { return file_->source(); }
  const std::string& prefix() const { return prefix_; }  // the top folder, e.g. "archive"
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  // The bytes of `prefix/name`: inside the mapping for stored entries, inflated once otherwise.
  // CheckpointError(MissingEntry) if absent.
  std::span<const uint8_t> entry(const std::string& name);
  // Whether `prefix/name` is a stored (mapped, not copied) entry.
  bool mapped(const std::string& name) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  struct Entry {
    uint64_t data_offset = 0;  // into the file
    uint64_t compressed = 0;
    uint64_t size = 0;  // uncompressed
    bool stored = true;
    std::vector<uint8_t> inflated;  // deflated entries, once read
    bool loaded = false;
  };
  TorchZip() = default;
  std::shared_ptr<MappedFile> file_;
  std::string prefix_;
  std::map<std::string, Entry> entries_;  // by name below the prefix
};

}  // namespace bert_emotion
