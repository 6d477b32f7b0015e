// module.cpp — the extension module bert_emotion._core (the package's Python code is in
// python/bert_emotion/; this file only assembles the bindings, see bindings.hpp).
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  using namespace bert_emotion::python;
  m.doc() = "bert-emotion's C++ engine: tokenizer, classifier, trainer (use the bert_emotion package)";
  m.attr("__version__") = BERT_EMOTION_VERSION;
  bind_errors(m);
  bind_tokenizer(m);
  bind_classifier(m);
  bind_training(m);
}
