"""Why an answer was given or refused: the trace ``ask(explain=True)`` attaches.

Built from the evidence the decision was made on (nothing is recomputed differently), so the
verdict always matches the decision: ``answered`` exactly when the answer is not an abstention,
else the first stage that fell short, in pipeline order.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.contract import PassageStore
from rag.analysis import CONTENT_STOPWORDS, WORD, content_terms
from rag.answering.quotes import ScoredSentence
from rag.answering.reader import ReadSpan
from rag.types import Answer, Explanation, Hit, PassageTrace, SentenceTrace, Verdict

SHOWN_SENTENCES = 5
"""Candidate sentences listed in a trace, best first."""


def question_terms(query: str) -> dict[str, str]:
    """The query's content words as written, by the stemmed term the index holds."""
    terms: dict[str, str] = {}
    for word in WORD.findall(query.lower()):
        if word not in CONTENT_STOPWORDS:
            for term in content_terms(word):
                terms.setdefault(term, word)
    return terms


def explain(
    answer: Answer,
    store: PassageStore,
    *,
    hits: Sequence[Hit],
    sentences: Sequence[ScoredSentence],
    spans: Sequence[ReadSpan] | None,
    threshold: float,
) -> Explanation:
    """The trace of one decision.

    Args:
        answer: What was decided.
        store: The store the evidence came from (for document frequencies and span texts).
        hits: The passages retrieved, best first.
        sentences: The scored candidate sentences, best first.
        spans: The reader's best span per passage read (None when the reader did not read).
        threshold: The confidence threshold the answer was decided with.
    """
    terms = question_terms(answer.query or answer.question)
    frequency = store.document_frequency(terms)
    gaps = tuple(word for term, word in terms.items() if frequency[term] == 0)
    by_passage = {s.passage_id: s for s in spans or ()}
    passages = []
    for h in hits:
        matched = set(content_terms(h.passage.text))
        span = by_passage.get(h.passage.id)
        passages.append(
            PassageTrace(
                passage_id=h.passage.id,
                title=h.passage.title,
                page=h.passage.page,
                rank=h.rank,
                score=h.score,
                dense=h.dense,
                bm25=h.bm25,
                matched_terms=tuple(word for term, word in terms.items() if term in matched),
                span=_span_text(store, span) if span else None,
                span_score=span.score if span else None,
                no_answer_score=span.null if span else None,
            )
        )
    shown = [
        SentenceTrace(
            s.passage_id,
            s.start,
            s.end,
            s.text,
            s.score,
            tuple(word for term, word in terms.items() if term in s.terms),
        )
        for s in sentences[:SHOWN_SENTENCES]
    ]
    verdict, reason = _verdict(answer, hits, sentences, spans, terms, gaps, threshold)
    return Explanation(
        method="reader" if spans is not None else "sentence scorer",
        question_terms=tuple(terms.values()),
        coverage_gaps=gaps,
        passages=tuple(passages),
        sentences=tuple(shown),
        confidence=answer.confidence,
        threshold=threshold,
        verdict=verdict,
        reason=reason,
    )


def _verdict(
    answer: Answer,
    hits: Sequence[Hit],
    sentences: Sequence[ScoredSentence],
    spans: Sequence[ReadSpan] | None,
    terms: dict[str, str],
    gaps: tuple[str, ...],
    threshold: float,
) -> tuple[Verdict, str]:
    compared = f"confidence {answer.confidence:.2f} against the threshold {threshold:.2f}"
    missing = f" ({', '.join(gaps)} occur nowhere in the documents)" if gaps else ""
    if not answer.abstained:
        first = answer.citations[0]
        return "answered", (
            f"Answered: {compared}; the quote is from {first.title}, p. {first.page}."
        )
    if not hits:
        return "not retrieved", "Not retrieved: the index holds no passages to search."
    if terms and len(gaps) == len(terms):
        return "not retrieved", (
            f"Not retrieved: none of the question's words ({', '.join(gaps)}) occur in the "
            "documents, so no passage about it could be found."
        )
    if spans is not None and not any(s.margin > 0 for s in spans):
        return "no answer span", (
            f"Retrieved {len(hits)} passages, but in each the reader scored 'no answer' above "
            f"every span{missing}."
        )
    if spans is None and not sentences:
        return "no answer span", f"Retrieved {len(hits)} passages, but no sentence to quote."
    return "below threshold", (
        f"A candidate answer was found, but the {compared} is too low to answer{missing}."
    )


def _span_text(store: PassageStore, span: ReadSpan) -> str:
    passage = store.passage(span.passage_id)
    document = store.document(passage.doc_id)
    return document.text[span.start : span.end] if document else ""
