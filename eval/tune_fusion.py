"""Tune hybrid fusion on Cranfield and the SQuAD 2.0 half; print the side-by-side table.

    python -m eval.tune_fusion [--data ../shared/data]

Each collection is indexed once with the real model and every query encoded once; each fusion
setting then only re-ranks. The chosen setting maximises the mean nDCG@10 over the two collections
and is what ``rag.config.FusionConfig`` defaults to (``docs/retrieval.md`` records the run).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.datasets import QADataset, load_beir, load_squad
from eval.metrics import retrieval_metrics
from eval.tuning import DEFAULT_DATA, cached_corpus
from rag.config import FusionConfig
from rag.embed import MiniLMEmbedder
from rag.entrypoints import configure_logging
from rag.pipeline import RAG
from rag.retrieve import StoreRetriever
from rag.types import RetrievalMode

DEPTH = 100
ALPHAS = tuple(round(a, 2) for a in np.arange(0.0, 1.0001, 0.05))
RRF_KS = (5, 10, 20, 60)


@dataclass
class Collection:
    name: str
    rag: RAG
    queries: dict[str, str]
    vectors: np.ndarray
    qrels: dict[str, dict[str, int]]
    passage_gold_ids: dict[str, tuple[str, ...]]  # passage id -> the ids qrels judge it as


def build(dataset: QADataset, embedder: MiniLMEmbedder, cache: Path | None) -> Collection:
    corpus = cached_corpus(dataset, embedder, cache)
    queries = {q.id: q.question for q in dataset.questions if q.id in dataset.qrels}
    vectors = embedder.encode(list(queries.values()), show_progress=True)
    return Collection(
        dataset.name, corpus.rag, queries, vectors, dataset.qrels, corpus.passage_gold_ids
    )


def evaluate(c: Collection, mode: RetrievalMode, fusion: FusionConfig) -> float:
    retriever = StoreRetriever(c.rag.store, c.rag.embedder, mode=mode, fusion=fusion)
    run: dict[str, dict[str, float]] = {}
    for (qid, query), vector in zip(c.queries.items(), c.vectors):
        ranked: dict[str, float] = {}
        for position, hit in enumerate(retriever.search(query, DEPTH, vector=vector)):
            for gold_id in c.passage_gold_ids[hit.passage.id]:
                ranked.setdefault(gold_id, float(DEPTH * 2 - position))
        run[qid] = ranked
    return retrieval_metrics(run, c.qrels)["ndcg@10"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, help="keep the built indexes here between runs")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO, "%(message)s")
    embedder = MiniLMEmbedder().load()
    squad = load_squad(args.data / "squad2-dev-half" / "squad2_dev_half.json")
    collections = [
        build(load_beir(args.data / "cranfield"), embedder, args.cache),
        build(squad, embedder, args.cache),
    ]
    settings: list[tuple[str, RetrievalMode, FusionConfig]] = [
        ("BM25", "bm25", FusionConfig()),
        ("dense", "dense", FusionConfig()),
        ("RRF k=60", "hybrid", FusionConfig(method="rrf", alpha=0.5, rrf_k=60)),
    ]
    settings += [
        (f"convex alpha={a}", "hybrid", FusionConfig(method="convex", alpha=a))
        for a in ALPHAS
        if 0 < a < 1
    ]
    settings += [
        (f"RRF k={k} alpha={a}", "hybrid", FusionConfig(method="rrf", alpha=a, rrf_k=k))
        for k in RRF_KS
        for a in ALPHAS
        if 0.2 <= a <= 0.8
    ]
    rows = []
    for label, mode, fusion in settings:
        scores = [evaluate(c, mode, fusion) for c in collections]
        rows.append((label, scores, float(np.mean(scores))))
    names = [c.name for c in collections]
    print("| setting | " + " | ".join(f"{n} nDCG@10" for n in names) + " | mean |")
    print("|---|" + "---|" * (len(names) + 1))
    for label, scores, mean in rows:
        print(f"| {label} | " + " | ".join(f"{s:.3f}" for s in scores) + f" | {mean:.3f} |")
    best = max(rows[2:], key=lambda r: r[2])
    print(f"\nbest hybrid setting: {best[0]} (mean nDCG@10 {best[2]:.3f})")


if __name__ == "__main__":
    main()
