// fuzz_common.hpp — helpers shared by the libFuzzer targets in fuzz/.
//
// Each target feeds untrusted bytes to one parser and accepts only the engine's documented failure
// modes (the typed exceptions of util/error.hpp, or serve::ApiError for request bodies). Anything
// else — another exception type escaping, a crash, an ASan/UBSan report, a broken invariant
// (FUZZ_CHECK) — aborts, so libFuzzer saves the input as a crash-* file.
//
// Parsers that only read files get the input through a per-process scratch directory on tmpfs:
//
//   const auto path = fuzz::scratch_dir() / "train.csv";
//   fuzz::write_bytes(path, data, size);
//   try { load_dataset(path, "", {}); } catch (const bert_emotion::Error&) {}
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace fuzz {

// /dev/shm (tmpfs) when available, so the per-input file writes do not touch the disk.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    auto d = base / ("bert-emotion-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_bytes(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  FUZZ_CHECK(out.good());
}

inline void write_bytes(const std::filesystem::path& path, const std::string& s) {
  write_bytes(path, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace fuzz
