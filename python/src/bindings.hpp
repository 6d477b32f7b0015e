// bindings.hpp — what the pybind11 sources of the bert_emotion._core module share.
//
// module.cpp creates the module and calls one bind_* function per concept (errors, tokenizer,
// classifier, training). Engine errors are translated to the Python classes of
// bert_emotion/errors.py (same messages); long calls release the GIL and, between chunks of work,
// take it back briefly to run Python's signal handlers (Ctrl-C raises KeyboardInterrupt there).
//
//   PYBIND11_MODULE(_core, m) { bind_errors(m); bind_tokenizer(m); bind_classifier(m); bind_training(m); }
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>
#include <string>

namespace bert_emotion::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_tokenizer(py::module_& m);
void bind_classifier(py::module_& m);
void bind_training(py::module_& m);

// Runs Python's pending signal handlers; throws py::error_already_set (e.g. KeyboardInterrupt) when
// one raised. Call with the GIL released: it takes it for the check.
void check_signals_without_gil();

// JSON <-> Python objects through the json module (dicts keep their key order; floats round-trip).
py::object json_to_python(const nlohmann::json& j);

}  // namespace bert_emotion::python
