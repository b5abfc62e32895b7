"""``ask``: retrieve, extract verbatim quotes, find the short answer, decide whether to abstain.

A question costs one encoder call; everything after it is arithmetic over vectors computed at index
time. Every citation satisfies ``quote == document.text[start:end]``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.bm25 import terms
from index.store import PassageIndex
from rag.abstain import FEATURES, AnsweringConfig, load_config
from rag.config import check_k
from rag.errors import InvalidInputError
from rag.extract import (
    ScoredSentence,
    lexical_coverage,
    score_sentences,
    select_quotes,
    sentence_terms_of,
)
from rag.followup import resolve_query
from rag.retrieve import Retriever, Scored
from rag.short_answer import question_type, short_answer
from rag.types import Answer, Citation, Hit, Turn

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1_000
"""Longer questions are truncated (with a warning): the encoder reads 256 tokens anyway, and this
keeps the work for a pasted 100,000-character text bounded."""

EXTRACT_DEPTH = 8
"""Passages whose sentences compete for the quote; more than are shown, as the best sentence often
sits in a passage ranked a little lower."""


@dataclass(frozen=True)
class Evidence:
    """What the answer is decided on: the ranked candidates and the abstention features."""

    scored: Scored
    sentences: list[ScoredSentence]
    query_terms: list[str]
    features: dict[str, float]


def evidence_features(
    index: PassageIndex,
    sentences: list[ScoredSentence],
    vector: np.ndarray,
    query_terms: list[str],
    idf: dict[str, float],
) -> dict[str, float]:
    """The features of ``rag.abstain.FEATURES`` for the best sentence.

    Besides the best sentence's own scores: how similar its whole passage is to the question, how
    much of the question the passage covers, how rare the rarest question term that the passage
    lacks is (an unanswerable question often names something the text never mentions), and the
    best sentence's lead over the best sentence of another passage.
    """
    if not sentences:
        return dict.fromkeys(FEATURES, 0.0)
    best = sentences[0]
    passage = index.passages[best.row]
    passage_terms = sentence_terms_of(passage.text)
    top_idf = max((idf.get(t, 0.0) for t in query_terms), default=0.0)
    missing = [idf.get(t, 0.0) for t in query_terms if t not in passage_terms]
    runner_up = next((s.score for s in sentences[1:] if s.row != best.row), 0.0)
    return {
        "cosine": best.cosine,
        "lexical": best.lexical,
        "passage_cosine": float(index.vectors_of(np.array([best.row]))[0] @ vector),
        "passage_lexical": lexical_coverage(query_terms, passage_terms, idf),
        "missing_rare": max(missing, default=0.0) / top_idf if top_idf > 0 else 1.0,
        "margin": best.score - runner_up,
    }


def check_question(question: object) -> tuple[str, list[str]]:
    """The question to use and any warnings about it; raises on an empty one."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidInputError("the question is empty: type a question")
    question = " ".join(question.split())
    warnings = []
    if len(question) > MAX_QUESTION_CHARS:
        warnings.append(
            f"the question was {len(question):,} characters long; only the first "
            f"{MAX_QUESTION_CHARS:,} were used"
        )
        logger.warning(warnings[-1])
        question = question[:MAX_QUESTION_CHARS]
    return question, warnings


