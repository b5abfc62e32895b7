"""Fit the learned reader's confidence and threshold; write them into ``rag/data/answering.json``.

    python -m eval.fit_reader [--data ../shared/data] [--write]

Data, none of it used for reporting: the questions of the training pool's held-out articles (the
split ``rag/data/reader/reader.json`` records, so the reader never trained on them), retrieving
over those articles' paragraphs as ``rag eval`` does, plus the on-topic and off-topic questions
about the default corpus that ``eval.fit_answering`` uses. Never the SQuAD evaluation half or the
dev set.

1. Passage choice (``ReaderChoice``): the weights of retrieval evidence added to each span's
   margin that maximise the mean F1 of the chosen span over the held-out answerable questions
   (a grid; the margin alone is one of its points).
2. Label: 1 when the reader's answer is right: the question is answerable and its quote holds a
   gold answer, as ``rag eval`` counts a right answer (on-topic: the span lies in the evidence).
3. Confidence: logistic regression on ``READER_FEATURES`` (from the same ``Answerer.weigh`` that
   answers questions, with the fitted choice); the four groups get equal total weight.
4. Threshold: the sentence scorer's rule (``eval.fit_answering.choose_threshold``): the strictest
   one that still answers 95 % of the questions answered right, in SQuAD and in the default
   corpus each; the curve it is chosen from is logged.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval.corpus import build_corpus
from eval.datasets import load_squad
from eval.fit_answering import OFFTOPIC, ON_TOPIC, fit_abstention
from eval.metrics import contains_gold, f1
from eval.reader_data import load_pool, shipped_reader_pool, split_by_article
from eval.tuning import DEFAULT_DATA
from rag.answering import Answerer
from rag.answering.confidence import passage_evidence
from rag.answering.config import (
    CONFIG_PATH,
    READER_FEATURES,
    AnsweringConfig,
    ReaderChoice,
    load_config,
)
from rag.embed import MiniLMEmbedder
from rag.entrypoints import configure_logging
from rag.opening import DEFAULT_CORPUS_DIR
from rag.pipeline import RAG

logger = logging.getLogger(__name__)


def held_out_squad(pool: Path, seed: int, share: float, out: Path) -> Path:
    """The pool's held-out articles as a SQuAD file (the reader's own split)."""
    held = {e.article for e in split_by_article(load_pool(pool), share, seed)[1]}
    data = json.loads(pool.read_text(encoding="utf-8"))
    data["data"] = [a for a in data["data"] if a["title"] in held]
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


CHOICE_GRID = (0.0, 4.0, 8.0, 12.0, 16.0, 24.0)


def fit_choice(
    rag: RAG, questions: list[tuple[str, str, tuple[str, ...]]]
) -> tuple[ReaderChoice, dict]:
    """The ``ReaderChoice`` that maximises the mean F1 of the chosen span (answerable questions)."""
    answerer = reader_answerer(rag, load_config())
    vectors = rag.embedder.encode([q for _, q, _ in questions], show_progress=True)
    rows = []  # per question: (margin, fused, lexical, cosine, f1) of each span read
    for (_, question, golds), vector in zip(questions, vectors, strict=True):
        evidence = answerer.weigh(question, vector)
        fused = {h.passage.id: h.score for h in evidence.hits}
        idf = rag.store.idf(evidence.query_terms)
        row = []
        for span in evidence.spans:
            passage = rag.store.passage(span.passage_id)
            document = rag.store.document(passage.doc_id)
            text = document.text[span.start : span.end] if document else ""
            seen = passage_evidence(rag.store, span.passage_id, vector, evidence.query_terms, idf)
            row.append((span.margin, fused.get(span.passage_id, 0.0), seen["passage_lexical"],
                        seen["passage_cosine"], f1(text, list(golds))))  # fmt: skip
        if row:
            rows.append(np.array(row))

    def mean_f1(weights: tuple[float, ...]) -> float:
        return float(np.mean([r[int(np.argmax(r[:, 0] + r[:, 1:4] @ weights)), 4] for r in rows]))

    best = max(itertools.product(CHOICE_GRID, repeat=3), key=mean_f1)
    choice = ReaderChoice(*best)
    report = {"span_f1_margin_only": round(mean_f1((0.0, 0.0, 0.0)), 4),
              "span_f1_chosen": round(mean_f1(best), 4), "questions": len(rows)}  # fmt: skip
    return choice, report


def reader_answerer(rag: RAG, config: AnsweringConfig) -> Answerer:
    """The library's answerer over ``rag``, the reader reading, with ``config``."""
    default = rag.answerer(reader=True)
    return Answerer(default.retriever, default.store, rag.embedder, config, reader=default.reader)


