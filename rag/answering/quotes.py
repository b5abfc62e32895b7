"""The extractive step: score the sentences of the retrieved passages against the question and pick
the quotes.

A sentence's score mixes four kinds of evidence, all cheap at question time because the sentence
vectors were computed when the passages were indexed:

* ``cosine``  - similarity of the sentence vector to the question vector;
* ``lexical`` - the IDF-weighted share of the question's terms that the sentence contains;
* ``passage`` - the retrieval score of the passage it stands in, scaled to the best candidate;
* ``answer_type`` - 1 when the sentence holds a span of the type the question asks for (a date
  for "when", a figure for "how many") that the question does not already contain.

The weights (``rag.answering.config.SentenceWeights``) were fitted on the answerable questions of
the SQuAD 2.0 half (``python -m eval.fit_answering``) and live in ``rag/data/answering.json``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from index.contract import PassageStore
from rag.analysis import content_terms
from rag.answering.config import SentenceWeights
from rag.answering.short_answer import AnswerType, has_typed_answer
from rag.types import Hit

DUPLICATE_OVERLAP = 0.6
"""Quotes sharing more than this share of their terms say the same thing; keep one."""


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate quote: absolute offsets in its document and the evidence behind its score."""

    passage_id: str
    rank: int
    start: int
    end: int
    text: str
    cosine: float
    lexical: float
    passage: float
    typed: float
    score: float
    terms: frozenset[str]


_SPEAKER_LABEL = re.compile(r"^[A-Z][A-Z .'’-]{1,40}:\s")
"""A transcript's speaker label ("LAVROV: ", "SECURITY INDEX: "): it names who speaks, not what
the sentence says, so it must not make every sentence of a speaker match a question naming them."""


@functools.lru_cache(maxsize=65_536)
def sentence_terms_of(text: str) -> frozenset[str]:
    """A sentence's content terms, cached: the same sentences come back question after question."""
    return frozenset(content_terms(_SPEAKER_LABEL.sub("", text, count=1)))


def lexical_coverage(
    question_terms: list[str], sentence_terms: frozenset[str], idf: dict[str, float]
) -> float:
    total = sum(idf.get(t, 0.0) for t in set(question_terms))
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 0.0) for t in set(question_terms) if t in sentence_terms) / total


def score_sentences(
    store: PassageStore,
    hits: list[Hit],
    vector: np.ndarray,
    question_terms: list[str],
    idf: dict[str, float],
    depth: int,
    weights: SentenceWeights,
    answer_type: AnswerType = "other",
) -> list[ScoredSentence]:
    """Score every sentence of the ``depth`` best passages, best first.

    ``answer_type`` (from ``short_answer.question_type``) adds the fourth kind of evidence: the
    sentence holds a span of that type (a date for "when") that the question does not.
    """
    question_set = set(question_terms)
    top = np.array([h.score for h in hits[:depth]], dtype=np.float32)
    best = float(top.max()) if len(top) and top.max() > 0 else 1.0
    out = []
    sentence_vectors = store.sentence_vectors_of([h.passage.id for h in hits[:depth]])
    for rank, (hit, fused) in enumerate(zip(hits[:depth], top), start=1):
        passage = hit.passage
        cosines = sentence_vectors[passage.id] @ vector
        for (start, end), cosine in zip(passage.sentences, cosines):
            text = passage.text[start - passage.start : end - passage.start]
            sentence_terms = sentence_terms_of(text)
            lexical = lexical_coverage(question_terms, sentence_terms, idf)
            passage_score = float(fused) / best
            typed = (
                float(has_typed_answer(answer_type, text, question_set))
                if weights.answer_type or answer_type != "other"
                else 0.0
            )
            score = (
                weights.cosine * float(cosine)
                + weights.lexical * lexical
                + weights.passage * passage_score
                + weights.answer_type * typed
            )
            out.append(
                ScoredSentence(
                    passage_id=passage.id,
                    rank=rank,
                    start=start,
                    end=end,
                    text=text,
                    cosine=float(cosine),
                    lexical=lexical,
                    passage=passage_score,
                    typed=typed,
                    score=score,
                    terms=sentence_terms,
                )
            )
    out.sort(key=lambda s: (-s.score, s.rank, s.start))
    return out


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 1.0 if a == b else 0.0
    return len(a & b) / min(len(a), len(b))


def select_quotes(
    sentences: list[ScoredSentence], question_terms: list[str], weights: SentenceWeights
) -> list[ScoredSentence]:
    """The best sentence, plus up to ``max_quotes - 1`` more that each add something.

    A further quote must score at least ``extra_quote_ratio`` of the best and either come from
    another passage (a second source saying it) or hold question terms the chosen quotes lack
    (the sentence after "...the Institute was established" that says where its branches are).
    Near-duplicates are never added. The best sentence stays first: the short answer is in it.
    """
    if not sentences:
        return []
    best = sentences[0]
    chosen = [best]
    wanted = set(question_terms)
    for s in sentences[1:]:
        if len(chosen) >= weights.max_quotes or s.score < weights.extra_quote_ratio * best.score:
            break
        if any(_overlap(s.terms, c.terms) > DUPLICATE_OVERLAP for c in chosen):
            continue
        covered = set().union(*(c.terms for c in chosen)) & wanted
        adds_terms = bool((s.terms & wanted) - covered)
        if any(s.passage_id == c.passage_id for c in chosen) and not adds_terms:
            continue
        chosen.append(s)
    return chosen
