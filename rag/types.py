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

from index.contract import PassageBatch
from index.records import Document, Passage, content_id

__all__ = [
    "RETRIEVAL_MODES",
    "Answer",
    "Citation",
    "Document",
    "Hit",
    "Passage",
    "PassageBatch",
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


Verdict = Literal["not retrieved", "no answer span", "below threshold", "answered"]


@dataclass(frozen=True)
class PassageTrace:
    """One retrieved passage as the answer step saw it (``ask(explain=True)``).

    ``span``, ``span_score`` and ``no_answer_score`` are the reader's best span in it and the
    logits behind it (None without the reader, or for a passage it did not read).
    """

    passage_id: str
    title: str
    page: int
    rank: int
    score: float
    dense: float | None
    bm25: float | None
    matched_terms: tuple[str, ...]
    span: str | None = None
    span_score: float | None = None
    no_answer_score: float | None = None


@dataclass(frozen=True)
class SentenceTrace:
    """A candidate sentence and the score the sentence scorer gave it."""

    passage_id: str
    start: int
    end: int
    text: str
    score: float
    matched_terms: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """Why an answer was given or refused: every candidate's scores and the stage that decided.

    Attributes:
        method: "reader" (the learned reader's span) or "sentence scorer".
        question_terms: The question's content words, as the index analyses them.
        coverage_gaps: Those that occur in no passage of the whole collection.
        passages: The retrieved passages, best first.
        sentences: The best candidate sentences, best first.
        confidence: The answer's confidence.
        threshold: What it was compared with.
        verdict: The stage that decided.
        reason: The verdict in one sentence.
    """

    method: str
    question_terms: tuple[str, ...]
    coverage_gaps: tuple[str, ...]
    passages: tuple[PassageTrace, ...]
    sentences: tuple[SentenceTrace, ...]
    confidence: float
    threshold: float
    verdict: Verdict
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return _rounded_tree(asdict(self))


def _rounded_tree(value: Any) -> Any:
    """JSON-ready: floats to 4 decimals, tuples to lists, all the way down."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded_tree(v) for v in value]
    return value


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
    explanation: Explanation | None = None
    """Set by ``ask(explain=True)``."""

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
            **({"explain": self.explanation.to_dict()} if self.explanation else {}),
        }


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, as ``ask(history=...)`` receives it."""

    question: str
    query: str = ""
    answer: str | None = None
