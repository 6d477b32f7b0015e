// sha256.hpp — SHA-256 of files and strings (OpenSSL libcrypto EVP), as lower-case hex.
//
// The hub names LFS files by their SHA-256 (X-Linked-Etag); a downloaded blob is accepted only
// when its digest matches.
//
//   std::string hex = bert_emotion::sha256_file_hex("blobs/abc.incomplete");
//   bool lfs = bert_emotion::is_sha256_hex(etag);
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace bert_emotion {

std::string sha256_hex(std::string_view data);
// Streams the file; throws IoError naming it.
std::string sha256_file_hex(const std::filesystem::path& path);
// 64 hex digits (either case).
bool is_sha256_hex(std::string_view s);

}  // namespace bert_emotion
