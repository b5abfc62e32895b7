"""The data every stage passes on: frozen dataclasses with character offsets into a document's text.

Offsets always index ``Document.text`` (the cleaned text the user is shown), so any passage,
sentence or citation can be checked with ``document.text[start:end]``. ``Document`` and
``Passage`` are what the store holds (``index.records``); they are re-exported here so that every
type a user meets comes from one module.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from index.records import Document, Passage, content_id

__all__ = [
    "RETRIEVAL_MODES",
    "Answer",
    "Citation",
    "Document",
    "Hit",
    "Passage",
    "RetrievalMode",
    "Turn",
    "content_id",
]

RetrievalMode = Literal["hybrid", "dense", "bm25"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Hit:
    """A passage returned by a search, best first.

    Attributes:
        passage: The passage (its ``id`` keys it everywhere).
        score: What it was ranked by (higher is better): the fused score in hybrid mode, else
            the one retriever's score.
        rank: 1-based.
        dense: Cosine similarity of its vector to the query's (None when not computed).
        bm25: Its BM25 score for the query (None when not computed).
    """

    passage: Passage
    score: float
    rank: int
    dense: float | None = None
    bm25: float | None = None

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
            "dense": _rounded(self.dense),
            "bm25": _rounded(self.bm25),
            "text": p.text,
        }


def _rounded(score: float | None) -> float | None:
    return None if score is None or math.isnan(score) else round(float(score), 6)


@dataclass(frozen=True)
class Citation:
    """A verbatim quote and where it stands: ``quote == document.text[start:end]``.

    ``line_start``/``line_end`` are the 1-based lines of the original ``.txt``/``.md`` file that
    hold the quote (None for other types, or when the file changed); ``stale`` is True when the
    file changed or vanished since it was indexed (the quote is from the indexed version).
    """

    n: int
    source: str
    title: str
    page: int
    passage_id: str
    start: int
    end: int
    quote: str
    line_start: int | None = None
    line_end: int | None = None
    stale: bool = False

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
