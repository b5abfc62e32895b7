"""Client-side fusion against Milvus's own hybrid search, on an index a ``rag eval --store`` built.

    python -m eval.milvus_fusion --store milvus:///tmp/squad.db \\
        --dataset ../shared/data/squad2-dev-half/squad2_dev_half.json

The product fuses the two rankings itself (``rag.retrieve.fuse``) over candidates the Milvus
store scores by both signals, which gives exactly the directory store's results. Milvus's
``hybrid_search`` fuses on the server instead (``RRFRanker``, ``WeightedRanker``); this prints how
far its top 10 is from the product's and the recall of the gold passage in each, per question
with a gold passage. Results are recorded in docs/scale-out.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.corpus import corpus_for
from eval.datasets import load_dataset
from rag.analysis import index_terms
from rag.opening import open_index


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the milvus:// address rag eval indexed")
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=1000)
    args = parser.parse_args(argv)
    dataset = load_dataset(args.dataset, None)
    rag = open_index(args.store)
    corpus = corpus_for(rag, dataset)
    store, fusion = rag.store, rag.fusion
    if not hasattr(store, "server_hybrid"):
        raise SystemExit(f"{args.store} is not a Milvus index")
    asked = [q for q in dataset.questions if q.gold_doc_ids][: args.questions]
    vectors = rag.embedder.encode([q.question for q in asked])
    names = ("client (product)", "server rrf", "server weighted")
    found: dict[str, list[float]] = {name: [] for name in names}
    overlap: dict[str, list[float]] = {"server rrf": [], "server weighted": []}
    for q, vector in zip(asked, vectors, strict=True):
        gold = set(q.gold_doc_ids)
        client = [h.passage.id for h in rag.retriever().search(q.question, 10, vector=vector)]
        ranked = {"client (product)": client}
        for ranker in ("rrf", "weighted"):
            ranked[f"server {ranker}"] = store.server_hybrid(
                vector, index_terms(q.question), 10, ranker=ranker, depth=fusion.depth,
                alpha=fusion.alpha, rrf_k=fusion.rrf_k,
            )  # fmt: skip
            common = set(client) & set(ranked[f"server {ranker}"])
            overlap[f"server {ranker}"].append(len(common) / 10)
        for name, ids in ranked.items():
            hit = any(gold.intersection(corpus.passage_gold_ids.get(i, ())) for i in ids[:5])
            found[name].append(float(hit))
    print(f"{len(asked)} questions of {dataset.name}; fusion {fusion.method}, alpha {fusion.alpha}")
    print("fusion              recall@5  top-10 overlap with the product")
    for name, hits in found.items():
        shared = sum(overlap[name]) / len(overlap[name]) if name in overlap else 1.0
        print(f"{name:<18}  {sum(hits) / len(hits):>8.3f}  {shared:>8.3f}")


if __name__ == "__main__":
    main()
