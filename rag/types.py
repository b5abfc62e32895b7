"""The data every stage passes on: frozen dataclasses with character offsets into a document's text.

Offsets always index ``Document.text`` (the cleaned text the user is shown), so any passage,
sentence or citation can be checked with ``document.text[start:end]``.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = ("hybrid", "dense", "bm25")


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


@dataclass(frozen=True)
class Hit:
    """A passage returned by a search, with its score (higher is better) and 1-based rank."""

    passage: Passage
    score: float
    rank: int

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "passage_id": p.id,
            "source": p.source,
            "title": p.title,
            "page": p.page,
            "start": p.start,
            "end": p.end,
            "score": round(float(self.score), 6),
            "text": p.text,
        }


@dataclass(frozen=True)
class Citation:
    """A verbatim quote and where it stands: ``quote == document.text[start:end]``."""

    n: int
    source: str
    title: str
    page: int
    passage_id: str
    start: int
    end: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """What ``ask`` returns and what the CLI, the UI and the eval harness show.

    ``answer`` is ``None`` when the system abstains; ``passages`` then hold the related reading.
    """

    question: str
    answer: str | None
    short_answer: str | None
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    query: str = ""
    short_answer_span: tuple[int, int] | None = None
    warnings: tuple[str, ...] = ()

    def as_turn(self) -> Turn:
        """This exchange as history for the next question."""
        return Turn(question=self.question, query=self.query, answer=self.answer)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "confidence": round(float(self.confidence), 4),
            "citations": [c.to_dict() for c in self.citations],
            "passages": [
                {
                    "passage_id": h.passage.id,
                    "source": h.passage.source,
                    "page": h.passage.page,
                    "score": round(float(h.score), 6),
                    "text": h.passage.text,
                }
                for h in self.passages
            ],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "query": self.query,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, as ``ask(history=...)`` receives it."""

    question: str
    query: str = ""
    answer: str | None = None
