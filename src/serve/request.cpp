// request.cpp — /predict and /tokenize body parsing; see request.hpp for the accepted shapes.
#include "serve/request.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace bert_emotion::serve {

namespace {

using nlohmann::json;

constexpr size_t kMaxNesting = 16;
constexpr const char* kInputsShape =
    "expected a string, a pair of strings [string, string] or a batch of mixed strings and pairs "
    "[[string], [string, string], ...]";

[[noreturn]] void invalid(const std::string& message, std::string metric = {}) {
  throw ApiError(ErrorType::Validation, message, std::move(metric));
}

json parse_object(std::string_view body) {
  if (json_nesting_depth(body, kMaxNesting) > kMaxNesting)
    invalid("request body nests JSON deeper than " + std::to_string(kMaxNesting) + " levels");
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse only to get the parser's position-bearing message for the client.
    try {
      const json again = json::parse(body.begin(), body.end());
      (void)again;
    } catch (const json::exception& e) {  // parse_error, or out_of_range 406 (number overflow: 1e400)
      invalid(std::string("failed to parse the request body as JSON: ") + e.what());
    }
    invalid("failed to parse the request body as JSON");
  }
  if (!j.is_object()) invalid("request body must be a JSON object, got " + std::string(j.type_name()));
  return j;
}

std::optional<bool> optional_bool(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) invalid(std::string("`") + key + "` must be a boolean or null, got " + it->type_name());
  return it->get<bool>();
}

std::string as_string(const json& v, const char* where) {
  if (!v.is_string())
    invalid(std::string("`inputs`") + where + " must be a string, got " + v.type_name() + "; " + kInputsShape);
  return v.get<std::string>();
}

// The body's `inputs`: missing is a Validation error, an empty array an Empty one.
const json& inputs_field(const json& body) {
  auto inputs = body.find("inputs");
  if (inputs == body.end()) invalid("missing field `inputs`");
  if (inputs->is_array() && inputs->empty()) throw ApiError(ErrorType::Empty, "`inputs` cannot be empty");
  return *inputs;
}

// "[i]"; built by appending (GCC 12 warns -Wrestrict, falsely, on "[" + std::to_string(i)).
std::string index_label(size_t i) {
  std::string s = "[";
  s += std::to_string(i);
  s += ']';
  return s;
}

void check_batch_size(size_t n, size_t max_client_batch_size) {
  if (n > max_client_batch_size)
    invalid(
        "batch size " + std::to_string(n) + " > maximum allowed batch size " + std::to_string(max_client_batch_size),
        "batch_size");
}

}  // namespace

