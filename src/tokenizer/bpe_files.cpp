// bpe_files.cpp — loading byte-level BPE: the "model" of type BPE in a tokenizer.json, and a
// vocab.json + merges.txt directory built the way Transformers' RobertaTokenizerFast converts
// RobertaTokenizer's files (convert_slow_tokenizer.RobertaConverter): BPE with no unk token,
// ByteLevel pre-tokenizer and RobertaProcessing with the tokenizer_config.json's
// add_prefix_space (default false) and trim_offsets (default true), the special tokens
// <s> </s> <unk> <pad> <mask> (mask with lstrip) unless the side files name others.
#include <string>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/tokenizer_impl.hpp"
#include "tokenizer/unicode.hpp"
#include "util/error.hpp"

namespace bert_emotion {
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace tokenizer_files;

namespace {

void add_bpe_token(const JsonFile& f, TokenizerImpl& tk, const std::string& token, const json& id,
                   const std::string& field) {
  if (!id.is_number_integer()) f.fail(field, "must be an integer id");
  check_utf8_field(f, token, field);
  const int32_t checked = checked_id(f, id.get<int64_t>(), field);
  tk.bpe.add_token(token, checked);
  set_token(tk, checked, token);
}

// One merge; `where` names it in errors ("field 'model.merges[7]'" / "line 9").
void add_merge(TokenizerImpl& tk, std::string_view a, std::string_view b, const std::string& where) {
  if (tk.bpe.add_merge(a, b)) return;
  std::string missing = tk.bpe.find(a) < 0   ? std::string(a)
                        : tk.bpe.find(b) < 0 ? std::string(b)
                                             : std::string(a) + std::string(b);
  throw FormatError(where + ": merge '" + std::string(a) + " " + std::string(b) + "' uses '" + missing +
                    "', which is not in the vocabulary");
}

// "a b" -> (a, b); false unless exactly one space separates two non-empty tokens (HF BadMerges).
bool split_merge(std::string_view line, std::string_view& a, std::string_view& b) {
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != line.npos)
    return false;
  a = line.substr(0, sp);
  b = line.substr(sp + 1);
  return true;
}

// "" and null mean "none"; anything else is refused.
void require_empty_or_null(const JsonFile& f, const json& m, const char* key, const char* what) {
  const json* v = f.find(m, key);
  if (!v) return;
  if (!v->is_string()) f.fail(std::string("model.") + key, "must be a string or null");
  if (!v->get<std::string>().empty())
    throw UnsupportedError(f.path.string() + ": model." + key + " '" + v->get<std::string>() +
                           "' of the BPE model is not supported (" + what + "; supported: null or \"\")");
}

}  // namespace

