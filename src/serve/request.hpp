// request.hpp — parsing untrusted /predict and /tokenize bodies into typed requests (TEI's rules).
//
// /predict `inputs` follows TEI's deserializer (router/src/http/types.rs) exactly:
//   "text"                     one input, one sequence
//   ["a", "b"]                 one input, a PAIR (a, b) — TEI's gotcha: not a batch of two
//   ["a"]                      one input, one sequence
//   [["a"], ["b", "c"], ...]   a batch: each element is a 1-array (single) or a 2-array (pair)
// Anything else (3 strings, mixed strings and arrays, non-strings, an inner array of 0 or 3) is a
// Validation error (422); `[]` is Empty (400); more than `max_client_batch_size` inputs is
// Validation (422, err="batch_size"). `truncate` is bool or null (null = the server's
// --auto-truncate), `truncation_direction` "right"/"left" (aliases "Right"/"Left"), `raw_scores`
// bool. Unknown keys are ignored, as serde does. Bodies nested deeper than 16 levels are rejected
// before the JSON parser sees them.
//
//   PredictRequest r = parse_predict_request(R"({"inputs": [["I love it"], ["so", "sad"]]})", 32);
//   r.is_batch;           // true
//   r.inputs[1].second;   // "sad"
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/api_error.hpp"
#include "serve/truncation.hpp"

namespace bert_emotion::serve {

struct Sequence {
  std::string first;
  std::optional<std::string> second;  // set for a pair
};

struct PredictRequest {
  std::vector<Sequence> inputs;  // >= 1
  bool is_batch = false;         // answer [[...], ...] instead of [...]
  std::optional<bool> truncate;  // nullopt = server default
  TruncationDirection truncation_direction = TruncationDirection::Right;
  bool raw_scores = false;
};

struct TokenizeRequest {
  std::vector<std::string> inputs;  // >= 1
  bool add_special_tokens = true;
};

// Hugging Face's Inference API / Inference Endpoints shape for text classification (the transformers
// pipeline behind HTTP), as @huggingface/inference and huggingface_hub's InferenceClient send it:
//   {"inputs": "text" | ["a", "b", ...] | {"text": "a", "text_pair": "b"} | [{...}, ...],
//    "parameters": {"top_k": int|null, "function_to_apply": "softmax"|"sigmoid"|"none"|"default"|null}}
// Here a list of strings IS a batch (the pipeline's reading, unlike TEI's pair). Answer: one list
// per input, always nested ([[{label, score}, ...]] for one input), scores descending.
enum class ScoreFunction { Default, Softmax, Sigmoid, None };
struct HfClassifyRequest {
  std::vector<Sequence> inputs;  // >= 1
  std::optional<size_t> top_k;   // nullopt = every label
  ScoreFunction function = ScoreFunction::Default;
};

// All throw ApiError (Validation / Empty) with a message naming the offending field.
PredictRequest parse_predict_request(std::string_view body, size_t max_client_batch_size);
TokenizeRequest parse_tokenize_request(std::string_view body, size_t max_client_batch_size);
HfClassifyRequest parse_hf_classify_request(std::string_view body, size_t max_client_batch_size);

// Deepest nesting of [ and { outside strings; stops counting at `limit` + 1.
size_t json_nesting_depth(std::string_view body, size_t limit);

}  // namespace bert_emotion::serve
