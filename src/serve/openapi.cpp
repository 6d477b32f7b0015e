// openapi.cpp — the OpenAPI 3 document served at GET /openapi.json (every route, request and
// response schemas, the error body, each status). Server::routes() must list the same paths and
// methods: tests/server_test.cpp checks both ways and tests/js/openapi.test.mjs validates it.
#include "serve/web_pages.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace bert_emotion::serve {

namespace {

constexpr std::string_view kOpenApi = R"json(
{
  "openapi": "3.0.3",
  "info": {
    "title": "bert-emotion serve",
    "version": "",
    "description": "Text classification over HTTP: text-embeddings-inference's (TEI) classifier routes, Hugging Face's Inference API shape on /pipeline/text-classification, a page at / and this document. Every error answers {\"error\", \"error_type\"}. docs/SERVING.md has the details."
  },
  "paths": {
    "/predict": {
      "post": {
        "summary": "Classify one input, a pair or a batch (TEI's shape); every label, score descending",
        "operationId": "predict",
        "requestBody": {"$ref": "#/components/requestBodies/Predict"},
        "responses": {
          "200": {"$ref": "#/components/responses/Predictions"},
          "x-errors": "inference"
        }
      }
    },
    "/": {
      "post": {
        "summary": "The same as POST /predict (TEI's default route)",
        "operationId": "predictRoot",
        "requestBody": {"$ref": "#/components/requestBodies/Predict"},
        "responses": {
          "200": {"$ref": "#/components/responses/Predictions"},
          "x-errors": "inference"
        }
      },
      "get": {
        "summary": "A browser (Accept: text/html) gets the page to classify typed lines; anything else gets /health's answer (TEI's alias)",
        "operationId": "rootPage",
        "responses": {
          "200": {"description": "The page, or healthy", "content": {"text/html": {"schema": {"type": "string"}}}},
          "x-errors": "health"
        }
      }
    },
    "/invocations": {
      "post": {
        "summary": "The same as POST /predict (SageMaker's route, as TEI)",
        "operationId": "predictInvocations",
        "requestBody": {"$ref": "#/components/requestBodies/Predict"},
        "responses": {
          "200": {"$ref": "#/components/responses/Predictions"},
          "x-errors": "inference"
        }
      }
    },
    "/pipeline/text-classification": {
      "post": {
        "summary": "Hugging Face's Inference API shape (@huggingface/inference, huggingface_hub InferenceClient): one nested list per input",
        "operationId": "hfTextClassification",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HfClassifyRequest"}}}
        },
        "responses": {
          "200": {
            "description": "One list per input (nested even for one input), score descending",
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}}}}
          },
          "x-errors": "inference"
        }
      }
    },
    "/tokenize": {
      "post": {
        "summary": "Tokens of each input (a list of strings is a batch here)",
        "operationId": "tokenize",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenizeRequest"}}}
        },
        "responses": {
          "200": {
            "description": "One token list per input",
            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}}}}
          },
          "x-errors": "body"
        }
      }
    },
    "/health": {
      "get": {
        "summary": "200 with an empty body when a tiny forward pass gives finite logits",
        "operationId": "health",
        "responses": {
          "200": {"description": "Healthy (empty body)"},
          "x-errors": "health"
        }
      }
    },
    "/ping": {
      "get": {
        "summary": "The same as GET /health (SageMaker's route, as TEI)",
        "operationId": "ping",
        "responses": {
          "200": {"description": "Healthy (empty body)"},
          "x-errors": "health"
        }
      }
    },
    "/info": {
      "get": {
        "summary": "The model and the server's limits (TEI's shape)",
        "operationId": "info",
        "responses": {
          "200": {"description": "Model and limits", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Info"}}}},
          "x-errors": "plain"
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus text format, TEI's te_* names",
        "operationId": "metrics",
        "responses": {
          "200": {"description": "Counters, histograms and gauges", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "x-errors": "plain"
        }
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "responses": {
          "200": {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}},
          "x-errors": "plain"
        }
      }
    },
    "/docs": {
      "get": {
        "summary": "This document rendered as a page",
        "operationId": "docs",
        "responses": {
          "200": {"description": "HTML page (it reads /openapi.json)", "content": {"text/html": {"schema": {"type": "string"}}}},
          "x-errors": "plain"
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Error": {
        "type": "object",
        "required": ["error", "error_type"],
        "properties": {
          "error": {"type": "string", "description": "What went wrong, naming the field or limit"},
          "error_type": {"type": "string", "enum": ["Unhealthy", "Backend", "Overloaded", "Tokenizer", "Validation", "Empty", "Unauthorized"]}
        }
      },
      "Prediction": {
        "type": "object",
        "required": ["score", "label"],
        "properties": {
          "score": {"type": "number"},
          "label": {"type": "string"},
          "threshold": {"type": "number", "description": "multi-label models only: this label's decision threshold (thresholds.json, --threshold or 0.5)"},
          "passing": {"type": "boolean", "description": "multi-label models only: sigmoid(logit) > threshold, whatever the scores shown"}
        }
      },
      "PredictInputs": {
        "description": "\"text\" (one input), [\"a\", \"b\"] (ONE pair), [\"a\"] (one input) or [[\"a\"], [\"b\", \"c\"], ...] (a batch of singles and pairs)",
        "oneOf": [
          {"type": "string"},
          {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
          {"type": "array", "items": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2}, "minItems": 1}
        ]
      },
      "PredictRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
          "inputs": {"$ref": "#/components/schemas/PredictInputs"},
          "truncate": {"type": "boolean", "nullable": true, "description": "null or absent: the server's --auto-truncate"},
          "truncation_direction": {"type": "string", "enum": ["right", "left", "Right", "Left"], "default": "right"},
          "raw_scores": {"type": "boolean", "default": false, "description": "logits instead of softmax/sigmoid"}
        }
      },
      "PredictResponse": {
        "description": "A list of every label for one input; a list of such lists for a batch",
        "oneOf": [
          {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}},
          {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}}
        ]
      },
      "HfInput": {
        "oneOf": [
          {"type": "string"},
          {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}, "text_pair": {"type": "string", "nullable": true}}}
        ]
      },
      "HfClassifyRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
          "inputs": {
            "description": "One input, or a list of inputs (a batch); a pair is {\"text\", \"text_pair\"}",
            "oneOf": [{"$ref": "#/components/schemas/HfInput"}, {"type": "array", "items": {"$ref": "#/components/schemas/HfInput"}, "minItems": 1}]
          },
          "parameters": {
            "type": "object",
            "nullable": true,
            "properties": {
              "top_k": {"type": "integer", "minimum": 1, "nullable": true},
              "function_to_apply": {"type": "string", "enum": ["default", "softmax", "sigmoid", "none"], "nullable": true}
            }
          }
        }
      },
      "TokenizeRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
          "inputs": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
          "add_special_tokens": {"type": "boolean", "default": true}
        }
      },
      "Token": {
        "type": "object",
        "required": ["id", "text", "special", "start", "stop"],
        "properties": {
          "id": {"type": "integer"},
          "text": {"type": "string"},
          "special": {"type": "boolean"},
          "start": {"type": "integer", "nullable": true, "description": "character offset; null for template specials"},
          "stop": {"type": "integer", "nullable": true}
        }
      },
      "Info": {
        "type": "object",
        "required": ["model_id", "model_type", "max_concurrent_requests", "max_input_length", "max_batch_tokens", "max_client_batch_size", "version"],
        "properties": {
          "model_id": {"type": "string"},
          "model_sha": {"type": "string", "nullable": true},
          "model_dtype": {"type": "string"},
          "served_model_name": {"type": "string"},
          "model_type": {
            "type": "object",
            "properties": {
              "classifier": {
                "type": "object",
                "properties": {
                  "id2label": {"type": "object", "additionalProperties": {"type": "string"}},
                  "label2id": {"type": "object", "additionalProperties": {"type": "integer"}}
                }
              }
            }
          },
          "problem_type": {"type": "string", "enum": ["single_label_classification", "multi_label_classification"]},
          "thresholds": {"type": "object", "nullable": true, "additionalProperties": {"type": "number"}, "description": "multi-label: label -> decision threshold; null for single-label"},
          "max_concurrent_requests": {"type": "integer"},
          "max_input_length": {"type": "integer"},
          "max_batch_tokens": {"type": "integer"},
          "max_batch_requests": {"type": "integer", "nullable": true},
          "max_client_batch_size": {"type": "integer"},
          "auto_truncate": {"type": "boolean"},
          "tokenization_workers": {"type": "integer"},
          "version": {"type": "string"},
          "sha": {"type": "string", "nullable": true},
          "docker_label": {"type": "string", "nullable": true}
        }
      }
    },
    "requestBodies": {
      "Predict": {
        "required": true,
        "description": "Read as JSON whatever the Content-Type (multipart/form-data excepted)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}}
      }
    },
    "responses": {
      "Predictions": {"description": "Every label, score descending", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}}}},
      "Empty": {"description": "`inputs` is [] (Empty)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "--api-key is set and Authorization: Bearer is missing or wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "LengthRequired": {"description": "Neither Content-Length nor chunked Transfer-Encoding", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "PayloadTooLarge": {"description": "Body over --payload-limit (connection closed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnsupportedMediaType": {"description": "A multipart/form-data body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Validation": {"description": "Malformed JSON, wrong shapes, too many or too long inputs (Validation), or text the tokenizer rejects (Tokenizer)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Backend": {"description": "The model failed or a score is NaN", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Overloaded": {"description": "--max-concurrent-requests in progress, or too many connections waiting", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "ShuttingDown": {"description": "Read after shutdown began (Connection: close)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unhealthy": {"description": "The health probe failed, or shutdown began", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
}
)json";

}  // namespace

// Operations list their error answers as a named set ("x-errors"), expanded here into $refs to
// components/responses, so that the routes sharing a pipeline share one list.
std::string openapi_document(std::string_view version) {
  using nlohmann::ordered_json;
  ordered_json doc = ordered_json::parse(kOpenApi);
  doc["info"]["version"] = std::string(version);
  const std::map<std::string, std::vector<std::pair<std::string, std::string>>> sets = {
      {"plain", {{"401", "Unauthorized"}, {"503", "ShuttingDown"}}},
      {"health", {{"401", "Unauthorized"}, {"503", "Unhealthy"}}},
      {"body",
       {{"400", "Empty"},
        {"401", "Unauthorized"},
        {"411", "LengthRequired"},
        {"413", "PayloadTooLarge"},
        {"415", "UnsupportedMediaType"},
        {"422", "Validation"},
        {"503", "ShuttingDown"}}},
      {"inference",
       {{"400", "Empty"},
        {"401", "Unauthorized"},
        {"411", "LengthRequired"},
        {"413", "PayloadTooLarge"},
        {"415", "UnsupportedMediaType"},
        {"422", "Validation"},
        {"424", "Backend"},
        {"429", "Overloaded"},
        {"503", "ShuttingDown"}}},
  };
  for (auto& [path, ops] : doc["paths"].items())
    for (auto& [method, op] : ops.items()) {
      ordered_json& responses = op["responses"];
      const std::string set = responses.value("x-errors", "plain");
      responses.erase("x-errors");
      for (const auto& [status, name] : sets.at(set)) responses[status] = {{"$ref", "#/components/responses/" + name}};
    }
  return doc.dump(1);
}

}  // namespace bert_emotion::serve
