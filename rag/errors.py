"""The exception tree: every failure a user can cause is a ``RagError`` with a message saying how
to fix it. The CLI and the UI show these messages without a traceback. The root and the store's
errors are defined in ``index.errors`` (the lowest layer) and re-exported here."""

from __future__ import annotations

import os

from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
    InvalidInputError,
    RagError,
)

__all__ = [
    "CitationError",
    "DatasetError",
    "DocumentError",
    "EmptyCorpusError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexStoreError",
    "InvalidInputError",
    "ModelError",
    "PathNotFoundError",
    "RagError",
    "UnreadableDocumentError",
    "UnsupportedFileError",
]


class DocumentError(RagError):
    """A file that cannot be turned into a document. ``path`` names it, printably: bytes of a
    file name that are not UTF-8 are shown as ``\\xe9``."""

    def __init__(self, path: object, message: str) -> None:
        self.path = printable_path(path)
        super().__init__(f"{self.path}: {message}")


def printable_path(path: object) -> str:
    """A path as text that can be printed and stored: a byte of the name that is not UTF-8 (held
    by Python as a lone surrogate) becomes ``\\xNN``."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


class PathNotFoundError(DocumentError):
    """A path given to index or remove does not exist."""


class UnsupportedFileError(DocumentError):
    """A file whose type the ingestion step cannot read."""


class UnreadableDocumentError(DocumentError):
    """A file of a supported type that cannot be read (damaged, encrypted, no text)."""


class EmptyCorpusError(RagError):
    """Nothing could be indexed, or a search was asked of an index with no passages."""


class ModelError(RagError):
    """The bundled embedding model is missing or its weights are not the expected ones."""


class CitationError(RagError):
    """A citation that does not match its document: a bug, refused rather than shown."""


class DatasetError(RagError):
    """An evaluation dataset that cannot be read; the message names the file and line."""
