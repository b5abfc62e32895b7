"""``ask``: retrieve, extract verbatim quotes, find the short answer, decide whether to abstain.

A question costs one encoder call; everything after it is arithmetic over vectors computed at index
time. Answering reads the index only through the ``Retriever`` contract and the store's lookups by
id. Every answer passes ``check_citations`` before it is returned.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.contract import PassageStore
from rag.analysis import check_words, content_terms, is_fragment
from rag.answering.citations import check_citations, cite, cite_span, sentences_around
from rag.answering.confidence import choose_spans, evidence_features, reader_features
from rag.answering.config import AnsweringConfig, load_config
from rag.answering.explain import explain as explain_decision
from rag.answering.followup import resolve_query
from rag.answering.quotes import ScoredSentence, score_sentences, select_quotes
from rag.answering.reader import Reader, ReadSpan
from rag.answering.short_answer import question_type, short_answer
from rag.config import check_k
from rag.embed import Embedder
from rag.retrieve import Retriever
from rag.types import Answer, Hit, Turn

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1_000
"""Longer questions are truncated (with a warning): the encoder reads 256 tokens anyway, and this
keeps the work for a pasted 100,000-character text bounded."""

EXTRACT_DEPTH = 8
"""Passages whose sentences compete for the quote; more than are shown, as the best sentence often
sits in a passage ranked a little lower."""

READ_DEPTH = 4
"""Passages the reader reads: the answer is in the top four for 95 % of SQuAD questions, and
each passage read costs a forward pass."""


@dataclass(frozen=True)
class Evidence:
    """What the answer is decided on: the ranked hits, the scored candidate sentences and the
    abstention features."""

    hits: list[Hit]
    sentences: list[ScoredSentence]
    query_terms: list[str]
    features: dict[str, float]
    spans: list[ReadSpan] = dataclasses.field(default_factory=list)
    """The reader's best span per passage read, the one to answer with first
    (``ReaderChoice``; empty without a reader)."""
    read_features: dict[str, float] = dataclasses.field(default_factory=dict)


def check_question(question: object) -> tuple[str, list[str]]:
    """The question to use and any warnings about it; raises on an empty one."""
    question = " ".join(check_words(question, "question").split())
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
    """Answers questions with quotes from one store.

    Args:
        retriever: Finds the candidate passages.
        store: Looks up documents, passage vectors, sentence vectors and idf by id.
        embedder: Encodes the question (once; retrieval and sentence scoring share the vector).
        config: Sentence weights and abstention models (the fitted ones shipped by default).
        reader: The learned reader; with one, the answer is the span it reads (quoted in its
            sentences), else the best-scoring sentences (the fast mode).
    """

    def __init__(
        self,
        retriever: Retriever,
        store: PassageStore,
        embedder: Embedder,
        config: AnsweringConfig | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.retriever = retriever
        self.store = store
        self.embedder = embedder
        self.config = config or load_config()
        self.reader = reader

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        history: Sequence[Turn] = (),
        strictness: float | None = None,
        explain: bool = False,
    ) -> Answer:
        """Answer with quotes and citations, or abstain (``answer is None``); ``explain``
        attaches the trace of the decision (``Answer.explanation``)."""
        question, warnings = check_question(question)
        check_k(k)
        query = resolve_query(question, history)
        started = time.perf_counter()
        vector = self.embedder.encode([query])[0]
        encoded = time.perf_counter()
        evidence = self.weigh(query, vector, k)
        answer = self.decide(question, query, evidence, k=k, strictness=strictness)
        done = time.perf_counter()
        timings = {
            "encode": (encoded - started) * 1000,
            "retrieve_extract": (done - encoded) * 1000,
            "total": (done - started) * 1000,
        }
        answer = dataclasses.replace(answer, timings_ms=timings, warnings=tuple(warnings))
        if not explain:
            return answer
        trace = explain_decision(
            answer,
            self.store,
            hits=evidence.hits[:k],
            sentences=evidence.sentences,
            spans=evidence.spans if self.reader is not None else None,
            threshold=self.threshold(strictness),
        )
        return dataclasses.replace(answer, explanation=trace)

    def threshold(self, strictness: float | None = None) -> float:
        """The confidence below which this answerer abstains."""
        if strictness is not None:
            return strictness
        model = self.config.reader if self.reader is not None else self.config.abstention
        return model.threshold

    def weigh(self, query: str, vector: np.ndarray, k: int = 5) -> Evidence:
        """Retrieve the ``max(k, EXTRACT_DEPTH)`` best passages of an encoded query, score their
        sentences and compute the features the abstention model reads (the evaluation harness
        and the fitting script call this too)."""
        hits = self.retriever.search(query, max(k, EXTRACT_DEPTH), vector=vector)
        # Display type (an advertisement's list of cities) is neither quoted nor offered.
        hits = [h for h in hits if not is_fragment(h.passage.sentence_texts())]
        query_terms = content_terms(query)
        idf = self.store.idf(query_terms)
        sentences = score_sentences(
            self.store,
            hits,
            vector,
            query_terms,
            idf,
            EXTRACT_DEPTH,
            self.config.weights,
            question_type(query),
        )
        features = evidence_features(self.store, sentences, vector, query_terms, idf)
        if self.reader is None:
            return Evidence(hits, sentences, query_terms, features)
        spans = self.reader.read(query, [h.passage for h in hits[:READ_DEPTH]])
        spans = choose_spans(
            self.store, spans, hits, vector, query_terms, idf, self.config.reader_choice
        )
        read = reader_features(self.store, spans, sentences, features, vector, query_terms, idf)
        return Evidence(hits, sentences, query_terms, features, spans, read)

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
        if self.reader is not None:
            return self._decide_read(question, query, evidence, k, strictness)
        sentences = evidence.sentences
        hits = evidence.hits[:k]
        confidence = self.config.abstention.confidence(evidence.features) if sentences else 0.0
        threshold = self.threshold(strictness)
        if not sentences or confidence < threshold:
            return _abstain(question, query, confidence, hits)
        quotes = select_quotes(sentences, evidence.query_terms, self.config.weights)
        citations = tuple(cite(self.store, n, s) for n, s in enumerate(quotes, start=1))
        short = short_answer(question, quotes[0].text)
        short_text = None
        short_span = None
        if short is not None:
            short_span = (quotes[0].start + short[0], quotes[0].start + short[1])
            short_text = quotes[0].text[short[0] : short[1]]
        answer = Answer(
            question=question,
            answer=" ".join(c.quote for c in citations),
            short_answer=short_text,
            abstained=False,
            confidence=confidence,
            citations=citations,
            passages=tuple(
                _with_cited_first(hits, evidence.hits, [(q.passage_id, q.rank) for q in quotes])
            ),
            query=query,
            short_answer_span=short_span,
        )
        check_citations(answer, self.store)
        return answer

    def _decide_read(
        self, question: str, query: str, evidence: Evidence, k: int, strictness: float | None
    ) -> Answer:
        """The reader's best span is the short answer; the sentences holding it, the first quote,
        followed by the sentence scorer's best quote that adds something."""
        model = self.config.reader
        span = evidence.spans[0] if evidence.spans else None
        confidence = model.confidence(evidence.read_features) if span else 0.0
        threshold = self.threshold(strictness)
        hits = evidence.hits[:k]
        if span is None or confidence < threshold:
            return _abstain(question, query, confidence, hits)
        passage = self.store.passage(span.passage_id)
        quote_start, quote_end = sentences_around(passage, span.start, span.end)
        citations = [cite_span(self.store, 1, passage.id, quote_start, quote_end)]
        document = self.store.document(passage.doc_id)
        assert document is not None  # cite_span checked it
        cited = [(passage.id, next(h.rank for h in evidence.hits if h.passage.id == passage.id))]
        for extra in self._supporting(evidence, passage.doc_id, quote_start, quote_end):
            citations.append(cite(self.store, len(citations) + 1, extra))
            cited.append((extra.passage_id, extra.rank))
        answer = Answer(
            question=question,
            answer=" ".join(c.quote for c in citations),
            short_answer=document.text[span.start : span.end],
            abstained=False,
            confidence=confidence,
            citations=tuple(citations),
            passages=tuple(_with_cited_first(hits, evidence.hits, cited)),
            query=query,
            short_answer_span=(span.start, span.end),
        )
        check_citations(answer, self.store)
        return answer

    def _supporting(
        self, evidence: Evidence, doc_id: str, start: int, end: int
    ) -> list[ScoredSentence]:
        """The sentence scorer's quotes that the span's quote (``doc_id``, ``[start, end)``)
        does not already hold, up to ``max_quotes`` in all: when the reader's span is wrong, the
        scorer's best sentence often holds the answer (on the pool's held-out articles the quotes
        hold a gold answer for 0.88 of answerable questions, against 0.80 for the span's
        sentence alone; ``docs/reader.md``)."""
        weights = self.config.weights
        quotes = select_quotes(evidence.sentences, evidence.query_terms, weights)
        extra: list[ScoredSentence] = []
        for q in quotes:
            if len(extra) + 1 >= weights.max_quotes:
                break
            same_document = self.store.passage(q.passage_id).doc_id == doc_id
            if not (same_document and q.start < end and start < q.end):
                extra.append(q)
        return extra


def _abstain(question: str, query: str, confidence: float, hits: list[Hit]) -> Answer:
    return Answer(
        question=question,
        answer=None,
        short_answer=None,
        abstained=True,
        confidence=confidence,
        passages=tuple(hits),
        query=query,
    )


def _with_cited_first(
    shown: list[Hit], ranked: list[Hit], cited: Sequence[tuple[str, int]]
) -> list[Hit]:
    """The shown passages: the first ``k`` hits, plus any cited passage (id, rank) ranked below."""
    ids = {h.passage.id for h in shown}
    by_id = {h.passage.id: h for h in ranked}
    extra = []
    for passage_id, rank in cited:
        if passage_id not in ids:
            extra.append(dataclasses.replace(by_id[passage_id], rank=rank))
            ids.add(passage_id)
    return shown + extra
