"""Fit the learned reader's confidence and threshold; write them into ``rag/data/answering.json``.

    python -m eval.fit_reader [--data ../shared/data] [--write]

Data, none of it used for reporting: the questions of the training pool's held-out articles (the
split ``rag/data/reader/reader.json`` records, so the reader never trained on them), retrieving
over those articles' paragraphs as ``rag eval`` does, plus the on-topic and off-topic questions
about the default corpus that ``eval.fit_answering`` uses. Never the SQuAD evaluation half or the
dev set.

1. Label: 1 when the reader's answer is right: the question is answerable and the span's F1
   against a gold answer is at least ``RIGHT_F1`` (on-topic: the span lies in the evidence).
2. Confidence: logistic regression on ``READER_FEATURES`` (from the same ``Answerer.weigh`` that
   answers questions); the four groups get equal total weight.
3. Threshold: the one that maximises the mean share of right decisions over the groups (answered
   right, for answerable and on-topic questions; abstained, for unanswerable and off-topic ones).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval.corpus import build_corpus
from eval.datasets import load_squad
from eval.fit_answering import OFFTOPIC, ON_TOPIC, fit_logistic
from eval.metrics import f1
from eval.reader_data import load_pool, split_by_article
from eval.tuning import DEFAULT_DATA
from rag.answering.config import CONFIG_PATH, READER_FEATURES, AbstentionModel, load_config
from rag.answering.reader import READER_DIR
from rag.embed import MiniLMEmbedder, file_sha256
from rag.entrypoints import configure_logging
from rag.opening import DEFAULT_CORPUS_DIR
from rag.pipeline import RAG

logger = logging.getLogger(__name__)

RIGHT_F1 = 0.5
GROUPS = ("hasans", "noans", "ontopic", "offtopic")


def held_out_squad(pool: Path, seed: int, share: float, out: Path) -> Path:
    """The pool's held-out articles as a SQuAD file (the reader's own split)."""
    held = {e.article for e in split_by_article(load_pool(pool), share, seed)[1]}
    data = json.loads(pool.read_text(encoding="utf-8"))
    data["data"] = [a for a in data["data"] if a["title"] in held]
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def ask_all(
    rag: RAG, questions: list[tuple[str, str, tuple[str, ...]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, right, group) of each question, the reader reading."""
    answerer = rag.answerer(reader=True)
    vectors = rag.embedder.encode([q for _, q, _ in questions], show_progress=True)
    rows, right, groups = [], [], []
    for (group, question, golds), vector in zip(questions, vectors):
        evidence = answerer.weigh(question, vector)
        span = answerer.decide(question, question, evidence, strictness=0.0).short_answer
        rows.append([evidence.read_features[name] for name in READER_FEATURES])
        groups.append(group)
        if span is None or group in ("noans", "offtopic"):
            right.append(False)
        elif group == "ontopic":
            right.append(any(span in g for g in golds))
        else:
            right.append(f1(span, list(golds)) >= RIGHT_F1)
    return np.array(rows), np.array(right), np.array(groups)


def decisions_right(
    confidence: np.ndarray, right: np.ndarray, groups: np.ndarray, t: float
) -> dict[str, float]:
    """Per group, the share of right decisions at threshold ``t``."""
    answered = confidence >= t
    out = {}
    for g in GROUPS:
        mask = groups == g
        ok = (answered & right) if g in ("hasans", "ontopic") else ~answered
        out[g] = float(np.mean(ok[mask])) if mask.any() else float("nan")
    return out


def fit(x: np.ndarray, right: np.ndarray, groups: np.ndarray) -> tuple[AbstentionModel, dict]:
    coef, intercept, counts = fit_logistic(x, right, groups)
    confidence = 1.0 / (1.0 + np.exp(-(x @ coef + intercept)))
    curve = {
        float(t): decisions_right(confidence, right, groups, t)
        for t in np.round(np.arange(0.05, 0.951, 0.01), 2)
    }
    threshold = max(curve, key=lambda t: np.nanmean(list(curve[t].values())))
    fitted = AbstentionModel(
        tuple(round(float(c), 5) for c in coef), round(intercept, 5), threshold, READER_FEATURES
    )
    return fitted, {"at_threshold": curve[threshold], "n": counts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--write", action="store_true", help=f"write into {CONFIG_PATH.name}")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO, "%(message)s")
    embedder = MiniLMEmbedder().load()
    card = json.loads((READER_DIR / "reader.json").read_text(encoding="utf-8"))
    pool = args.data / "squad-train" / "squad_train_pool.json"
    if file_sha256(pool) != card["pool_sha256"]:
        raise SystemExit(f"{pool} is not the pool the reader was trained on")
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
    parts = [ask_all(squad_rag, squad_questions), ask_all(corpus_rag, ontopic + offtopic)]
    x, right, groups = (np.concatenate(p) for p in zip(*parts))
    model, report = fit(x, right, groups)
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
        **report,
    }
    fitted = type(config)(config.weights, config.abstention, model, provenance)
    print(json.dumps(fitted.to_json()["reader"], indent=2))
    if args.write:
        CONFIG_PATH.write_text(json.dumps(fitted.to_json(), indent=2) + "\n", encoding="utf-8")
        logger.info("wrote %s", CONFIG_PATH)


if __name__ == "__main__":
    main()
