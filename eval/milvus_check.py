"""What the Milvus store computes itself against what Milvus offers: client-side fusion against
Milvus's hybrid search, and the project's BM25 (sparse vectors, ``index.lexical``) against Milvus's
own BM25 function, on an index a ``rag eval --store`` built.

    python -m eval.milvus_check --store milvus:///tmp/squad.db \\
        --dataset ../shared/data/squad2-dev-half/squad2_dev_half.json

The product fuses the two rankings itself (``rag.retrieve.fuse``) over candidates the Milvus
store scores by both signals, which gives exactly the directory store's results. Milvus's
``hybrid_search`` fuses on the server instead (``RRFRanker``, ``WeightedRanker``); this prints how
far its top 10 is from the product's and how often a gold passage is in its top 5, over the
questions with a gold passage. Milvus's BM25 analyses the passage text on the server (its standard
analyser) into a scratch collection beside the index, searched with the question's text.
Results are recorded in docs/scale-out.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.corpus import corpus_for
from eval.datasets import load_dataset
from rag.analysis import index_terms
from rag.opening import open_index
from rag.types import Passage


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the milvus:// address rag eval indexed")
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=1000)
    args = parser.parse_args(argv)
    dataset = load_dataset(args.dataset, None)
    rag = open_index(args.store)
    corpus = corpus_for(rag, dataset)
    store: Any = rag.store  # a MilvusStore: its client and server-side search are used below
    fusion = rag.fusion
    if not hasattr(store, "server_hybrid"):
        raise SystemExit(f"{args.store} is not a Milvus index")
    asked = [q for q in dataset.questions if q.gold_doc_ids][: args.questions]
    vectors = rag.embedder.encode([q.question for q in asked])
    native = _NativeBM25(store.client, f"{store.names['passages']}_native_bm25", rag.passages())
    rankers: dict[str, Callable[[str, Any], list[str]]] = {
        "hybrid, client-side fusion (the product)": lambda q, v: [
            h.passage.id for h in rag.retriever().search(q, 10, vector=v)
        ],
        "hybrid, Milvus RRFRanker": lambda q, v: store.server_hybrid(
            v, index_terms(q), 10, ranker="rrf", depth=fusion.depth, rrf_k=fusion.rrf_k
        ),
        "hybrid, Milvus WeightedRanker": lambda q, v: store.server_hybrid(
            v, index_terms(q), 10, ranker="weighted", depth=fusion.depth, alpha=fusion.alpha
        ),
        "bm25, sparse vectors (the product)": lambda q, v: [
            h.passage.id for h in rag.retriever("bm25").search(q, 10)
        ],
        "bm25, Milvus BM25 function": lambda q, v: native.search(q, 10),
    }
    reference = {name: next(n for n in rankers if n.split(",")[0] == name.split(",")[0])
                 for name in rankers}  # fmt: skip
    recall: dict[str, list[float]] = {name: [] for name in rankers}
    overlap: dict[str, list[float]] = {name: [] for name in rankers}
    try:
        for q, vector in zip(asked, vectors, strict=True):
            ranked = {name: rank(q.question, vector) for name, rank in rankers.items()}
            gold = set(q.gold_doc_ids)
            for name, ids in ranked.items():
                hit = any(gold.intersection(corpus.passage_gold_ids.get(i, ())) for i in ids[:5])
                recall[name].append(float(hit))
                mine = ranked[reference[name]]
                overlap[name].append(len(set(ids) & set(mine)) / max(1, len(mine)))
    finally:
        native.drop()
    print(f"{len(asked)} questions of {dataset.name} with a gold passage; {len(store)} passages; "
          f"fusion {fusion.method}, alpha {fusion.alpha}")  # fmt: skip
    print(f"{'ranking':<42} gold in top 5  top-10 shared with the product's")
    for name in rankers:
        mean = sum(recall[name]) / len(recall[name])
        print(f"{name:<42} {mean:>13.3f}  {sum(overlap[name]) / len(overlap[name]):>8.3f}")


class _NativeBM25:
    """Milvus's own BM25: a scratch collection whose text the server analyses (standard
    analyser) into a sparse field, searched with the question's text."""

    def __init__(self, client: Any, name: str, passages: list[Passage]) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        self.client, self.name = client, name
        if client.has_collection(name):
            client.drop_collection(name)
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        bm25 = Function(name="bm25", function_type=FunctionType.BM25,
                        input_field_names=["text"], output_field_names=["sparse"])  # fmt: skip
        schema.add_function(bm25)
        client.create_collection(name, schema=schema, consistency_level="Strong")
        params = client.prepare_index_params()
        params.add_index(
            field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25"
        )
        client.create_index(name, params, sync=False)
        client.load_collection(name)
        rows = [{"id": p.id, "text": p.text} for p in passages]
        for start in range(0, len(rows), 512):
            client.insert(name, rows[start : start + 512])

    def search(self, question: str, limit: int) -> list[str]:
        hits = self.client.search(self.name, data=[question], anns_field="sparse", limit=limit,
                                  search_params={"metric_type": "BM25"})  # fmt: skip
        return [h["id"] for h in hits[0]]

    def drop(self) -> None:
        self.client.drop_collection(self.name)


if __name__ == "__main__":
    main()
