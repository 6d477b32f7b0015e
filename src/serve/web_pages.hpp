// web_pages.hpp — what the server shows a browser, compiled into the binary (no external requests):
//   index_page()        GET / (Accept: text/html): type or paste tweets, one per line, and see every
//                       label's score as bars, via POST /predict
//   docs_page()         GET /docs: renders /openapi.json (paths, methods, schemas, statuses)
//   openapi_document()  GET /openapi.json: the OpenAPI 3 document of every route (openapi.cpp)
//
//   res.set_content(std::string(index_page()), "text/html; charset=utf-8");
#pragma once

#include <string>
#include <string_view>

namespace bert_emotion::serve {

std::string_view index_page();
std::string_view docs_page();
std::string openapi_document(std::string_view version);

}  // namespace bert_emotion::serve
