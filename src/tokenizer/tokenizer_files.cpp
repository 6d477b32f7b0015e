// tokenizer_files.cpp — building a TokenizerImpl from a model directory's tokenizer files.
//
// tokenizer.json: the Hugging Face `tokenizers` serialization (model, normalizer, pre_tokenizer,
// post_processor, added_tokens, truncation, padding). vocab.txt + tokenizer_config.json +
// special_tokens_map.json: the slow BertTokenizer files, converted exactly as Transformers'
// BertConverter does (BertNormalizer(clean_text, tokenize_chinese_chars, strip_accents,
// do_lower_case), BertPreTokenizer, WordPiece "##", "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1").
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/unicode.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace tokenizer_files {

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError("cannot read " + path.string());
  return ss.str();
}

json read_json(const fs::path& path) {
  const std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
    throw FormatError(path.string() + ": invalid JSON: " + e.what());
  }
}

int32_t checked_id(const JsonFile& f, int64_t id, const std::string& field) {
  if (id < 0 || id > (int64_t(1) << 30)) f.fail(field, "must be an id in [0, 2^30], got " + std::to_string(id));
  return int32_t(id);
}

void set_token(TokenizerImpl& tk, int32_t id, const std::string& token) {
  tk.id_to_token[id] = token;
  tk.max_id = std::max(tk.max_id, id);
}

void add_model_token(TokenizerImpl& tk, const std::string& token, int32_t id) {
  tk.vocab.insert(token, id);
  if (tk.prefix.empty()) tk.continuation.insert(token, id);
  else if (token.size() > tk.prefix.size() && token.compare(0, tk.prefix.size(), tk.prefix) == 0)
    tk.continuation.insert(std::string_view(token).substr(tk.prefix.size()), id);
  set_token(tk, id, token);
}

void check_utf8_field(const JsonFile& f, const std::string& s, const std::string& field) {
  if (unicode::find_invalid_utf8(s) != std::string_view::npos) f.fail(field, "is not valid UTF-8");
}

}  // namespace tokenizer_files

