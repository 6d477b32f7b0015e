// tokenizer_files.hpp — helpers the tokenizer loaders share (private to src/tokenizer):
// reading files, JSON field access with errors that name the file and field, and the settings
// Transformers keeps beside the tokenizer files (tokenizer_config.json, special_tokens_map.json,
// config.json). tokenizer_files.cpp loads tokenizer.json and vocab.txt; bpe_files.cpp the BPE
// model of a tokenizer.json and vocab.json + merges.txt.
//
//   JsonFile f{path};
//   bool b = f.get_bool(obj, "lstrip", false, "added_tokens[3].lstrip");  // FormatError names the field
//   SideFiles side = read_side_files(dir, {}, {});
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/tokenizer_impl.hpp"
#include "util/error.hpp"

namespace bert_emotion {
class Tokenizer;
}

namespace bert_emotion::tokenizer_files {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_text_file(const fs::path& path);
json read_json(const fs::path& path);  // FormatError naming the file on invalid JSON

// Typed field access with errors that name the file and the field.
struct JsonFile {
  fs::path path;

  [[noreturn]] void fail(const std::string& field, const std::string& expected) const {
    throw FormatError(path.string() + ": field '" + field + "' " + expected);
  }
  const json* find(const json& obj, const std::string& key) const {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  bool get_bool(const json& obj, const std::string& key, bool fallback, const std::string& field) const {
    const json* v = find(obj, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(field, "must be true or false");
    return v->get<bool>();
  }
  std::string get_string(const json& obj, const std::string& key, const std::string& field) const {
    const json* v = find(obj, key);
    if (!v || !v->is_string()) fail(field, "must be a string");
    return v->get<std::string>();
  }
  int64_t get_int(const json& obj, const std::string& key, const std::string& field) const {
    const json* v = find(obj, key);
    if (!v || !v->is_number_integer()) fail(field, "must be an integer");
    return v->get<int64_t>();
  }
};

// An id in [0, 2^30], else FormatError naming the field.
int32_t checked_id(const JsonFile& f, int64_t id, const std::string& field);
// Records id -> token for id_to_token() and vocab_size().
void set_token(TokenizerImpl& tk, int32_t id, const std::string& token);
void check_utf8_field(const JsonFile& f, const std::string& s, const std::string& field);

// Settings around tokenizer.json / vocab.txt / vocab.json in the same directory (Transformers' view).
struct SideFiles {
  json tokenizer_config = json::object();
  json special_tokens_map = json::object();
  json config = json::object();
  fs::path tokenizer_config_path, special_tokens_map_path;
};
// Empty paths: DIR/tokenizer_config.json and DIR/special_tokens_map.json when they exist.
SideFiles read_side_files(const fs::path& dir, const fs::path& tokenizer_config, const fs::path& special_tokens_map);
// A special token entry: "<s>" or {"content": "<s>", "lstrip": ..., ...}; nullopt for null.
std::optional<AddedToken> special_entry(const fs::path& file, const json& v, const std::string& key);
// special_tokens_map.json's entry, else tokenizer_config.json's (Transformers' from_pretrained order).
std::optional<AddedToken> special_token(const SideFiles& s, const std::string& key);
// tokenizer_config.json's model_max_length; 0 when absent or "no limit".
size_t config_model_max_length(const SideFiles& s);
// config.json's max_position_embeddings; 0 when absent.
size_t position_limit(const SideFiles& s);
// pad_id from the pad token of the side files (or config.json's pad_token_id) unless the
// tokenizer.json's padding named one.
void resolve_pad_id(TokenizerImpl& tk, const SideFiles& s, bool pad_from_padding);

// Id of the added token with this content, -1 when none.
int32_t added_id(const TokenizerImpl& tk, const std::string& content);
// Adds `specials` and the side files' additional_special_tokens as special added tokens, skipping
// contents already added: the model vocabulary's id when it has the token, else the next free id.
void add_special_tokens(TokenizerImpl& tk, const SideFiles& side, std::vector<AddedToken> specials);

// tokenizer.json's "model" of type BPE (bpe_files.cpp).
void parse_bpe_model(const JsonFile& f, const json& model, TokenizerImpl& tk);

}  // namespace bert_emotion::tokenizer_files
