"""Retrieval metrics: recall@k, MRR@10 and nDCG@10 via pytrec_eval, and the recall@k curve.

Each function takes a run (query id -> {document id: score}) or ranked lists, and qrels (query
id -> {document id: grade}), as plain Python data and returns plain Python data; nothing here
retrieves or reads files. ``RETRIEVAL_KEYS`` names the figures ``retrieval_metrics`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rag.errors import InvalidInputError

RECALL_CUTOFFS: tuple[int, ...] = (1, 5, 10, 100)
MRR_CUTOFF = 10
NDCG_CUTOFF = 10
RETRIEVAL_KEYS: tuple[str, ...] = (
    *(f"recall@{k}" for k in RECALL_CUTOFFS),
    f"mrr@{MRR_CUTOFF}",
    f"ndcg@{NDCG_CUTOFF}",
)


def _ranked(docs: Mapping[str, float]) -> list[str]:
    # A stable sort keeps the run's own order among equal scores, so a tie is ranked as the
    # retriever listed it rather than by trec_eval's doc-id tie-break.
    return [d for d, _ in sorted(docs.items(), key=lambda kv: -float(kv[1]))]


def _rank_scores(ranked: list[str]) -> dict[str, float]:
    # Distinct, strictly decreasing scores make pytrec_eval rank exactly as ``ranked`` does.
    n = len(ranked)
    return {doc: float(n - i) for i, doc in enumerate(ranked)}


def per_query_retrieval(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, float]]:
    """Retrieval metrics of each judged query, computed with pytrec_eval.

    Documents are ranked by score, highest first; equal scores keep the order in which the run
    lists them. ``mrr@10`` is pytrec_eval's ``recip_rank`` on the run cut to its top 10.

    Args:
        run: Query id -> {document id: score}.
        qrels: Query id -> {document id: relevance grade}; a grade > 0 is relevant.

    Returns:
        Query id -> {metric: value} with the keys of ``RETRIEVAL_KEYS``, for every query of
        ``qrels`` with at least one relevant document. A query missing from the run scores 0.

    Raises:
        InvalidInputError: If no query of ``qrels`` has a relevant document.
    """
    import pytrec_eval

    judged = {
        str(q): {str(d): int(r) for d, r in docs.items()}
        for q, docs in qrels.items()
        if any(int(r) > 0 for r in docs.values())
    }
    if not judged:
        raise InvalidInputError("qrels hold no query with a relevant document: nothing to score")
    full_run: dict[str, dict[str, float]] = {}
    cut_run: dict[str, dict[str, float]] = {}
    for q in judged:
        ranked = _ranked(run.get(q, {}))
        if ranked:
            full_run[q] = _rank_scores(ranked)
            cut_run[q] = _rank_scores(ranked[:MRR_CUTOFF])
    recall = "recall." + ",".join(str(k) for k in RECALL_CUTOFFS)
    ndcg = f"ndcg_cut.{NDCG_CUTOFF}"
    full = pytrec_eval.RelevanceEvaluator(judged, {recall, ndcg}).evaluate(full_run)
    cut = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(cut_run)
    results: dict[str, dict[str, float]] = {}
    for q in judged:
        f, c = full.get(q, {}), cut.get(q, {})
        row = {f"recall@{k}": float(f.get(f"recall_{k}", 0.0)) for k in RECALL_CUTOFFS}
        row[f"mrr@{MRR_CUTOFF}"] = float(c.get("recip_rank", 0.0))
        row[f"ndcg@{NDCG_CUTOFF}"] = float(f.get(f"ndcg_cut_{NDCG_CUTOFF}", 0.0))
        results[q] = row
    return results


def retrieval_metrics(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean retrieval metrics over the judged queries (see ``per_query_retrieval``).

    Args:
        run: Query id -> {document id: score}.
        qrels: Query id -> {document id: relevance grade}; a grade > 0 is relevant.

    Returns:
        ``recall@1``, ``recall@5``, ``recall@10``, ``recall@100``, ``mrr@10`` and ``ndcg@10``,
        each the mean over the queries of ``qrels`` that have a relevant document.

    Raises:
        InvalidInputError: If no query of ``qrels`` has a relevant document.
    """
    per_query = per_query_retrieval(run, qrels)
    n = len(per_query)
    return {key: sum(row[key] for row in per_query.values()) / n for key in RETRIEVAL_KEYS}


def recall_curve(
    ranked: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], max_k: int
) -> list[float]:
    """Mean recall@k for k = 1..max_k, as pytrec_eval's ``recall_k`` defines it.

    Args:
        ranked: Query id -> document ids, best first (each id once).
        qrels: Query id -> {document id: grade}; a grade > 0 is relevant.
        max_k: The deepest cutoff.

    Returns:
        ``max_k`` values; value ``i`` is the recall at ``k = i + 1``, averaged over the queries
        of ``qrels`` with a relevant document (a query missing from ``ranked`` scores 0).

    Raises:
        InvalidInputError: If ``max_k <= 0`` or no query of ``qrels`` has a relevant document.
    """
    if max_k <= 0:
        raise InvalidInputError(f"max_k must be positive, got {max_k}")
    totals = np.zeros(max_k, dtype=float)
    judged = 0
    for q, docs in qrels.items():
        relevant = {str(d) for d, r in docs.items() if int(r) > 0}
        if not relevant:
            continue
        judged += 1
        hits = np.array([d in relevant for d in list(ranked.get(q, ()))[:max_k]], dtype=float)
        found = np.zeros(max_k, dtype=float)
        found[: len(hits)] = np.cumsum(hits)
        if len(hits) < max_k:
            found[len(hits) :] = found[len(hits) - 1] if len(hits) else 0.0
        totals += found / len(relevant)
    if judged == 0:
        raise InvalidInputError("qrels hold no query with a relevant document: nothing to score")
    return [float(v) for v in totals / judged]
