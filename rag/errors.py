"""The exception tree: every failure a user can cause is a ``RagError`` with a message saying how
to fix it. The CLI and the UI show these messages without a traceback."""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInputError(RagError, ValueError):
    """A question, query or parameter that cannot be used (empty query, ``k <= 0``...)."""


class DocumentError(RagError):
    """A file that cannot be turned into a document. ``path`` names it."""

    def __init__(self, path: object, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)


class PathNotFoundError(DocumentError):
    """A path given to index or remove does not exist."""


class UnsupportedFileError(DocumentError):
    """A file whose type the ingestion step cannot read."""


class UnreadableDocumentError(DocumentError):
    """A file of a supported type that cannot be read (damaged, encrypted, no text)."""


class EmptyCorpusError(RagError):
    """Nothing could be indexed, or a search was asked of an index with no passages."""


class IndexStoreError(RagError):
    """Base of the on-disk index errors."""


class IndexNotFoundError(IndexStoreError):
    """No index at the given directory."""


class IndexCorruptError(IndexStoreError):
    """An index directory with a missing or damaged file."""


class IndexMismatchError(IndexStoreError):
    """An index built with another embedding model, dimension or settings than the running one."""


class ModelError(RagError):
    """The bundled embedding model is missing or its weights are not the expected ones."""


class DatasetError(RagError):
    """An evaluation dataset that cannot be read; the message names the file and line."""