namespace tokenizer_files {

void parse_bpe_model(const JsonFile& f, const json& m, TokenizerImpl& tk) {
  if (f.find(m, "dropout"))
    throw UnsupportedError(f.path.string() + ": model.dropout is not supported (BPE dropout; supported: null)");
  if (f.get_bool(m, "byte_fallback", false, "model.byte_fallback"))
    throw UnsupportedError(f.path.string() + ": model.byte_fallback true is not supported (supported: false)");
  require_empty_or_null(f, m, "continuing_subword_prefix", "a subword prefix");
  require_empty_or_null(f, m, "end_of_word_suffix", "an end-of-word suffix");
  tk.bpe.fuse_unk = f.get_bool(m, "fuse_unk", false, "model.fuse_unk");
  tk.bpe.ignore_merges = f.get_bool(m, "ignore_merges", false, "model.ignore_merges");

  const json* vocab = f.find(m, "vocab");
  if (!vocab || !vocab->is_object()) f.fail("model.vocab", "must be an object of token -> id");
  for (auto it = vocab->begin(); it != vocab->end(); ++it)
    add_bpe_token(f, tk, it.key(), it.value(), "model.vocab[\"" + it.key() + "\"]");

  const json* merges = f.find(m, "merges");
  if (!merges || !merges->is_array()) f.fail("model.merges", "must be an array");
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& mg = (*merges)[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    std::string_view a, b;
    if (mg.is_string()) {  // "a b"
      if (!split_merge(mg.get_ref<const std::string&>(), a, b))
        f.fail(field, "must be two tokens separated by one space, got '" + mg.get<std::string>() + "'");
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {  // ["a", "b"]
      a = mg[0].get_ref<const std::string&>();
      b = mg[1].get_ref<const std::string&>();
    } else {
      f.fail(field, "must be \"a b\" or [\"a\", \"b\"]");
    }
    add_merge(tk, a, b, f.path.string() + ": field '" + field + "'");
  }

  if (const json* unk = f.find(m, "unk_token")) {
    if (!unk->is_string()) f.fail("model.unk_token", "must be a string or null");
    tk.bpe.unk_token = unk->get<std::string>();
    tk.unk_token = tk.bpe.unk_token;
    tk.unk_id = tk.bpe.find(tk.unk_token);
    if (tk.unk_id < 0) f.fail("model.unk_token", "'" + tk.unk_token + "' is not in model.vocab");
  }
  tk.bpe.finish();
}

}  // namespace tokenizer_files

Tokenizer Tokenizer::from_bpe_files(const fs::path& vocab_json, const fs::path& merges_txt,
                                    const fs::path& tokenizer_config, const fs::path& special_tokens_map) {
  auto tk = std::make_shared<TokenizerImpl>();
  tk->source = vocab_json;
  tk->model = ModelKind::kBytePairEncoding;
  const SideFiles side = read_side_files(vocab_json.parent_path(), tokenizer_config, special_tokens_map);

  const json vocab = read_json(vocab_json);
  const JsonFile vf{vocab_json};
  if (!vocab.is_object()) throw FormatError(vocab_json.string() + ": must be a JSON object of token -> id");
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    add_bpe_token(vf, *tk, it.key(), it.value(), "\"" + it.key() + "\"");
  if (tk->bpe.size() == 0) throw FormatError(vocab_json.string() + ": empty vocabulary");

  // merges.txt: an optional "#version" first line, then one "a b" merge per line, by rank.
  const std::string text = read_text_file(merges_txt);
  if (size_t bad = unicode::find_invalid_utf8(text); bad != std::string_view::npos)
    throw Utf8Error(merges_txt.string() + ": invalid UTF-8 at byte " + std::to_string(bad), bad);
  size_t line_no = 0;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string_view line(text.data() + i, j - i);
    i = j + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 8) == "#version") continue;
    const std::string where = merges_txt.string() + ": line " + std::to_string(line_no);
    std::string_view a, b;
    if (!split_merge(line, a, b))
      throw FormatError(where + ": expected two tokens separated by one space, got '" + std::string(line) + "'");
    add_merge(*tk, a, b, where);
  }
  tk->bpe.finish();

  const JsonFile cfg{side.tokenizer_config_path};
  const json& tc = side.tokenizer_config;
  tk->add_prefix_space = cfg.get_bool(tc, "add_prefix_space", false, "add_prefix_space");
  tk->trim_offsets = cfg.get_bool(tc, "trim_offsets", true, "trim_offsets");
  tk->trim_keeps_prefix_space = tk->add_prefix_space;

  // RobertaTokenizer's special tokens: the side files' entries, else the defaults. A mask token
  // given as a plain string gets lstrip, as RobertaTokenizer wraps it.
  auto token_or = [&](const std::string& key, const char* fallback) {
    AddedToken d;
    d.content = fallback;
    d.special = true;
    AddedToken t = special_token(side, key).value_or(d);
    if (key == "mask_token") {
      const json& src = side.special_tokens_map.contains(key) ? side.special_tokens_map[key] : tc.value(key, json());
      if (!src.is_object()) t.lstrip = true;
    }
    return t;
  };
  // Transformers >= 4.34 records every added token with its flags in added_tokens_decoder.
  if (const json* decoder = cfg.find(tc, "added_tokens_decoder")) {
    if (!decoder->is_object()) cfg.fail("added_tokens_decoder", "must be an object of id -> token");
    std::vector<AddedToken> listed;
    for (auto it = decoder->begin(); it != decoder->end(); ++it) {
      auto t = special_entry(side.tokenizer_config_path, it.value(), "added_tokens_decoder[\"" + it.key() + "\"]");
      if (!t) continue;
      t->special = cfg.get_bool(it.value(), "special", true, "added_tokens_decoder[\"" + it.key() + "\"].special");
      listed.push_back(*t);
    }
    add_special_tokens(*tk, side, std::move(listed));
  }
  const AddedToken bos = token_or("bos_token", "<s>"), eos = token_or("eos_token", "</s>"),
                   unk = token_or("unk_token", "<unk>"), sep = token_or("sep_token", "</s>"),
                   pad = token_or("pad_token", "<pad>"), cls = token_or("cls_token", "<s>"),
                   mask = token_or("mask_token", "<mask>");
  add_special_tokens(*tk, side, {bos, eos, unk, sep, pad, cls, mask});

  tk->unk_id = added_id(*tk, unk.content);
  TemplatePiece cls_p, sep_p, a, b;
  cls_p.ids = {added_id(*tk, cls.content)};
  cls_p.tokens = {cls.content};
  sep_p.ids = {added_id(*tk, sep.content)};
  sep_p.tokens = {sep.content};
  a.sequence = 0;
  b.sequence = 1;
  tk->single_template = {cls_p, a, sep_p};
  tk->pair_template = {cls_p, a, sep_p, sep_p, b, sep_p};
  tk->pad_id = added_id(*tk, pad.content);
  if (size_t m = config_model_max_length(side)) tk->max_length = m;
  else if (size_t p = position_limit(side)) tk->max_length = p;
  tk->finish();
  return Tokenizer(tk);
}

}  // namespace bert_emotion
