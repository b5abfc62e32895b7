"""What the store holds: documents and their passages, frozen, with character offsets.

Offsets always index ``Document.text`` (the cleaned text the user is shown), so any passage,
sentence or citation can be checked with ``document.text[start:end]``. ``rag.types`` re-exports
these beside the types of the stages above.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass


def content_id(*parts: object, length: int = 16) -> str:
    """A stable id: the first ``length`` hex digits of the SHA-256 of the parts."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return digest.hexdigest()[:length]


@dataclass(frozen=True)
class Document:
    """One source file after extraction and cleaning.

    Attributes:
        id: Content hash of source path and text.
        source: The file's path as indexed.
        title: A short name to show (the file name, or a dataset's article title).
        text: The cleaned full text; every offset elsewhere points into it.
        page_starts: Offset at which each page starts; ``page_starts[0] == 0``.
        content_hash: SHA-256 of the raw file bytes, to skip unchanged files when re-indexing.
    """

    id: str
    source: str
    title: str
    text: str
    page_starts: tuple[int, ...] = (0,)
    content_hash: str = ""

    def page_at(self, offset: int) -> int:
        """The 1-based page number holding character ``offset``."""
        return bisect.bisect_right(self.page_starts, offset)

    @property
    def page_count(self) -> int:
        return len(self.page_starts)


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: a paragraph (or a sentence-aligned piece of a long one).

    ``text == document.text[start:end]``; ``sentences`` are absolute ``(start, end)`` offsets of the
    sentences inside it, in order.
    """

    id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    page: int
    sentences: tuple[tuple[int, int], ...] = ()

    def sentence_texts(self) -> list[str]:
        return [self.text[s - self.start : e - self.start] for s, e in self.sentences]
