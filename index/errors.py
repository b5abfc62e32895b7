"""The root of the exception tree and the errors of the store.

They live in the lowest layer so that every error the store raises is already a ``RagError``
(the CLI and the UI show any ``RagError`` as one friendly line); ``rag.errors`` re-exports them
beside the errors of the stages above.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInputError(RagError, ValueError):
    """A question, query or parameter that cannot be used (empty query, ``k <= 0``...)."""


class IndexStoreError(RagError):
    """Base of the on-disk index errors."""


class IndexNotFoundError(IndexStoreError):
    """No index at the given directory."""


class IndexCorruptError(IndexStoreError):
    """An index directory with a missing or damaged file."""


class IndexMismatchError(IndexStoreError):
    """An index built with another embedding model, format or settings than the ones asked for."""
