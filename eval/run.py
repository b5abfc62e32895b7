"""The harness: ask every question of a dataset in each retrieval mode, over one index.

All questions are encoded in one batched call; each is then weighed and answered with the
library's ``Answerer`` (arithmetic over vectors stored at index time). Nothing here retrieves,
extracts or scores on its own: answers come from ``rag.answering``, figures from
``eval.scoring`` and ``eval.metrics``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from eval import metrics
from eval.corpus import EvalCorpus
from eval.datasets import EvalQuestion, QADataset
from eval.scoring import HAS_ANSWER_DEPTH, RETRIEVAL_DEPTH, ModeRun, QuestionResult, score_run
from rag.answering import check_question
from rag.config import check_k, check_mode
from rag.errors import InvalidInputError
from rag.types import Citation, Document, RetrievalMode

COMPARE_MODES: tuple[RetrievalMode, ...] = ("bm25", "dense", "hybrid")
"""The modes ``--compare`` runs, in table order."""


@dataclass(frozen=True)
class RunConfig:
    """What to run.

    Attributes:
        modes: The retrieval modes to run, each over the same index and encoded questions.
        k: Passages each answer shows (``ask -k``); the answer itself does not depend on it.
        answer: Ask the questions (False for BEIR: retrieval only).
        show_progress: Show a progress bar per mode.
        strictness: Abstention threshold (None: the fitted one; 0: never abstain).
        reader: Answer with the learned reader (``rag.answering.reader``); None: the default.
    """

    modes: tuple[RetrievalMode, ...] = ("hybrid",)
    k: int = 5
    answer: bool = True
    show_progress: bool = False
    strictness: float | None = None
    reader: bool | None = None

    def __post_init__(self) -> None:
        if not self.modes:
            raise InvalidInputError("at least one retrieval mode is needed")
        for mode in self.modes:
            check_mode(mode)
        check_k(self.k)
        if self.strictness is not None and not 0.0 <= self.strictness <= 1.0:
            raise InvalidInputError(f"strictness must be in [0, 1], got {self.strictness}")


def evaluate(dataset: QADataset, corpus: EvalCorpus, config: RunConfig) -> dict[str, ModeRun]:
    """Ask the dataset's questions over the corpus in each mode of ``config``.

    Args:
        dataset: The questions and their gold answers, passages and qrels.
        corpus: The index and the map from its passages to gold ids.
        config: Modes, ``k`` and whether to answer or only search.

    Returns:
        Mode -> its run, in the order of ``config.modes``.
    """
    questions = [check_question(q.question)[0] for q in dataset.questions]
    embedder = corpus.rag.embedder
    embedder.encode(questions[:1])  # load the model first: its start-up is no question's latency
    started = time.perf_counter()
    vectors = embedder.encode(questions, show_progress=config.show_progress)
    encode_share_ms = (time.perf_counter() - started) * 1000 / max(1, len(questions))
    runs: dict[str, ModeRun] = {}
    for mode in config.modes:
        results = _ask_all(corpus, dataset, questions, vectors, mode, config, encode_share_ms)
        runs[mode] = score_run(mode, results, dataset)
    return runs


def _ask_all(
    corpus: EvalCorpus,
    dataset: QADataset,
    questions: Sequence[str],
    vectors: Any,
    mode: RetrievalMode,
    config: RunConfig,
    encode_share_ms: float,
) -> list[QuestionResult]:
    answerer = corpus.rag.answerer(mode, reader=config.reader)
    retriever = answerer.retriever
    documents = {d.source: d for d in corpus.rag.documents()}
    results = []
    bar = tqdm(
        total=len(questions),
        desc=f"{mode:>6}",
        unit="q",
        file=sys.stderr,
        disable=not config.show_progress,
    )
    with bar:
        for q, text, vector in zip(dataset.questions, questions, vectors):
            started = time.perf_counter()
            answer = forced = None
            if config.answer:
                # One retrieval serves both the answer and the retrieval metrics: weighing at
                # RETRIEVAL_DEPTH ranks the same candidates the answer is chosen from.
                evidence = answerer.weigh(text, vector, RETRIEVAL_DEPTH)
                answer = answerer.decide(
                    text, text, evidence, k=config.k, strictness=config.strictness
                )
                latency = time.perf_counter() - started
                hits = evidence.hits
            else:
                hits = retriever.search(text, RETRIEVAL_DEPTH, vector=vector)
                latency = time.perf_counter() - started
            ranked_ids = [h.passage.id for h in hits[:RETRIEVAL_DEPTH]]
            if answer is not None:
                forced = answer.answer
                if answer.abstained and q.answerable:
                    # The quote it would have given, for the accuracy-coverage curve; untimed.
                    forced = answerer.decide(text, text, evidence, strictness=0.0).answer
            has = None
            if q.answers:
                top = [h.passage.text for h in hits[:HAS_ANSWER_DEPTH]]
                has = metrics.has_answer(top, q.answers)
            citations = answer.citations if answer is not None else ()
            results.append(
                QuestionResult(
                    question=q,
                    ranked=_gold_ranking(ranked_ids, corpus.passage_gold_ids),
                    has_answer=has,
                    answer=answer,
                    forced_quote=forced,
                    citations_valid=sum(_valid(c, documents) for c in citations),
                    citations_gold=_gold_citations(q, citations, corpus),
                    latency_ms=latency * 1000 + encode_share_ms,
                )
            )
            bar.update()
    return results


def _gold_ranking(
    passage_ids: Sequence[str], gold_ids: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """Gold ids in the order their first passage was retrieved (best rank per id)."""
    seen: dict[str, None] = {}
    for passage_id in passage_ids:
        for gold_id in gold_ids.get(passage_id, ()):
            seen.setdefault(gold_id)
    return tuple(seen)[:RETRIEVAL_DEPTH]


def _valid(citation: Citation, documents: dict[str, Document]) -> bool:
    doc = documents.get(citation.source)
    return doc is not None and doc.text[citation.start : citation.end] == citation.quote


def _gold_citations(
    q: EvalQuestion, citations: Sequence[Citation], corpus: EvalCorpus
) -> int | None:
    if not (q.answerable and q.gold_doc_ids and corpus.gold_spans):
        return None
    gold = set(q.gold_doc_ids)
    return sum(
        1 for c in citations if gold.intersection(corpus.passage_gold_ids.get(c.passage_id, ()))
    )
