// error.hpp — the typed exceptions the engine throws.
//
// The library never exits or prints: it throws one of these, carrying the context a user needs
// (file, line, field, tensor name, expected vs got). Only the CLI (src/cli) and the HTTP server
// (src/serve) catch them and turn them into exit codes / HTTP statuses.
//
//   try { auto cfg = bert_emotion::load_config("model/config.json"); }
//   catch (const bert_emotion::FormatError& e) { std::cerr << e.what() << "\n"; }
#pragma once

#include <stdexcept>
#include <string>

namespace bert_emotion {

// Base of every engine error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file or directory could not be opened, read, written or renamed (errno text included).
class IoError : public Error {
 public:
  using Error::Error;
};

// Bytes from outside (safetensors, JSON, tokenizer files, datasets) are malformed.
// The message names the file and, where known, the line, field or tensor.
class FormatError : public Error {
 public:
  using Error::Error;
};

// Well-formed input that we do not support (a BPE tokenizer, an I64 weight, model_type "gpt2").
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

// A caller passed a nonsensical option or argument (batch size 0, negative learning rate).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// Text that is not valid UTF-8. `byte_offset` is the offset of the first bad byte.
class Utf8Error : public FormatError {
 public:
  Utf8Error(const std::string& what, size_t byte_offset) : FormatError(what), byte_offset(byte_offset) {}
  size_t byte_offset;
};

// A network transfer failed (hub download).
class NetworkError : public Error {
 public:
  using Error::Error;
};

}  // namespace bert_emotion
