"""The exceptions bert_emotion raises: one class per engine error type (src/util/error.hpp).

Every class derives from BertEmotionError and from the built-in exception a Python caller would
catch for that case, so ``except ValueError`` and ``except FileNotFoundError`` work as expected::

    BertEmotionError                      base of everything the engine raises
    +-- FormatError(ValueError)           malformed file or text (names the file, line or field)
    |   +-- Utf8Error                     text that is not UTF-8 (.byte_offset)
    +-- InvalidArgumentError(ValueError)  a nonsensical option (batch size 0, unknown split)
    +-- UnsupportedError(ValueError)      well-formed but unsupported (a BPE tokenizer, gpt2)
    +-- IoError(OSError)                  a file could not be read or written
    |   +-- NotFoundError(FileNotFoundError)   a model directory or file that does not exist
    +-- NetworkError(ConnectionError)     a hub download failed
        +-- HubError                      the hub answered an error (.status, .error_code)

The message is the engine's, unchanged (the CLI prints the same text).
"""


class BertEmotionError(Exception):
    """Base of every error the bert-emotion engine raises."""


class FormatError(BertEmotionError, ValueError):
    """Malformed input: a file (safetensors, JSON, tokenizer, dataset) or text."""


class Utf8Error(FormatError):
    """Text that is not valid UTF-8; ``byte_offset`` is the first bad byte."""

    byte_offset = None


class InvalidArgumentError(BertEmotionError, ValueError):
    """A nonsensical option or argument."""


class UnsupportedError(BertEmotionError, ValueError):
    """Well-formed input that bert-emotion does not support."""


class IoError(BertEmotionError, OSError):
    """A file or directory could not be opened, read, written or renamed."""


class NotFoundError(IoError, FileNotFoundError):
    """A model directory or file that does not exist."""


class NetworkError(BertEmotionError, ConnectionError):
    """A network transfer (hub download) failed."""


class HubError(NetworkError):
    """The Hugging Face hub answered with an error: ``status`` (HTTP) and ``error_code``."""

    status = None
    error_code = None


__all__ = [
    "BertEmotionError",
    "FormatError",
    "Utf8Error",
    "InvalidArgumentError",
    "UnsupportedError",
    "IoError",
    "NotFoundError",
    "NetworkError",
    "HubError",
]
