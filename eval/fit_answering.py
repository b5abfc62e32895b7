"""Fit the sentence weights and the abstention model; write ``rag/data/answering.json``.

    python -m eval.fit_answering [--data ../shared/data] [--cache DIR] [--write]

Data: training data only. Every question of the SQuAD training pool
(``squad-train/squad_train_pool.json``: 35 articles, none shared with the evaluation half),
retrieving over all its paragraphs, plus two sets asked of the default corpus: the on-topic
questions of ``tests/data/corpus_retrieval_questions.jsonl`` (gold: the evidence snippet) and the
off-topic questions of ``eval/data/offtopic_fit.txt``. The SQuAD evaluation half and the dev set
``eval/data/lavrov_dev.jsonl`` are never used here; they only report the result.

1. Sentence weights: a grid over (cosine, lexical, passage; answer type), maximising the share
   of answerable SQuAD questions whose best sentence contains a gold answer.
2. Confidence: logistic regression on ``rag.answering.config.FEATURES`` (computed by the same
   ``Answerer.weigh`` that answers questions); label 1 when the question is answerable and the
   quote holds a gold answer, 0 otherwise. The four groups (SQuAD answerable, SQuAD unanswerable,
   on-topic, off-topic) get equal total weight.
3. Threshold: the strictest one that still answers ``KEEP_RIGHT`` (95 %) of the questions whose
   quote is right, in SQuAD and in the default corpus each. SQuAD 2.0's unanswerable questions
   are written to look answerable from the same paragraph, and these features barely tell them
   apart (the curve this script logs shows it); off-topic questions fall far below any threshold
   on the curve. So the threshold protects right answers first and abstains below it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval.datasets import load_squad
from eval.metrics import contains_gold
from eval.tuning import DEFAULT_DATA, cached_corpus
from rag.answering import Answerer
from rag.answering.config import (
    CONFIG_PATH,
    FEATURES,
    AbstentionModel,
    AnsweringConfig,
    SentenceWeights,
    load_config,
)
from rag.embed import Embedder, MiniLMEmbedder
from rag.entrypoints import configure_logging
from rag.opening import DEFAULT_CORPUS_DIR
from rag.pipeline import RAG

logger = logging.getLogger(__name__)

OFFTOPIC = Path(__file__).resolve().parent / "data" / "offtopic_fit.txt"
ON_TOPIC = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus_retrieval_questions.jsonl"
)
GRID = tuple(round(x, 2) for x in np.arange(0.0, 1.0001, 0.1))
TYPE_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
NEUTRAL = SentenceWeights(cosine=1.0, lexical=0.0, passage=0.0)
KEEP_RIGHT = 0.95


@dataclass
class Asked:
    """One question's candidate sentences, for re-scoring under other weights."""

    group: str  # "hasans", "noans" (SQuAD), "ontopic" or "offtopic" (default corpus)
    question: str
    vector: np.ndarray
    features: np.ndarray  # (n_sentences, 4): cosine, lexical, passage, typed
    holds_gold: np.ndarray  # (n_sentences,) bool


def answerer(rag: RAG, weights: SentenceWeights) -> Answerer:
    """The library's answerer over ``rag`` with other sentence weights."""
    default = rag.answerer()
    return Answerer(
        default.retriever, default.store, rag.embedder, AnsweringConfig(weights=weights)
    )


def collect(
    rag: RAG, questions: list[tuple[str, str, tuple[str, ...]]], embedder: Embedder
) -> list[Asked]:
    neutral = answerer(rag, NEUTRAL)
    vectors = embedder.encode([q for _, q, _ in questions], show_progress=True)
    out = []
    for (group, question, golds), vector in zip(questions, vectors):
        sentences = neutral.weigh(question, vector).sentences
        out.append(
            Asked(
                group=group,
                question=question,
                vector=vector,
                features=np.array(
                    [[s.cosine, s.lexical, s.passage, s.typed] for s in sentences]
                ).reshape(-1, 4),
                holds_gold=np.array([_holds(group, s.text, golds) for s in sentences]),
            )
        )
    return out


def _holds(group: str, sentence: str, golds: tuple[str, ...]) -> bool:
    """SQuAD golds are answer strings; the on-topic questions' gold is the evidence snippet, which
    the right sentence lies in (or holds)."""
    if group == "ontopic":
        return any(sentence in g or g in sentence for g in golds)
    return bool(golds) and contains_gold(sentence, golds)


def fit_weights(asked: list[Asked]) -> tuple[SentenceWeights, float]:
    answerable = [a for a in asked if a.group == "hasans" and len(a.features)]
    best: tuple[float, tuple[float, ...]] = (-1.0, (0.0, 0.0, 0.0, 0.0))
    for w in itertools.product(GRID, GRID, GRID, TYPE_GRID):
        if abs(sum(w[:3]) - 1.0) > 1e-6:
            continue
        hits = sum(bool(a.holds_gold[int(np.argmax(a.features @ np.array(w)))]) for a in answerable)
        best = max(best, (hits / len(answerable), w))
    share, (c, lex, p, typed) = best
    weights = SentenceWeights(
        cosine=float(c), lexical=float(lex), passage=float(p), answer_type=float(typed)
    )
    return weights, share


def evidence_matrix(
    asked: list[Asked], rags: dict[str, RAG], weights: SentenceWeights
) -> np.ndarray:
    """Each question's abstention features under the fitted sentence weights."""
    answerers = {name: answerer(rag, weights) for name, rag in rags.items()}
    rows = []
    for a in asked:
        fitted = answerers["corpus" if a.group in ("ontopic", "offtopic") else "squad"]
        evidence = fitted.weigh(a.question, a.vector)
        rows.append([evidence.features[name] for name in FEATURES])
    return np.array(rows)