namespace {
using namespace tokenizer_files;

// ---- tokenizer.json -----------------------------------------------------------------------------

void parse_normalizer(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const json* n = f.find(root, "normalizer");
  if (!n) {
    tk.normalizer.enabled = false;
    return;
  }
  if (!n->is_object()) f.fail("normalizer", "must be an object or null");
  if (tk.model == ModelKind::kBytePairEncoding)
    throw UnsupportedError(f.path.string() + ": a normalizer with the BPE model is not supported (supported: null)");
  const std::string type = f.get_string(*n, "type", "normalizer.type");
  if (type != "BertNormalizer")
    throw UnsupportedError(f.path.string() + ": normalizer type '" + type +
                           "' is not supported (supported: BertNormalizer or null)");
  auto& s = tk.normalizer;
  s.enabled = true;
  s.clean_text = f.get_bool(*n, "clean_text", true, "normalizer.clean_text");
  s.handle_chinese_chars = f.get_bool(*n, "handle_chinese_chars", true, "normalizer.handle_chinese_chars");
  s.lowercase = f.get_bool(*n, "lowercase", true, "normalizer.lowercase");
  // HF: strip_accents.unwrap_or(lowercase).
  s.strip_accents = f.get_bool(*n, "strip_accents", s.lowercase, "normalizer.strip_accents");
}

void parse_pre_tokenizer(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const bool bpe = tk.model == ModelKind::kBytePairEncoding;
  const char* supported = bpe ? "ByteLevel" : "BertPreTokenizer";
  const json* p = f.find(root, "pre_tokenizer");
  if (!p)
    throw UnsupportedError(f.path.string() + ": pre_tokenizer null is not supported (supported: " + supported + ")");
  if (!p->is_object()) f.fail("pre_tokenizer", "must be an object");
  const std::string type = f.get_string(*p, "type", "pre_tokenizer.type");
  if (type != supported)
    throw UnsupportedError(f.path.string() + ": pre_tokenizer type '" + type + "' is not supported with the " +
                           (bpe ? "BPE" : "WordPiece") + " model (supported: " + supported + ")");
  if (bpe) {  // trim_offsets only matters when ByteLevel is the post-processor
    tk.add_prefix_space = f.get_bool(*p, "add_prefix_space", true, "pre_tokenizer.add_prefix_space");
    tk.use_regex = f.get_bool(*p, "use_regex", true, "pre_tokenizer.use_regex");
  }
}

void parse_model(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const json* m = f.find(root, "model");
  if (!m || !m->is_object()) f.fail("model", "must be an object");
  std::string type;
  if (f.find(*m, "type")) type = f.get_string(*m, "type", "model.type");
  else if (f.find(*m, "continuing_subword_prefix") && f.find(*m, "max_input_chars_per_word")) type = "WordPiece";
  else if (f.find(*m, "merges")) type = "BPE";
  if (type == "BPE") {
    tk.model = ModelKind::kBytePairEncoding;
    parse_bpe_model(f, *m, tk);
    return;
  }
  if (type != "WordPiece")
    throw UnsupportedError(f.path.string() + ": model type '" + (type.empty() ? "(none)" : type) +
                           "' is not supported (supported: WordPiece, BPE)");
  tk.unk_token = f.get_string(*m, "unk_token", "model.unk_token");
  if (f.find(*m, "continuing_subword_prefix"))
    tk.prefix = f.get_string(*m, "continuing_subword_prefix", "model.continuing_subword_prefix");
  if (f.find(*m, "max_input_chars_per_word")) {
    int64_t v = f.get_int(*m, "max_input_chars_per_word", "model.max_input_chars_per_word");
    if (v < 0) f.fail("model.max_input_chars_per_word", "must be >= 0");
    tk.max_input_chars_per_word = size_t(v);
  }
  const json* vocab = f.find(*m, "vocab");
  if (!vocab || !vocab->is_object()) f.fail("model.vocab", "must be an object of token -> id");
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it->is_number_integer()) f.fail("model.vocab[\"" + it.key() + "\"]", "must be an integer id");
    check_utf8_field(f, it.key(), "model.vocab key");
    add_model_token(tk, it.key(), checked_id(f, it->get<int64_t>(), "model.vocab[\"" + it.key() + "\"]"));
  }
  tk.unk_id = tk.vocab.find(tk.unk_token);
  if (tk.unk_id < 0) f.fail("model.unk_token", "'" + tk.unk_token + "' is not in model.vocab");
}

void parse_added_tokens(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const json* a = f.find(root, "added_tokens");
  if (!a) return;
  if (!a->is_array()) f.fail("added_tokens", "must be an array");
  // Ids as HF's AddedVocabulary assigns them while loading (the file's "id" is only checked there
  // with a warning): an added token already known, or present in the model vocabulary, keeps that
  // id; any other gets max(added ids) + 1, or the model vocabulary size when that is larger.
  const auto model_size = int32_t(tk.model_size());
  int32_t max_added = -1;
  auto assign_id = [&](const std::string& content) {
    for (const auto& t : tk.added_tokens)
      if (t.content == content) return t.id;
    if (int32_t id = tk.model_find(content); id >= 0) return id;
    return max_added >= model_size ? max_added + 1 : model_size;
  };
  for (size_t i = 0; i < a->size(); ++i) {
    const json& t = (*a)[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) f.fail(field, "must be an object");
    AddedToken tok;
    checked_id(f, f.get_int(t, "id", field + ".id"), field + ".id");
    tok.content = f.get_string(t, "content", field + ".content");
    check_utf8_field(f, tok.content, field + ".content");
    if (tok.content.empty()) f.fail(field + ".content", "must not be empty");
    tok.id = assign_id(tok.content);
    max_added = std::max(max_added, tok.id);
    tok.special = f.get_bool(t, "special", false, field + ".special");
    tok.single_word = f.get_bool(t, "single_word", false, field + ".single_word");
    tok.lstrip = f.get_bool(t, "lstrip", false, field + ".lstrip");
    tok.rstrip = f.get_bool(t, "rstrip", false, field + ".rstrip");
    tok.normalized = f.get_bool(t, "normalized", !tok.special, field + ".normalized");
    set_token(tk, tok.id, tok.content);
    tk.added_tokens.push_back(std::move(tok));
  }
}

