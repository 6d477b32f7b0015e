// tokenizer.cpp — skeleton; the full pipeline follows.
#include "tokenizer/tokenizer.hpp"

#include "tokenizer/tokenizer_impl.hpp"
#include "util/error.hpp"

namespace bert_emotion {

namespace {
[[noreturn]] void not_yet() { throw UnsupportedError("tokenizer: not implemented yet"); }
}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}
Tokenizer Tokenizer::from_model_dir(const std::filesystem::path&) { not_yet(); }
Tokenizer Tokenizer::from_tokenizer_json(const std::filesystem::path&) { not_yet(); }
Tokenizer Tokenizer::from_vocab_files(const std::filesystem::path&, const std::filesystem::path&,
                                      const std::filesystem::path&) { not_yet(); }
Encoding Tokenizer::encode(std::string_view, size_t) const { not_yet(); }
Encoding Tokenizer::encode_pair(std::string_view, std::string_view, size_t) const { not_yet(); }
std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>&, size_t, int) const { not_yet(); }
std::vector<int32_t> Tokenizer::encode_ids(std::string_view, size_t) const { not_yet(); }
int32_t Tokenizer::pad_id() const { not_yet(); }
int32_t Tokenizer::cls_id() const { not_yet(); }
int32_t Tokenizer::sep_id() const { not_yet(); }
int32_t Tokenizer::unk_id() const { not_yet(); }
size_t Tokenizer::model_max_length() const { not_yet(); }
size_t Tokenizer::vocab_size() const { not_yet(); }
std::optional<int32_t> Tokenizer::token_to_id(std::string_view) const { not_yet(); }
std::string Tokenizer::id_to_token(int32_t) const { not_yet(); }
const std::filesystem::path& Tokenizer::source() const { return impl_->source; }

}  // namespace bert_emotion