def ask_all(
    rag: RAG, questions: list[tuple[str, str, tuple[str, ...]]], config: AnsweringConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """(features, right, group) of each question, the reader reading, and over the answerable
    ones how often the span's sentence, and the whole quote, hold a gold answer."""
    answerer = reader_answerer(rag, config)
    vectors = rag.embedder.encode([q for _, q, _ in questions], show_progress=True)
    rows, right, groups = [], [], []
    holds: dict[str, list[bool]] = {"span_sentence_holds_gold": [], "quote_holds_gold": []}
    for (group, question, golds), vector in zip(questions, vectors):
        evidence = answerer.weigh(question, vector)
        answer = answerer.decide(question, question, evidence, strictness=0.0)
        rows.append([evidence.read_features[name] for name in READER_FEATURES])
        groups.append(group)
        if answer.short_answer is None or group in ("noans", "offtopic"):
            right.append(False)
        elif group == "ontopic":
            right.append(any(answer.short_answer in g for g in golds))
        else:
            first = answer.citations[0].quote
            holds["span_sentence_holds_gold"].append(contains_gold(first, golds))
            holds["quote_holds_gold"].append(contains_gold(answer.answer or "", golds))
            right.append(holds["quote_holds_gold"][-1])
    shares = {k: round(float(np.mean(v)), 4) for k, v in holds.items() if v}
    return np.array(rows), np.array(right), np.array(groups), shares


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--write", action="store_true", help=f"write into {CONFIG_PATH.name}")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO, "%(message)s")
    embedder = MiniLMEmbedder().load()
    card, pool = shipped_reader_pool(args.data)
    tmp = Path(tempfile.mkdtemp())
    held = load_squad(
        held_out_squad(pool, card["config"]["seed"], card["config"]["held_out"], tmp / "held.json")
    )
    squad_rag = build_corpus(held, tmp / "held-index", embedder=embedder).rag
    corpus_rag = RAG(tmp / "corpus-index", embedder=embedder)
    corpus_rag.index_paths([DEFAULT_CORPUS_DIR])
    ontopic: list[tuple[str, str, tuple[str, ...]]] = [
        ("ontopic", row["question"], (row["evidence"],))
        for row in map(json.loads, ON_TOPIC.read_text(encoding="utf-8").splitlines())
    ]
    offtopic: list[tuple[str, str, tuple[str, ...]]] = [
        ("offtopic", line.strip(), ())
        for line in OFFTOPIC.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    squad_questions = [
        ("hasans" if q.answerable else "noans", q.question, q.answers) for q in held.questions
    ]
    answerable = [q for q in squad_questions if q[0] == "hasans"]
    choice, choice_report = fit_choice(squad_rag, answerable)
    logger.info("reader passage choice %s: %s", choice, choice_report)
    chosen = dataclasses.replace(load_config(), reader_choice=choice)
    parts = [
        ask_all(squad_rag, squad_questions, chosen),
        ask_all(corpus_rag, ontopic + offtopic, chosen),
    ]
    x, right, groups = (np.concatenate(p) for p in list(zip(*parts))[:3])
    model, report = fit_abstention(x, right, groups, READER_FEATURES)
    report["held_out_answering_all"] = parts[0][3]
    logger.info("reader confidence %s\n%s", model, json.dumps(report, indent=2))
    config = load_config()
    provenance = dict(config.provenance)
    provenance["reader"] = {
        "fitted_by": "python -m eval.fit_reader --write",
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "pool": card["pool_sha256"],
            "held_out_questions": len(held.questions),
            "ontopic_questions": len(ontopic),
            "offtopic_questions": len(offtopic),
        },
        "reader_weights": card["weights_sha256"],
        "choice": choice_report,
        **report,
    }
    fitted = dataclasses.replace(config, reader=model, reader_choice=choice, provenance=provenance)
    print(json.dumps(fitted.to_json()["reader"], indent=2))
    if args.write:
        CONFIG_PATH.write_text(json.dumps(fitted.to_json(), indent=2) + "\n", encoding="utf-8")
        logger.info("wrote %s", CONFIG_PATH)


if __name__ == "__main__":
    main()