def group_accuracies(
    confidence: np.ndarray, groups: np.ndarray, right: np.ndarray, t: float
) -> dict[str, float]:
    answered = confidence >= t
    return {
        "squad_right_answered": float(np.mean(answered[(groups == "hasans") & right])),
        "ontopic_right_answered": float(np.mean(answered[(groups == "ontopic") & right])),
        "squad_hasans_answered": float(np.mean(answered[groups == "hasans"])),
        "squad_noans_abstained": float(np.mean(~answered[groups == "noans"])),
        "offtopic_abstained": float(np.mean(~answered[groups == "offtopic"])),
    }


def fit_logistic(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, float, dict[str, int]]:
    """Logistic regression of ``y`` on ``x`` with equal total weight per group; returns the
    coefficients and intercept in raw feature units, and the group sizes."""
    from sklearn.linear_model import LogisticRegression

    # Equal total weight per group, mean weight 1 (so the regularisation keeps its usual scale).
    counts = {str(g): int(np.sum(groups == g)) for g in np.unique(groups)}
    weight = np.array([len(groups) / (len(counts) * counts[str(g)]) for g in groups])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / std, y, sample_weight=weight)
    coef = model.coef_[0] / std  # back to raw feature units
    intercept = float(model.intercept_[0] - np.sum(model.coef_[0] * mean / std))
    return coef, intercept, counts


def fit_abstention(
    x: np.ndarray, right: np.ndarray, groups: np.ndarray, features: tuple[str, ...] = FEATURES
) -> tuple[AbstentionModel, dict]:
    """The confidence over ``features`` (the columns of ``x``) and its threshold
    (``choose_threshold``), with the figures at that threshold."""
    y = np.isin(groups, ("hasans", "ontopic")) & right
    coef, intercept, counts = fit_logistic(x, y, groups)
    confidence = 1.0 / (1.0 + np.exp(-(x @ coef + intercept)))
    thresholds = np.round(np.arange(0.05, 0.951, 0.01), 2)
    curve = {float(t): group_accuracies(confidence, groups, right, t) for t in thresholds}
    for t in thresholds[::3]:
        logger.info("threshold %.2f: %s", t, curve[float(t)])
    threshold = choose_threshold(curve)
    fitted = AbstentionModel(
        coef=tuple(round(float(c), 5) for c in coef),
        intercept=round(intercept, 5),
        threshold=threshold,
        features=features,
    )
    return fitted, {"at_threshold": curve[threshold], "n": {g: int(n) for g, n in counts.items()}}


def choose_threshold(curve: dict[float, dict[str, float]]) -> float:
    """The strictest threshold that still gives at least ``KEEP_RIGHT`` of the answers we get
    right: past it, every extra abstention on an unanswerable question costs right answers."""
    keeping = [
        t
        for t, acc in curve.items()
        if min(acc["squad_right_answered"], acc["ontopic_right_answered"]) >= KEEP_RIGHT
    ]
    return max(keeping) if keeping else min(curve)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, help="keep the built indexes here between runs")
    parser.add_argument("--write", action="store_true", help=f"write {CONFIG_PATH.name}")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO, "%(message)s")
    embedder = MiniLMEmbedder().load()

    squad = load_squad(args.data / "squad-train" / "squad_train_pool.json")
    squad_rag = cached_corpus(squad, embedder, args.cache).rag
    questions = [
        ("hasans" if q.answerable else "noans", q.question, q.answers) for q in squad.questions
    ]
    corpus_rag = RAG(Path(tempfile.mkdtemp()) / "corpus-index", embedder=embedder)
    corpus_rag.index_paths([DEFAULT_CORPUS_DIR])
    offtopic: list[tuple[str, str, tuple[str, ...]]] = [
        ("offtopic", line.strip(), ())
        for line in OFFTOPIC.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    squad_asked = collect(squad_rag, questions, embedder)
    ontopic: list[tuple[str, str, tuple[str, ...]]] = [
        ("ontopic", row["question"], (row["evidence"],))
        for row in map(json.loads, ON_TOPIC.read_text(encoding="utf-8").splitlines())
    ]
    corpus_asked = collect(corpus_rag, ontopic + offtopic, embedder)
    asked = squad_asked + corpus_asked

    weights, share = fit_weights(asked)
    logger.info("sentence weights %s: best sentence holds gold for %.3f", weights, share)
    x = evidence_matrix(asked, {"squad": squad_rag, "corpus": corpus_rag}, weights)
    w = np.array([weights.cosine, weights.lexical, weights.passage, weights.answer_type])
    right = np.array(
        [len(a.features) > 0 and bool(a.holds_gold[int(np.argmax(a.features @ w))]) for a in asked]
    )
    model, report = fit_abstention(x, right, np.array([a.group for a in asked]))
    logger.info("abstention %s\n%s", model, json.dumps(report, indent=2))
    current = load_config()  # the reader's models are fitted by eval.fit_reader: kept as they are
    config = AnsweringConfig(
        weights=weights,
        abstention=model,
        reader=current.reader,
        reader_choice=current.reader_choice,
        provenance={
            "fitted_by": "python -m eval.fit_answering --write",
            "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "squad_train_pool": squad.sha256,
                "ontopic_questions": len(ontopic),
                "offtopic_questions": len(offtopic),
            },
            "best_sentence_holds_gold": round(share, 4),
            **report,
            **({"reader": current.provenance["reader"]} if "reader" in current.provenance else {}),
        },
    )
    print(json.dumps(config.to_json(), indent=2))
    if args.write:
        CONFIG_PATH.write_text(json.dumps(config.to_json(), indent=2) + "\n", encoding="utf-8")
        logger.info("wrote %s", CONFIG_PATH)


if __name__ == "__main__":
    main()