TemplatePiece special_piece(const JsonFile& f, const json& special_tokens, const std::string& name, uint8_t type_id,
                            const std::string& field) {
  TemplatePiece p;
  p.type_id = type_id;
  const json* st = f.find(special_tokens, name);
  if (!st) f.fail(field, "names special token '" + name + "' missing from post_processor.special_tokens");
  const std::string sfield = "post_processor.special_tokens[\"" + name + "\"]";
  const json* ids = f.find(*st, "ids");
  const json* toks = f.find(*st, "tokens");
  if (!ids || !ids->is_array() || !toks || !toks->is_array() || ids->size() != toks->size() || ids->empty())
    f.fail(sfield, "must have non-empty 'ids' and 'tokens' arrays of equal length");
  for (size_t i = 0; i < ids->size(); ++i) {
    if (!(*ids)[i].is_number_integer() || !(*toks)[i].is_string()) f.fail(sfield, "has a malformed id or token");
    p.ids.push_back(checked_id(f, (*ids)[i].get<int64_t>(), sfield + ".ids"));
    p.tokens.push_back((*toks)[i].get<std::string>());
  }
  return p;
}

std::vector<TemplatePiece> parse_template(const JsonFile& f, const json& pp, const std::string& key) {
  const json* tpl = f.find(pp, key);
  const std::string field = "post_processor." + key;
  if (!tpl || !tpl->is_array()) f.fail(field, "must be an array");
  const json* special_tokens = f.find(pp, "special_tokens");
  static const json kEmpty = json::object();
  std::vector<TemplatePiece> out;
  for (size_t i = 0; i < tpl->size(); ++i) {
    const json& item = (*tpl)[i];
    const std::string ifield = field + "[" + std::to_string(i) + "]";
    if (const json* s = f.find(item, "SpecialToken")) {
      int64_t type_id = f.find(*s, "type_id") ? f.get_int(*s, "type_id", ifield + ".type_id") : 0;
      out.push_back(special_piece(f, special_tokens ? *special_tokens : kEmpty,
                                  f.get_string(*s, "id", ifield + ".SpecialToken.id"), uint8_t(type_id), ifield));
    } else if (const json* q = f.find(item, "Sequence")) {
      const std::string id = f.get_string(*q, "id", ifield + ".Sequence.id");
      if (id != "A" && id != "B") f.fail(ifield + ".Sequence.id", "must be \"A\" or \"B\"");
      TemplatePiece p;
      p.sequence = id == "A" ? 0 : 1;
      p.type_id = uint8_t(f.find(*q, "type_id") ? f.get_int(*q, "type_id", ifield + ".type_id") : 0);
      out.push_back(std::move(p));
    } else {
      f.fail(ifield, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  return out;
}

// [token, id] of BertProcessing / RobertaProcessing as a one-token template piece.
TemplatePiece token_id_pair(const JsonFile& f, const json& pp, const std::string& field, const char* key) {
  const json* v = f.find(pp, key);
  const std::string name = field + "." + key;
  if (!v || !v->is_array() || v->size() != 2 || !(*v)[0].is_string() || !(*v)[1].is_number_integer())
    f.fail(name, "must be [token, id]");
  TemplatePiece p;
  p.tokens.push_back((*v)[0].get<std::string>());
  p.ids.push_back(checked_id(f, (*v)[1].get<int64_t>(), name));
  return p;
}

// One post-processor (`field` names it in errors); Sequence recurses.
void parse_processor(const JsonFile& f, const json& pp, const std::string& field, TokenizerImpl& tk) {
  if (!pp.is_object()) f.fail(field, "must be an object or null");
  const std::string type = f.get_string(pp, "type", field + ".type");
  TemplatePiece a, b;
  a.sequence = 0;
  b.sequence = 1;
  if (type == "TemplateProcessing") {
    tk.single_template = parse_template(f, pp, "single");
    tk.pair_template = parse_template(f, pp, "pair");
  } else if (type == "BertProcessing") {
    TemplatePiece cls = token_id_pair(f, pp, field, "cls"), sep = token_id_pair(f, pp, field, "sep");
    b.type_id = 1;
    TemplatePiece sep1 = sep;
    sep1.type_id = 1;
    tk.single_template = {cls, a, sep};
    tk.pair_template = {cls, a, sep, b, sep1};
  } else if (type == "RobertaProcessing") {  // <s> A </s> and <s> A </s></s> B </s>, type ids 0
    TemplatePiece cls = token_id_pair(f, pp, field, "cls"), sep = token_id_pair(f, pp, field, "sep");
    tk.single_template = {cls, a, sep};
    tk.pair_template = {cls, a, sep, sep, b, sep};
    tk.trim_offsets = f.get_bool(pp, "trim_offsets", true, field + ".trim_offsets");
    tk.trim_keeps_prefix_space = f.get_bool(pp, "add_prefix_space", true, field + ".add_prefix_space");
  } else if (type == "ByteLevel") {  // offsets only
    tk.trim_offsets = f.get_bool(pp, "trim_offsets", true, field + ".trim_offsets");
    tk.trim_keeps_prefix_space = f.get_bool(pp, "add_prefix_space", true, field + ".add_prefix_space");
  } else if (type == "Sequence") {
    const json* list = f.find(pp, "processors");
    if (!list || !list->is_array()) f.fail(field + ".processors", "must be an array");
    for (size_t i = 0; i < list->size(); ++i)
      parse_processor(f, (*list)[i], field + ".processors[" + std::to_string(i) + "]", tk);
  } else {
    throw UnsupportedError(f.path.string() + ": " + field + " type '" + type +
                           "' is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, "
                           "ByteLevel, Sequence or null)");
  }
}

void parse_post_processor(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  if (const json* pp = f.find(root, "post_processor")) parse_processor(f, *pp, "post_processor", tk);
}

void parse_truncation_and_padding(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  if (const json* t = f.find(root, "truncation")) {
    int64_t max_length = f.get_int(*t, "max_length", "truncation.max_length");
    if (max_length <= 0) f.fail("truncation.max_length", "must be positive");
    tk.max_length = size_t(max_length);
    if (f.find(*t, "strategy")) {
      const std::string s = f.get_string(*t, "strategy", "truncation.strategy");
      if (s == "LongestFirst") tk.strategy = TruncationStrategy::kLongestFirst;
      else if (s == "OnlyFirst") tk.strategy = TruncationStrategy::kOnlyFirst;
      else if (s == "OnlySecond") tk.strategy = TruncationStrategy::kOnlySecond;
      else f.fail("truncation.strategy", "must be LongestFirst, OnlyFirst or OnlySecond, got '" + s + "'");
    }
    if (f.find(*t, "direction")) {
      const std::string d = f.get_string(*t, "direction", "truncation.direction");
      if (d != "Left" && d != "Right") f.fail("truncation.direction", "must be Left or Right");
      tk.truncate_left = d == "Left";
    }
  }
  if (const json* p = f.find(root, "padding")) {
    if (f.find(*p, "pad_id")) tk.pad_id = checked_id(f, f.get_int(*p, "pad_id", "padding.pad_id"), "padding.pad_id");
  }
}

}  // namespace

namespace tokenizer_files {

SideFiles read_side_files(const fs::path& dir, const fs::path& tokenizer_config, const fs::path& special_tokens_map) {
  SideFiles s;
  s.tokenizer_config_path = tokenizer_config.empty() ? dir / "tokenizer_config.json" : tokenizer_config;
  s.special_tokens_map_path = special_tokens_map.empty() ? dir / "special_tokens_map.json" : special_tokens_map;
  if (fs::exists(s.tokenizer_config_path)) s.tokenizer_config = read_json(s.tokenizer_config_path);
  if (fs::exists(s.special_tokens_map_path)) s.special_tokens_map = read_json(s.special_tokens_map_path);
  if (fs::exists(dir / "config.json")) s.config = read_json(dir / "config.json");
  if (!s.tokenizer_config.is_object()) throw FormatError(s.tokenizer_config_path.string() + ": must be a JSON object");
  if (!s.special_tokens_map.is_object())
    throw FormatError(s.special_tokens_map_path.string() + ": must be a JSON object");
  if (!s.config.is_object()) throw FormatError((dir / "config.json").string() + ": must be a JSON object");
  return s;
}

// A special token entry: "[CLS]" or {"content": "[CLS]", "lstrip": ..., ...} (AddedToken dict).
std::optional<AddedToken> special_entry(const fs::path& file, const json& v, const std::string& key) {
  if (v.is_null()) return std::nullopt;
  AddedToken t;
  t.special = true;
  t.normalized = false;
  if (v.is_string()) {
    t.content = v.get<std::string>();
  } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    JsonFile f{file};
    t.content = v["content"].get<std::string>();
    t.lstrip = f.get_bool(v, "lstrip", false, key + ".lstrip");
    t.rstrip = f.get_bool(v, "rstrip", false, key + ".rstrip");
    t.single_word = f.get_bool(v, "single_word", false, key + ".single_word");
    t.normalized = f.get_bool(v, "normalized", false, key + ".normalized");
  } else {
    throw FormatError(file.string() + ": field '" + key + "' must be a string or an object with 'content'");
  }
  if (t.content.empty() || unicode::find_invalid_utf8(t.content) != std::string_view::npos)
    throw FormatError(file.string() + ": field '" + key + "' must be a non-empty UTF-8 string");
  return t;
}

// special_tokens_map.json overrides tokenizer_config.json (Transformers' from_pretrained order).
std::optional<AddedToken> special_token(const SideFiles& s, const std::string& key) {
  if (s.special_tokens_map.contains(key))
    return special_entry(s.special_tokens_map_path, s.special_tokens_map[key], key);
  if (s.tokenizer_config.contains(key)) return special_entry(s.tokenizer_config_path, s.tokenizer_config[key], key);
  return std::nullopt;
}

// tokenizer_config.json's model_max_length (Transformers' truncation=True length); 0 when absent
// or "no limit" (Transformers writes VERY_LARGE_INTEGER, 1e30).
size_t config_model_max_length(const SideFiles& s) {
  if (s.tokenizer_config.contains("model_max_length")) {
    const json& v = s.tokenizer_config["model_max_length"];
    if (v.is_number() && v.get<double>() >= 1 && v.get<double>() < 1e12) return size_t(v.get<double>());
  }
  return 0;
}

// config.json's max_position_embeddings: the longest input the model can take; 0 when absent.
size_t position_limit(const SideFiles& s) {
  if (s.config.contains("max_position_embeddings") && s.config["max_position_embeddings"].is_number_integer()) {
    int64_t v = s.config["max_position_embeddings"].get<int64_t>();
    if (v > 0) return size_t(v);
  }
  return 0;
}

void resolve_pad_id(TokenizerImpl& tk, const SideFiles& s, bool pad_from_padding) {
  if (pad_from_padding) return;
  if (auto pad = special_token(s, "pad_token")) {
    for (const auto& t : tk.added_tokens)
      if (t.content == pad->content) {
        tk.pad_id = t.id;
        return;
      }
    if (int32_t id = tk.model_find(pad->content); id >= 0) {
      tk.pad_id = id;
      return;
    }
  }
  if (s.config.contains("pad_token_id") && s.config["pad_token_id"].is_number_integer())
    tk.pad_id = int32_t(s.config["pad_token_id"].get<int64_t>());
  // else: 0, Transformers' default pad_token_id for BERT-family configs.
}

int32_t added_id(const TokenizerImpl& tk, const std::string& content) {
  for (const auto& a : tk.added_tokens)
    if (a.content == content) return a.id;
  return -1;
}

void add_special_tokens(TokenizerImpl& tk, const SideFiles& side, std::vector<AddedToken> specials) {
  for (const auto& [json_file, path] : {std::pair{&side.special_tokens_map, &side.special_tokens_map_path},
                                        std::pair{&side.tokenizer_config, &side.tokenizer_config_path}}) {
    auto it = json_file->find("additional_special_tokens");
    if (it == json_file->end() || !it->is_array()) continue;
    for (size_t k = 0; k < it->size(); ++k)
      if (auto t = special_entry(*path, (*it)[k], "additional_special_tokens")) specials.push_back(*t);
    break;  // special_tokens_map.json's list replaces tokenizer_config.json's
  }
  int32_t next_id = tk.max_id + 1;
  for (auto& t : specials) {
    if (added_id(tk, t.content) >= 0) continue;
    const int32_t id = tk.model_find(t.content);
    t.id = id >= 0 ? id : next_id++;
    set_token(tk, t.id, t.content);
    tk.added_tokens.push_back(t);
  }
}

}  // namespace tokenizer_files

using namespace tokenizer_files;

void TokenizerImpl::finish() {
  for (const auto* tpl : {&single_template, &pair_template})
    for (const auto& p : *tpl)
      for (int32_t id : p.ids) max_id = std::max(max_id, id);
  max_id = std::max(max_id, pad_id);
  for (auto& t : added_tokens) {
    if (!t.normalized || !normalizer.enabled) continue;
    NormalizedText n;
    bert_normalize(normalizer, t.content, 0, n);
    t.content = n.bytes;
  }
  raw_matcher = {};
  normalized_matcher = {};
  for (const auto& t : added_tokens) {
    if (t.content.empty()) continue;
    // No normalizer: WordPiece matches all in the raw text; BPE keeps HF's two passes.
    const bool two_pass = normalizer.enabled || model == ModelKind::kBytePairEncoding;
    AddedTokenMatcher& m = (t.normalized && two_pass) ? normalized_matcher : raw_matcher;
    m.tokens.push_back(&t);
    m.first_byte[static_cast<unsigned char>(t.content[0])] = true;
  }
  if (!single_template.empty()) {
    for (const auto& p : single_template)
      if (p.sequence < 0) {
        cls_id = p.ids.front();
        break;
      }
    for (auto it = single_template.rbegin(); it != single_template.rend(); ++it)
      if (it->sequence < 0) {
        sep_id = it->ids.back();
        break;
      }
  }
}

Tokenizer Tokenizer::from_tokenizer_json(const fs::path& file) {
  auto tk = std::make_shared<TokenizerImpl>();
  tk->source = file;
  const json root = read_json(file);
  JsonFile f{file};
  if (!root.is_object()) throw FormatError(file.string() + ": must be a JSON object");
  parse_model(f, root, *tk);
  parse_normalizer(f, root, *tk);
  parse_pre_tokenizer(f, root, *tk);
  parse_added_tokens(f, root, *tk);
  parse_post_processor(f, root, *tk);
  parse_truncation_and_padding(f, root, *tk);
  const bool pad_from_padding = f.find(root, "padding") && f.find(root["padding"], "pad_id");

  const SideFiles side = read_side_files(file.parent_path(), {}, {});
  // Default length: model_max_length, else the file's truncation, else the position limit.
  if (size_t m = config_model_max_length(side)) tk->max_length = m;
  else if (tk->max_length == kNoLengthLimit && position_limit(side)) tk->max_length = position_limit(side);
  resolve_pad_id(*tk, side, pad_from_padding);
  if (tk->model == ModelKind::kBytePairEncoding && tk->unk_id < 0)  // unk_id(): the side files' unk token
    if (auto unk = special_token(side, "unk_token")) tk->unk_id = tk->model_find(unk->content);
  tk->finish();
  return Tokenizer(tk);
}

Tokenizer Tokenizer::from_vocab_files(const fs::path& vocab_txt, const fs::path& tokenizer_config,
                                      const fs::path& special_tokens_map) {
  auto tk = std::make_shared<TokenizerImpl>();
  tk->source = vocab_txt;
  const SideFiles side = read_side_files(vocab_txt.parent_path(), tokenizer_config, special_tokens_map);
  JsonFile cfg{side.tokenizer_config_path};
  const json& tc = side.tokenizer_config;

  // Python's readlines() in text mode: universal newlines (\n, \r\n, \r), then rstrip("\n").
  const std::string text = read_text_file(vocab_txt);
  if (size_t bad = unicode::find_invalid_utf8(text); bad != std::string_view::npos)
    throw Utf8Error(vocab_txt.string() + ": invalid UTF-8 at byte " + std::to_string(bad), bad);
  int32_t index = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find_first_of("\r\n", i);
    if (j == std::string::npos) j = text.size();
    add_model_token(*tk, text.substr(i, j - i), index++);
    if (j < text.size() && text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') ++j;
    i = j + 1;
  }
  if (index == 0) throw FormatError(vocab_txt.string() + ": empty vocabulary");

  // BertTokenizer defaults: do_lower_case true, tokenize_chinese_chars true, strip_accents None.
  auto& n = tk->normalizer;
  n.enabled = true;
  n.clean_text = true;
  n.lowercase = cfg.get_bool(tc, "do_lower_case", true, "do_lower_case");
  n.handle_chinese_chars = cfg.get_bool(tc, "tokenize_chinese_chars", true, "tokenize_chinese_chars");
  n.strip_accents = cfg.get_bool(tc, "strip_accents", n.lowercase, "strip_accents");

  // BertTokenizer's default special token strings when the files name none.
  auto token_or = [&](const std::string& key, const char* fallback) {
    AddedToken d;
    d.content = fallback;
    d.special = true;
    return special_token(side, key).value_or(d);
  };
  AddedToken unk = token_or("unk_token", "[UNK]"), sep = token_or("sep_token", "[SEP]"),
             pad = token_or("pad_token", "[PAD]"), cls = token_or("cls_token", "[CLS]"),
             mask = token_or("mask_token", "[MASK]");
  add_special_tokens(*tk, side, {pad, unk, cls, sep, mask});

  tk->unk_token = unk.content;
  tk->unk_id = tk->vocab.find(unk.content);
  if (tk->unk_id < 0)
    throw FormatError(vocab_txt.string() + ": the unk token '" + unk.content + "' is not in the vocabulary");
  auto id_of = [&](const AddedToken& t) { return added_id(*tk, t.content); };
  TemplatePiece cls_p, sep_p, a, b, sep1;
  cls_p.ids = {id_of(cls)};
  cls_p.tokens = {cls.content};
  sep_p.ids = {id_of(sep)};
  sep_p.tokens = {sep.content};
  sep1 = sep_p;
  sep1.type_id = 1;
  a.sequence = 0;
  b.sequence = 1;
  b.type_id = 1;
  tk->single_template = {cls_p, a, sep_p};
  tk->pair_template = {cls_p, a, sep_p, b, sep1};
  tk->pad_id = id_of(pad);
  if (size_t m = config_model_max_length(side)) tk->max_length = m;
  else if (size_t p = position_limit(side)) tk->max_length = p;
  tk->finish();
  return Tokenizer(tk);
}

Tokenizer Tokenizer::from_model_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw IoError("model directory " + dir.string() + " does not exist");
  if (fs::exists(dir / "tokenizer.json")) return from_tokenizer_json(dir / "tokenizer.json");
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
    return from_bpe_files(dir / "vocab.json", dir / "merges.txt");
  if (fs::exists(dir / "vocab.txt")) return from_vocab_files(dir / "vocab.txt");
  throw FormatError(dir.string() + ": no tokenizer.json, vocab.json + merges.txt, or vocab.txt");
}

}  // namespace bert_emotion
