// errors.cpp — engine exceptions (src/util/error.hpp) -> the Python classes of bert_emotion/errors.py.
//
// The message is the engine's, unchanged. The class follows the C++ type; an IoError whose message
// says the file or directory is missing becomes NotFoundError (a FileNotFoundError), since the
// engine reports that case in words rather than with a separate type.
#include <algorithm>
#include <cctype>
#include <exception>

#include "bindings.hpp"
#include "hub/hub.hpp"
#include "util/error.hpp"

namespace bert_emotion::python {

namespace {

void raise_as(const char* class_name, const std::exception& e, const py::dict& attributes = {}) {
  py::object cls = py::module_::import("bert_emotion.errors").attr(class_name);
  py::object exc = cls(py::str(e.what()));
  for (auto item : attributes) exc.attr(item.first) = item.second;
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

bool reports_missing_path(const std::string& what) {
  std::string s = what;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* phrase : {"no such file", "no such model directory", "does not exist", "not a directory"})
    if (s.find(phrase) != std::string::npos) return true;
  return false;
}

}  // namespace

void check_signals_without_gil() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

py::object json_to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(py::str(j.dump()));
}

void bind_errors(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const HubError& e) {
      py::dict a;
      a["status"] = e.status;
      a["error_code"] = e.error_code;
      raise_as("HubError", e, a);
    } catch (const NetworkError& e) {
      raise_as("NetworkError", e);
    } catch (const Utf8Error& e) {
      py::dict a;
      a["byte_offset"] = e.byte_offset;
      raise_as("Utf8Error", e, a);
    } catch (const FormatError& e) {
      raise_as("FormatError", e);
    } catch (const UnsupportedError& e) {
      raise_as("UnsupportedError", e);
    } catch (const InvalidArgument& e) {
      raise_as("InvalidArgumentError", e);
    } catch (const IoError& e) {
      raise_as(reports_missing_path(e.what()) ? "NotFoundError" : "IoError", e);
    } catch (const Error& e) {
      raise_as("BertEmotionError", e);
    }
  });
}

}  // namespace bert_emotion::python