size_t json_nesting_depth(std::string_view body, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

PredictRequest parse_predict_request(std::string_view body, size_t max_client_batch_size) {
  const json j = parse_object(body);
  PredictRequest req;

  const json& inputs = inputs_field(j);
  if (inputs.is_string()) {
    req.inputs.push_back({inputs.get<std::string>(), std::nullopt});
  } else if (inputs.is_array()) {
    const json& first = inputs[0];
    if (first.is_string()) {
      // Not a batch: one sequence or one pair (TEI decides on the first element).
      if (inputs.size() > 2) invalid("`inputs` has " + std::to_string(inputs.size()) + " strings; " + kInputsShape);
      Sequence s{first.get<std::string>(), std::nullopt};
      if (inputs.size() == 2) s.second = as_string(inputs[1], "[1]");
      req.inputs.push_back(std::move(s));
    } else if (first.is_array()) {
      req.is_batch = true;
      check_batch_size(inputs.size(), max_client_batch_size);
      req.inputs.reserve(inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i) {
        const json& item = inputs[i];
        const std::string where = index_label(i);
        if (!item.is_array())
          invalid("`inputs`" + where + " must be an array of 1 or 2 strings, got " + item.type_name());
        if (item.empty() || item.size() > 2)
          invalid("`inputs`" + where + " has " + std::to_string(item.size()) + " elements; " + kInputsShape);
        Sequence s{as_string(item[0], (where + "[0]").c_str()), std::nullopt};
        if (item.size() == 2) s.second = as_string(item[1], (where + "[1]").c_str());
        req.inputs.push_back(std::move(s));
      }
    } else {
      invalid(std::string("`inputs`[0] must be a string or an array, got ") + first.type_name() + "; " + kInputsShape);
    }
  } else {
    invalid(std::string("`inputs` must be a string or an array, got ") + inputs.type_name() + "; " + kInputsShape);
  }

  req.truncate = optional_bool(j, "truncate");
  req.raw_scores = optional_bool(j, "raw_scores").value_or(false);
  auto dir = j.find("truncation_direction");
  if (dir != j.end() && !dir->is_null()) {
    const std::string d = dir->is_string() ? dir->get<std::string>() : std::string();
    if (d == "right" || d == "Right") req.truncation_direction = TruncationDirection::Right;
    else if (d == "left" || d == "Left") req.truncation_direction = TruncationDirection::Left;
    else invalid("`truncation_direction` must be \"right\" or \"left\", got " + dir->dump());
  }
  return req;
}

TokenizeRequest parse_tokenize_request(std::string_view body, size_t max_client_batch_size) {
  const json j = parse_object(body);
  TokenizeRequest req;
  const json& inputs = inputs_field(j);
  if (inputs.is_string()) {
    req.inputs.push_back(inputs.get<std::string>());
  } else if (inputs.is_array()) {
    check_batch_size(inputs.size(), max_client_batch_size);
    for (size_t i = 0; i < inputs.size(); ++i) req.inputs.push_back(as_string(inputs[i], index_label(i).c_str()));
  } else {
    invalid(std::string("`inputs` must be a string or an array of strings, got ") + inputs.type_name());
  }
  req.add_special_tokens = optional_bool(j, "add_special_tokens").value_or(true);
  return req;
}

HfClassifyRequest parse_hf_classify_request(std::string_view body, size_t max_client_batch_size) {
  const json j = parse_object(body);
  const json& inputs = inputs_field(j);
  HfClassifyRequest r;
  // One input: a string, or {"text", "text_pair"} (the pipeline's pair form).
  auto one = [](const json& v, const std::string& where) {
    if (v.is_string()) return Sequence{v.get<std::string>(), std::nullopt};
    if (v.is_object()) {
      auto text = v.find("text");
      if (text == v.end() || !text->is_string()) invalid("`" + where + "`.text must be a string");
      auto pair = v.find("text_pair");
      if (pair == v.end() || pair->is_null()) return Sequence{text->get<std::string>(), std::nullopt};
      if (!pair->is_string()) invalid("`" + where + "`.text_pair must be a string or null");
      return Sequence{text->get<std::string>(), pair->get<std::string>()};
    }
    invalid("`" + where + "` must be a string or {\"text\", \"text_pair\"}, got " + std::string(v.type_name()));
  };
  if (inputs.is_array()) {
    check_batch_size(inputs.size(), max_client_batch_size);
    for (size_t i = 0; i < inputs.size(); ++i) r.inputs.push_back(one(inputs[i], "inputs" + index_label(i)));
  } else {
    r.inputs.push_back(one(inputs, "inputs"));
  }
  auto params = j.find("parameters");
  if (params == j.end() || params->is_null()) return r;
  if (!params->is_object()) invalid("`parameters` must be an object, got " + std::string(params->type_name()));
  if (auto k = params->find("top_k"); k != params->end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<long long>() < 1)
      invalid("`parameters.top_k` must be a positive integer or null");
    r.top_k = static_cast<size_t>(k->get<long long>());
  }
  if (auto f = params->find("function_to_apply"); f != params->end() && !f->is_null()) {
    const std::string name = f->is_string() ? f->get<std::string>() : std::string();
    if (name == "default") r.function = ScoreFunction::Default;
    else if (name == "softmax") r.function = ScoreFunction::Softmax;
    else if (name == "sigmoid") r.function = ScoreFunction::Sigmoid;
    else if (name == "none") r.function = ScoreFunction::None;
    else invalid("`parameters.function_to_apply` must be \"softmax\", \"sigmoid\", \"none\" or \"default\"");
  }
  return r;
}

}  // namespace bert_emotion::serve
