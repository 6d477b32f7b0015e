// test_support.hpp — small helpers shared by the test executables.
//
//   TempDir tmp;                                   // a fresh folder, removed with everything in it
//   spit(tmp.path / "a.txt", "bytes");             // write a file (binary, truncating)
//   std::string s = slurp(tmp.path / "a.txt");     // read a whole file ("" if it cannot be read)
//   std::string msg = error_of<FormatError>([&] { parse(...); });  // what() of the E thrown
//   nlohmann::json j = read_json_fixture(path, "tools/make_forward_fixtures.sh");
//
// unset_before_tests({...}) clears environment variables before any test of the binary runs.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bert_emotion::testing_support {

namespace fs = std::filesystem;

// A fresh folder under the system temp directory, removed (with its contents) on destruction.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "bert-emotion-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The message of the exception `f` throws as E (fails the test if it throws nothing).
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

// A JSON fixture; a missing one throws, naming the script that makes it.
inline nlohmann::json read_json_fixture(const std::string& path, const std::string& made_by) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("missing fixture " + path + " (" + made_by + ")");
  return nlohmann::json::parse(f);
}

// Unsets the given variables before the tests run, so that a developer's shell cannot change what
// they see (registered by unset_before_tests).
class UnsetEnvironment : public ::testing::Environment {
 public:
  explicit UnsetEnvironment(std::initializer_list<const char*> vars) : vars_(vars) {}
  void SetUp() override {
    for (const char* v : vars_) ::unsetenv(v);
  }

 private:
  std::vector<const char*> vars_;
};

// Registers an UnsetEnvironment for `vars`; call once per binary, at namespace scope:
//   [[maybe_unused]] const auto* const kCleanEnv = unset_before_tests({"HF_HOME", "HF_TOKEN"});
inline ::testing::Environment* unset_before_tests(std::initializer_list<const char*> vars) {
  return ::testing::AddGlobalTestEnvironment(new UnsetEnvironment(vars));
}

}  // namespace bert_emotion::testing_support
