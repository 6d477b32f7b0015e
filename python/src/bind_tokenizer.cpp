// bind_tokenizer.cpp — bert_emotion.Tokenizer and Encoding, shaped like Hugging Face `tokenizers`.
//
// Encoding carries ids, type_ids, tokens, offsets, attention_mask, special_tokens_mask and
// sequence_ids as the `tokenizers` Encoding does; offsets are (start, end) indices into the Python string (code points,
// as `tokenizers` reports them), converted from the engine's byte offsets. Encoding runs without
// the GIL; encode_batch checks Ctrl-C between chunks.
//
//   tok = bert_emotion.Tokenizer("runs/emo")
//   e = tok.encode("I love this!", "me too")      # e.ids, e.tokens, e.offsets, e.type_ids, ...
#include <pybind11/stl.h>

#include <limits>
#include <optional>
#include <variant>

#include "bindings.hpp"
#include "hub/hub.hpp"
#include "tokenizer/tokenizer.hpp"

namespace bert_emotion::python {

namespace {

// What a Python Encoding holds (offsets already in code points).
struct PyEncoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<size_t, size_t>> offsets;
  std::vector<int32_t> attention_mask;
  std::vector<int32_t> special_tokens_mask;
  std::vector<std::optional<int>> sequence_ids;  // 0 / 1 per side of a pair, None for specials
  int n_sequences = 1;                           // 2 for a pair, even when truncation emptied a side
};

// Byte offset -> code-point index for the text (the UTF-8 was validated by the tokenizer).
struct CodePointIndex {
  explicit CodePointIndex(std::string_view text) : before(text.size() + 1, 0) {
    size_t n = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      before[i] = n;
      n += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    }
    before[text.size()] = n;
  }
  size_t operator()(size_t byte) const { return before[std::min(byte, before.size() - 1)]; }
  std::vector<size_t> before;
};

PyEncoding to_python(const Encoding& e, std::string_view first, std::optional<std::string_view> second) {
  PyEncoding p;
  p.ids = e.ids;
  p.tokens = e.tokens;
  p.type_ids.assign(e.type_ids.begin(), e.type_ids.end());
  if (p.type_ids.size() != p.ids.size()) p.type_ids.assign(p.ids.size(), 0);
  p.attention_mask.assign(e.ids.size(), 1);
  p.special_tokens_mask.assign(e.special_tokens_mask.begin(), e.special_tokens_mask.end());
  if (p.special_tokens_mask.size() != p.ids.size()) p.special_tokens_mask.assign(p.ids.size(), 0);
  p.n_sequences = second ? 2 : 1;
  p.sequence_ids.reserve(e.sequence_ids.size());
  for (int8_t s : e.sequence_ids) p.sequence_ids.push_back(s < 0 ? std::nullopt : std::optional<int>(s));
  const CodePointIndex a(first);
  const std::optional<CodePointIndex> b =
      second ? std::optional<CodePointIndex>(CodePointIndex(*second)) : std::nullopt;
  p.offsets.reserve(e.offsets.size());
  for (size_t i = 0; i < e.offsets.size(); ++i) {
    // Offsets point into the text their token came from: the pair's second text for sequence 1
    // (not type id 1: RoBERTa's pairs are type 0 on both sides).
    const bool second_text = b && i < p.sequence_ids.size() && p.sequence_ids[i] == 1;
    const CodePointIndex& idx = second_text ? *b : a;
    p.offsets.emplace_back(idx(e.offsets[i].first), idx(e.offsets[i].second));
  }
  return p;
}

// max_length as the engine takes it: None = the tokenizer files' default (0).
size_t engine_max_length(std::optional<size_t> max_length) { return max_length.value_or(0); }

using BatchItem = std::variant<std::string, std::pair<std::string, std::string>>;

}  // namespace

