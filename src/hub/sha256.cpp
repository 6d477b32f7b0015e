// sha256.cpp — SHA-256 through OpenSSL's EVP digest interface.
#include "hub/sha256.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "util/error.hpp"

namespace bert_emotion {
namespace {

struct DigestContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  DigestContext() {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1)
      throw Error("sha256: cannot initialise OpenSSL digest");
  }
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
  void update(const void* data, size_t n) {
    if (EVP_DigestUpdate(ctx, data, n) != 1) throw Error("sha256: digest update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx, digest, &len) != 1) throw Error("sha256: digest final failed");
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
      out.push_back(kDigits[digest[i] >> 4]);
      out.push_back(kDigits[digest[i] & 15]);
    }
    return out;
  }
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  DigestContext d;
  d.update(data.data(), data.size());
  return d.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw IoError("cannot open " + path.string() + ": " + std::strerror(errno));
  DigestContext d;
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) d.update(buf.data(), n);
  if (std::ferror(f.get())) throw IoError("cannot read " + path.string() + ": " + std::strerror(errno));
  return d.hex();
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

}  // namespace bert_emotion