class Answerer:
    """Answers questions over one retriever's index.

    Args:
        retriever: Finds the candidate passages.
        config: Sentence weights and abstention model (the fitted one shipped by default).
    """

    def __init__(self, retriever: Retriever, config: AnsweringConfig | None = None) -> None:
        self.retriever = retriever
        self.config = config or load_config()

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        history: Sequence[Turn] = (),
        strictness: float | None = None,
    ) -> Answer:
        """Answer with quotes and citations, or abstain (``answer is None``)."""
        question, warnings = check_question(question)
        check_k(k)
        query = resolve_query(question, history)
        started = time.perf_counter()
        vector = self.retriever.index.embedder.encode([query])[0]
        encoded = time.perf_counter()
        answer = self.answer_encoded(question, query, vector, k=k, strictness=strictness)
        timings = {"encode": (encoded - started) * 1000, **answer.timings_ms}
        timings["total"] = (time.perf_counter() - started) * 1000
        return _replace(answer, timings_ms=timings, warnings=tuple(warnings))

    def weigh(self, query: str, vector: np.ndarray, k: int = 5) -> Evidence:
        """Retrieve and score the candidate sentences of an encoded query, and compute the
        features the abstention model reads (the fitting script calls this too)."""
        index = self.retriever.index
        scored = self.retriever.score(query, vector, max(k, EXTRACT_DEPTH))
        query_terms = terms(query)
        idf = index.bm25.idf(query_terms)
        sentences = score_sentences(
            index,
            scored,
            vector,
            query_terms,
            idf,
            EXTRACT_DEPTH,
            self.config.weights,
            question_type(query),
        )
        features = evidence_features(index, sentences, vector, query_terms, idf)
        return Evidence(scored, sentences, query_terms, features)

    def answer_encoded(
        self,
        question: str,
        query: str,
        vector: np.ndarray,
        *,
        k: int = 5,
        strictness: float | None = None,
    ) -> Answer:
        """Answer with the query already encoded (the eval harness encodes in batches)."""
        started = time.perf_counter()
        evidence = self.weigh(query, vector, k)
        answer = self.decide(question, query, evidence, k=k, strictness=strictness)
        return _replace(
            answer, timings_ms={"retrieve_extract": (time.perf_counter() - started) * 1000}
        )

    def decide(
        self,
        question: str,
        query: str,
        evidence: Evidence,
        *,
        k: int = 5,
        strictness: float | None = None,
    ) -> Answer:
        """Quote, cite and find the short answer from weighed evidence, or abstain. Arithmetic
        only: the harness weighs a question once and decides at several strictness levels."""
        sentences = evidence.sentences
        hits = self.retriever.hits(evidence.scored, k)
        confidence = self.config.abstention.confidence(evidence.features) if sentences else 0.0
        threshold = self.config.abstention.threshold if strictness is None else strictness
        if not sentences or confidence < threshold:
            return Answer(
                question=question,
                answer=None,
                short_answer=None,
                abstained=True,
                confidence=confidence,
                passages=tuple(hits),
                query=query,
            )
        quotes = select_quotes(sentences, evidence.query_terms, self.config.weights)
        citations = tuple(self._cite(n, s) for n, s in enumerate(quotes, start=1))
        short = short_answer(question, quotes[0].text)
        short_text = None
        short_span = None
        if short is not None:
            short_span = (quotes[0].start + short[0], quotes[0].start + short[1])
            short_text = quotes[0].text[short[0] : short[1]]
        return Answer(
            question=question,
            answer=" ".join(c.quote for c in citations),
            short_answer=short_text,
            abstained=False,
            confidence=confidence,
            citations=citations,
            passages=tuple(_with_cited_first(hits, evidence.scored, quotes, self.retriever)),
            query=query,
            short_answer_span=short_span,
        )

    def _cite(self, n: int, sentence: ScoredSentence) -> Citation:
        passage = self.retriever.index.passages[sentence.row]
        document = self.retriever.index.documents[passage.doc_id]
        return Citation(
            n=n,
            source=passage.source,
            title=passage.title,
            page=document.page_at(sentence.start),
            passage_id=passage.id,
            start=sentence.start,
            end=sentence.end,
            quote=document.text[sentence.start : sentence.end],
        )


def _with_cited_first(
    hits: list[Hit], scored: Scored, quotes: list[ScoredSentence], retriever: Retriever
) -> list[Hit]:
    """The shown passages: the retrieved ones, plus any cited passage ranked below ``k``."""
    shown = {h.passage.id for h in hits}
    extra = []
    for q in quotes:
        passage = retriever.index.passages[q.row]
        if passage.id not in shown:
            score = float(scored.fused[list(scored.rows).index(q.row)])
            extra.append(Hit(passage=passage, score=score, rank=q.rank))
            shown.add(passage.id)
    return hits + extra


def _replace(answer: Answer, **changes: object) -> Answer:
    return dataclasses.replace(answer, **changes)  # type: ignore[arg-type]