void bind_tokenizer(py::module_& m) {
  py::class_<PyEncoding>(m, "Encoding", "One tokenized input (the shape of tokenizers.Encoding)")
      .def_readonly("ids", &PyEncoding::ids)
      .def_readonly("type_ids", &PyEncoding::type_ids)
      .def_readonly("tokens", &PyEncoding::tokens)
      .def_readonly("offsets", &PyEncoding::offsets,
                    "(start, end) code-point indices into the input; (0, 0) for specials")
      .def_readonly("attention_mask", &PyEncoding::attention_mask)
      .def_readonly("special_tokens_mask", &PyEncoding::special_tokens_mask)
      .def_readonly("sequence_ids", &PyEncoding::sequence_ids, "0 / 1: the input a token came from; None for specials")
      .def_readonly("n_sequences", &PyEncoding::n_sequences)
      .def("__len__", [](const PyEncoding& e) { return e.ids.size(); })
      .def("__repr__", [](const PyEncoding& e) {
        return "Encoding(num_tokens=" + std::to_string(e.ids.size()) +
               ", attributes=[ids, type_ids, tokens, offsets, attention_mask, special_tokens_mask, sequence_ids])";
      });

  py::class_<Tokenizer>(m, "Tokenizer",
                        "WordPiece tokenizer of a model directory (ids identical to Hugging Face tokenizers)")
      .def(py::init([](const std::string& model) {
             py::gil_scoped_release release;
             return Tokenizer::from_model_dir(resolve_model_path(model, hub_options_from_env()));
           }),
           py::arg("model"), "Loads the tokenizer files of a model directory or hub id")
      .def_static(
          "from_file",
          [](const std::string& path) {
            py::gil_scoped_release release;
            return Tokenizer::from_tokenizer_json(path);
          },
          py::arg("path"), "Loads one tokenizer.json")
      .def(
          "encode",
          [](const Tokenizer& t, const std::string& sequence, std::optional<std::string> pair,
             std::optional<size_t> max_length) {
            py::gil_scoped_release release;
            const size_t limit = engine_max_length(max_length);
            Encoding e = pair ? t.encode_pair(sequence, *pair, limit) : t.encode(sequence, limit);
            return to_python(e, sequence, pair ? std::optional<std::string_view>(*pair) : std::nullopt);
          },
          py::arg("sequence"), py::arg("pair") = py::none(), py::kw_only(), py::arg("max_length") = py::none(),
          "Encodes a text (or a pair) with [CLS]/[SEP]; truncated to max_length (None = the files' default)")
      .def(
          "encode_batch",
          [](const Tokenizer& t, const std::vector<BatchItem>& inputs, std::optional<size_t> max_length) {
            py::gil_scoped_release release;
            const size_t limit = engine_max_length(max_length);
            std::vector<PyEncoding> out;
            out.reserve(inputs.size());
            for (size_t i = 0; i < inputs.size(); ++i) {
              if (i % 256 == 255) check_signals_without_gil();
              if (const auto* s = std::get_if<std::string>(&inputs[i])) {
                out.push_back(to_python(t.encode(*s, limit), *s, std::nullopt));
              } else {
                const auto& p = std::get<std::pair<std::string, std::string>>(inputs[i]);
                out.push_back(to_python(t.encode_pair(p.first, p.second, limit), p.first, p.second));
              }
            }
            return out;
          },
          py::arg("inputs"), py::kw_only(), py::arg("max_length") = py::none(),
          "encode() of every input in order: a str, or a (text, pair) tuple")
      .def("token_to_id", &Tokenizer::token_to_id, py::arg("token"))
      .def(
          "id_to_token",
          [](const Tokenizer& t, int32_t id) -> std::optional<std::string> {
            std::string s = t.id_to_token(id);
            if (s.empty()) return std::nullopt;
            return s;
          },
          py::arg("id"))
      .def("get_vocab_size", [](const Tokenizer& t) { return t.vocab_size(); })
      .def_property_readonly("model_max_length",
                             [](const Tokenizer& t) -> std::optional<size_t> {
                               if (t.model_max_length() == std::numeric_limits<size_t>::max()) return std::nullopt;
                               return t.model_max_length();
                             })
      .def_property_readonly("pad_token_id", &Tokenizer::pad_id)
      .def_property_readonly("cls_token_id", &Tokenizer::cls_id)
      .def_property_readonly("sep_token_id", &Tokenizer::sep_id)
      .def_property_readonly("unk_token_id", &Tokenizer::unk_id)
      .def_property_readonly("source", [](const Tokenizer& t) { return t.source().string(); });
}

}  // namespace bert_emotion::python
