// api_error.cpp — TEI's error types, statuses and JSON body.
#include "serve/api_error.hpp"

#include <nlohmann/json.hpp>

namespace bert_emotion::serve {

int http_status(ErrorType type) {
  switch (type) {
    case ErrorType::Unhealthy: return 503;
    case ErrorType::Backend: return 424;
    case ErrorType::Overloaded: return 429;
    case ErrorType::Tokenizer:
    case ErrorType::Validation: return 422;
    case ErrorType::Empty: return 400;
    case ErrorType::Unauthorized: return 401;
  }
  return 500;
}

std::string_view error_type_name(ErrorType type) {
  switch (type) {
    case ErrorType::Unhealthy: return "Unhealthy";
    case ErrorType::Backend: return "Backend";
    case ErrorType::Overloaded: return "Overloaded";
    case ErrorType::Tokenizer: return "Tokenizer";
    case ErrorType::Validation: return "Validation";
    case ErrorType::Empty: return "Empty";
    case ErrorType::Unauthorized: return "Unauthorized";
  }
  return "Unknown";
}

std::string_view error_metric_label(ErrorType type) {
  switch (type) {
    case ErrorType::Unhealthy: return "unhealthy";
    case ErrorType::Backend: return "backend";
    case ErrorType::Overloaded: return "overloaded";
    case ErrorType::Tokenizer: return "tokenizer";
    case ErrorType::Validation: return "validation";
    case ErrorType::Empty: return "empty";
    case ErrorType::Unauthorized: return "unauthorized";
  }
  return "unknown";
}

std::string error_body(ErrorType type, std::string_view message) {
  nlohmann::json j = {{"error", std::string(message)}, {"error_type", std::string(error_type_name(type))}};
  // Messages may quote user bytes; replace invalid UTF-8 instead of throwing while reporting an error.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bert_emotion::serve
