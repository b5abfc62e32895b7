"""Confidence: the evidence the abstention model reads, computed for the best candidate quote.

Besides the best sentence's own scores: how similar its whole passage is to the question, how much
of the question the passage covers, how rare the rarest question term that the passage lacks is
(an unanswerable question often names something the text never mentions), and the best
sentence's lead over the best sentence of another passage. The model over these features and its
threshold are fitted (``rag.answering.config``).
"""

from __future__ import annotations

import numpy as np

from index.contract import PassageStore
from rag.answering.config import FEATURES, READER_FEATURES, ReaderChoice
from rag.answering.quotes import ScoredSentence, lexical_coverage, sentence_terms_of
from rag.answering.reader import ReadSpan
from rag.types import Hit


def evidence_features(
    store: PassageStore,
    sentences: list[ScoredSentence],
    vector: np.ndarray,
    query_terms: list[str],
    idf: dict[str, float],
) -> dict[str, float]:
    """The features of ``FEATURES`` for the best sentence (all 0 when there is none)."""
    if not sentences:
        return dict.fromkeys(FEATURES, 0.0)
    best = sentences[0]
    runner_up = next((s.score for s in sentences[1:] if s.passage_id != best.passage_id), 0.0)
    return {
        "cosine": best.cosine,
        "lexical": best.lexical,
        **passage_evidence(store, best.passage_id, vector, query_terms, idf),
        "margin": best.score - runner_up,
    }


def reader_features(
    store: PassageStore,
    spans: list[ReadSpan],
    sentences: list[ScoredSentence],
    scored: dict[str, float],
    vector: np.ndarray,
    query_terms: list[str],
    idf: dict[str, float],
) -> dict[str, float]:
    """The features of ``READER_FEATURES`` for the reader's best span (all 0 when none), with
    ``scored``, the sentence scorer's ``evidence_features`` of ``sentences``: a span the scorer's
    best sentence holds is right more often than one the two disagree on."""
    if not spans:
        return dict.fromkeys(READER_FEATURES, 0.0)
    best = spans[0]
    top = sentences[0] if sentences else None
    agree = (
        top is not None
        and top.passage_id == best.passage_id
        and top.start <= best.start
        and best.end <= top.end
    )
    return {
        "span_margin": best.margin,
        "span_score": best.score,
        **passage_evidence(store, best.passage_id, vector, query_terms, idf),
        "sentence_cosine": scored["cosine"],
        "sentence_lexical": scored["lexical"],
        "sentence_margin": scored["margin"],
        "span_in_best_sentence": float(agree),
    }


def choose_spans(
    store: PassageStore,
    spans: list[ReadSpan],
    hits: list[Hit],
    vector: np.ndarray,
    query_terms: list[str],
    idf: dict[str, float],
    choice: ReaderChoice,
) -> list[ReadSpan]:
    """The reader's spans, the one to answer with first (``ReaderChoice``)."""
    fused = {h.passage.id: h.score for h in hits}

    def score(span: ReadSpan) -> float:
        evidence = passage_evidence(store, span.passage_id, vector, query_terms, idf)
        return (
            span.margin
            + choice.fused * fused.get(span.passage_id, 0.0)
            + choice.passage_lexical * evidence["passage_lexical"]
            + choice.passage_cosine * evidence["passage_cosine"]
        )

    return sorted(spans, key=score, reverse=True)


def passage_evidence(
    store: PassageStore,
    passage_id: str,
    vector: np.ndarray,
    query_terms: list[str],
    idf: dict[str, float],
) -> dict[str, float]:
    """How close the passage is to the question, how much of it it covers, and how rare the
    rarest question term it lacks is (relative to the rarest of all)."""
    passage_terms = sentence_terms_of(store.passage(passage_id).text)
    top_idf = max((idf.get(t, 0.0) for t in query_terms), default=0.0)
    missing = [idf.get(t, 0.0) for t in query_terms if t not in passage_terms]
    return {
        "passage_cosine": float(store.passage_vector(passage_id) @ vector),
        "passage_lexical": lexical_coverage(query_terms, passage_terms, idf),
        "missing_rare": max(missing, default=0.0) / top_idf if top_idf > 0 else 1.0,
    }
