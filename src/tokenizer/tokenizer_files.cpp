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
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/unicode.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

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

// ---- tokenizer.json -----------------------------------------------------------------------------

void parse_normalizer(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const json* n = f.find(root, "normalizer");
  if (!n) {
    tk.normalizer.enabled = false;
    return;
  }
  if (!n->is_object()) f.fail("normalizer", "must be an object or null");
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

void parse_pre_tokenizer(const JsonFile& f, const json& root) {
  const json* p = f.find(root, "pre_tokenizer");
  if (!p) throw UnsupportedError(f.path.string() + ": pre_tokenizer null is not supported (supported: BertPreTokenizer)");
  if (!p->is_object()) f.fail("pre_tokenizer", "must be an object");
  const std::string type = f.get_string(*p, "type", "pre_tokenizer.type");
  if (type != "BertPreTokenizer")
    throw UnsupportedError(f.path.string() + ": pre_tokenizer type '" + type +
                           "' is not supported (supported: BertPreTokenizer)");
}

void parse_model(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const json* m = f.find(root, "model");
  if (!m || !m->is_object()) f.fail("model", "must be an object");
  std::string type;
  if (f.find(*m, "type")) type = f.get_string(*m, "type", "model.type");
  else if (f.find(*m, "continuing_subword_prefix") && f.find(*m, "max_input_chars_per_word")) type = "WordPiece";
  if (type != "WordPiece")
    throw UnsupportedError(f.path.string() + ": model type '" + (type.empty() ? "(none)" : type) +
                           "' is not supported (supported: WordPiece)");
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
  const auto model_size = int32_t(tk.vocab.size());
  int32_t max_added = -1;
  auto assign_id = [&](const std::string& content) {
    for (const auto& t : tk.added_tokens)
      if (t.content == content) return t.id;
    if (int32_t id = tk.vocab.find(content); id >= 0) return id;
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

TemplatePiece special_piece(const JsonFile& f, const json& special_tokens, const std::string& name,
                            uint8_t type_id, const std::string& field) {
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

void parse_post_processor(const JsonFile& f, const json& root, TokenizerImpl& tk) {
  const json* pp = f.find(root, "post_processor");
  if (!pp) return;
  if (!pp->is_object()) f.fail("post_processor", "must be an object or null");
  const std::string type = f.get_string(*pp, "type", "post_processor.type");
  if (type == "TemplateProcessing") {
    tk.single_template = parse_template(f, *pp, "single");
    tk.pair_template = parse_template(f, *pp, "pair");
  } else if (type == "BertProcessing") {
    auto pair_of = [&](const char* key) {
      const json* v = f.find(*pp, key);
      if (!v || !v->is_array() || v->size() != 2 || !(*v)[0].is_string() || !(*v)[1].is_number_integer())
        f.fail(std::string("post_processor.") + key, "must be [token, id]");
      TemplatePiece p;
      p.tokens.push_back((*v)[0].get<std::string>());
      p.ids.push_back(checked_id(f, (*v)[1].get<int64_t>(), std::string("post_processor.") + key));
      return p;
    };
    TemplatePiece cls = pair_of("cls"), sep = pair_of("sep"), a, b;
    a.sequence = 0;
    b.sequence = 1;
    b.type_id = 1;
    TemplatePiece sep1 = sep;
    sep1.type_id = 1;
    tk.single_template = {cls, a, sep};
    tk.pair_template = {cls, a, sep, b, sep1};
  } else {
    throw UnsupportedError(f.path.string() + ": post_processor type '" + type +
                           "' is not supported (supported: TemplateProcessing, BertProcessing or null)");
  }
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

// Settings around tokenizer.json / vocab.txt in the same directory (Transformers' view).
struct SideFiles {
  json tokenizer_config = json::object();
  json special_tokens_map = json::object();
  json config = json::object();
  fs::path tokenizer_config_path, special_tokens_map_path;
};

SideFiles read_side_files(const fs::path& dir, const fs::path& tokenizer_config, const fs::path& special_tokens_map) {
  SideFiles s;
  s.tokenizer_config_path = tokenizer_config.empty() ? dir / "tokenizer_config.json" : tokenizer_config;
  s.special_tokens_map_path = special_tokens_map.empty() ? dir / "special_tokens_map.json" : special_tokens_map;
  if (fs::exists(s.tokenizer_config_path)) s.tokenizer_config = read_json(s.tokenizer_config_path);
  if (fs::exists(s.special_tokens_map_path)) s.special_tokens_map = read_json(s.special_tokens_map_path);
  if (fs::exists(dir / "config.json")) s.config = read_json(dir / "config.json");
  if (!s.tokenizer_config.is_object())
    throw FormatError(s.tokenizer_config_path.string() + ": must be a JSON object");
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
    if (int32_t id = tk.vocab.find(pad->content); id >= 0) {
      tk.pad_id = id;
      return;
    }
  }
  if (s.config.contains("pad_token_id") && s.config["pad_token_id"].is_number_integer())
    tk.pad_id = int32_t(s.config["pad_token_id"].get<int64_t>());
  // else: 0, Transformers' default pad_token_id for BERT-family configs.
}

}  // namespace

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
    AddedTokenMatcher& m = (t.normalized && normalizer.enabled) ? normalized_matcher : raw_matcher;
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
  parse_pre_tokenizer(f, root);
  parse_added_tokens(f, root, *tk);
  parse_post_processor(f, root, *tk);
  parse_truncation_and_padding(f, root, *tk);
  const bool pad_from_padding = f.find(root, "padding") && f.find(root["padding"], "pad_id");

  const SideFiles side = read_side_files(file.parent_path(), {}, {});
  // Default length: model_max_length, else the file's truncation, else the position limit.
  if (size_t m = config_model_max_length(side)) tk->max_length = m;
  else if (tk->max_length == kNoLengthLimit && position_limit(side)) tk->max_length = position_limit(side);
  resolve_pad_id(*tk, side, pad_from_padding);
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
    auto t = special_token(side, key);
    if (!t) {
      AddedToken d;
      d.content = fallback;
      d.special = true;
      t = d;
    }
    return *t;
  };
  AddedToken unk = token_or("unk_token", "[UNK]"), sep = token_or("sep_token", "[SEP]"),
             pad = token_or("pad_token", "[PAD]"), cls = token_or("cls_token", "[CLS]"),
             mask = token_or("mask_token", "[MASK]");
  std::vector<AddedToken> specials = {pad, unk, cls, sep, mask};
  if (auto it = side.special_tokens_map.find("additional_special_tokens"); it != side.special_tokens_map.end() &&
                                                                           it->is_array()) {
    for (size_t k = 0; k < it->size(); ++k)
      if (auto t = special_entry(side.special_tokens_map_path, (*it)[k], "additional_special_tokens")) specials.push_back(*t);
  } else if (auto it2 = tc.find("additional_special_tokens"); it2 != tc.end() && it2->is_array()) {
    for (size_t k = 0; k < it2->size(); ++k)
      if (auto t = special_entry(side.tokenizer_config_path, (*it2)[k], "additional_special_tokens")) specials.push_back(*t);
  }
  int32_t next_id = tk->max_id + 1;
  for (auto& t : specials) {
    bool dup = false;
    for (const auto& existing : tk->added_tokens) dup = dup || existing.content == t.content;
    if (dup) continue;
    int32_t id = tk->vocab.find(t.content);
    t.id = id >= 0 ? id : next_id++;
    set_token(*tk, t.id, t.content);
    tk->added_tokens.push_back(t);
  }

  tk->unk_token = unk.content;
  tk->unk_id = tk->vocab.find(unk.content);
  if (tk->unk_id < 0)
    throw FormatError(vocab_txt.string() + ": the unk token '" + unk.content + "' is not in the vocabulary");
  auto id_of = [&](const AddedToken& t) {
    for (const auto& a : tk->added_tokens)
      if (a.content == t.content) return a.id;
    return -1;
  };
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
  if (fs::exists(dir / "vocab.txt")) return from_vocab_files(dir / "vocab.txt");
  throw FormatError(dir.string() + ": no tokenizer.json or vocab.txt");
}

}  // namespace bert_emotion
