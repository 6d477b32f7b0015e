// api_error.hpp — the errors the HTTP API answers with, in TEI's wire format.
//
// Text Embeddings Inference answers every failure with a JSON body
//   {"error": "batch size 40 > maximum allowed batch size 32", "error_type": "Validation"}
// and a status chosen by the error type (router/src/http/server.rs, From<&ErrorType>):
//   Unhealthy 503, Backend 424, Overloaded 429, Tokenizer 422, Validation 422, Empty 400.
// The wire value of error_type is the variant name ("Validation"), as TEI's serde derive emits it.
// We add one type TEI answers without a body: Unauthorized (401, --api-key). The HTTP layer's own
// limits (payload too large 413, unknown route 404) are answered with the same JSON shape.
//
//   throw ApiError(ErrorType::Validation, "`truncate` must be a boolean or null");
//   ...
//   catch (const ApiError& e) { res.status = http_status(e.type); res.set_content(error_body(e), "application/json"); }
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace bert_emotion::serve {

enum class ErrorType { Unhealthy, Backend, Overloaded, Tokenizer, Validation, Empty, Unauthorized };

class ApiError : public std::runtime_error {
 public:
  // `metric_label` is the te_request_failure{err=...} label; empty = the type's lowercase name.
  ApiError(ErrorType type, const std::string& message, std::string metric_label = {})
      : std::runtime_error(message), type(type), metric_label(std::move(metric_label)) {}
  ErrorType type;
  std::string metric_label;
};

int http_status(ErrorType type);
std::string_view error_type_name(ErrorType type);     // "Validation"
std::string_view error_metric_label(ErrorType type);  // "validation"
// {"error": message, "error_type": name} as compact JSON.
std::string error_body(ErrorType type, std::string_view message);
inline std::string error_body(const ApiError& e) { return error_body(e.type, e.what()); }

}  // namespace bert_emotion::serve
