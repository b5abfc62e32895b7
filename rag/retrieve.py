"""Dense, BM25 and hybrid search over a ``PassageIndex``: ``search(query, k) -> list[Hit]``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.bm25 import tokenize
from index.store import PassageIndex
from rag.config import FusionConfig, check_k, check_mode
from rag.errors import EmptyCorpusError, InvalidInputError
from rag.types import Hit, RetrievalMode

MAX_QUERY_CHARS = 2_000
"""Longer queries are cut here: the encoder reads 256 tokens anyway, and BM25 work stays bounded."""


@dataclass(frozen=True)
class Scored:
    """Candidate passages with the scores of each retriever (NaN where one did not score it)."""

    rows: np.ndarray
    fused: np.ndarray
    dense: np.ndarray
    bm25: np.ndarray


def check_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("the query is empty: type a question or some keywords")
    return query.strip()[:MAX_QUERY_CHARS]


class Retriever:
    """Searches passages by meaning (FAISS), by words (BM25) or both (fusion).

    Args:
        index: The passage index.
        mode: Default mode.
        fusion: How hybrid mode combines the two rankings.
    """

    def __init__(
        self,
        index: PassageIndex,
        *,
        mode: RetrievalMode = "hybrid",
        fusion: FusionConfig | None = None,
    ) -> None:
        self.index = index
        self.mode = check_mode(mode)
        self.fusion = fusion or index.fusion

    def search(self, query: str, k: int = 5, *, mode: RetrievalMode | None = None) -> list[Hit]:
        """Return the ``k`` best passages for ``query``, highest score first."""
        query = check_query(query)
        check_k(k)
        vector = self.index.embedder.encode([query])[0]
        return self.hits(self.score(query, vector, k, mode=mode), k)

    def hits(self, scored: Scored, k: int) -> list[Hit]:
        passages = self.index.passages
        return [
            Hit(passage=passages[int(row)], score=float(score), rank=rank)
            for rank, (row, score) in enumerate(zip(scored.rows[:k], scored.fused[:k]), start=1)
        ]

    def score(
        self, query: str, vector: np.ndarray, k: int, *, mode: RetrievalMode | None = None
    ) -> Scored:
        """Rank candidates for an already-encoded query; every retriever's score is kept."""
        mode = check_mode(mode or self.mode)
        n = len(self.index.passages)
        if n == 0:
            raise EmptyCorpusError("the index holds no passages: add documents with `rag index`")
        depth = min(n, max(k, self.fusion.depth))
        dense_rows, dense_scores = self._dense(vector, depth) if mode != "bm25" else (None, None)
        bm25_all = self.index.bm25.scores(tokenize([query])[0]) if mode != "dense" else None
        if mode == "dense":
            assert dense_rows is not None and dense_scores is not None
            return Scored(dense_rows, dense_scores, dense_scores, np.full(len(dense_rows), np.nan))
        assert bm25_all is not None
        bm25_rows = _top(bm25_all, depth)
        if mode == "bm25":
            return Scored(
                bm25_rows, bm25_all[bm25_rows], np.full(len(bm25_rows), np.nan), bm25_all[bm25_rows]
            )
        assert dense_rows is not None and dense_scores is not None
        rows = np.union1d(dense_rows, bm25_rows)
        # Every candidate gets both scores: its cosine from its stored vector, its BM25 from the
        # full score array, so fusion never has to guess a missing score.
        dense = self.index.vectors_of(rows) @ vector
        bm25 = bm25_all[rows]
        fused = fuse(dense, bm25, self.fusion)
        order = np.lexsort((rows, -fused))
        return Scored(rows[order], fused[order], dense[order], bm25[order])

    def _dense(self, vector: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        scores, rows = self.index.vectors.search(vector, depth)
        return rows.astype(np.int64), scores.astype(np.float32)


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    depth = min(depth, len(scores))
    rows = np.argpartition(-scores, depth - 1)[:depth]
    return rows[np.lexsort((rows, -scores[rows]))]


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score within the candidate set (ties share the better rank)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones_like(scores, dtype=np.float64) if high > 0 else np.zeros_like(scores)
    return (scores - low) / (high - low)


def fuse(dense: np.ndarray, bm25: np.ndarray, config: FusionConfig) -> np.ndarray:
    """Combine two score arrays over the same candidates into one (higher is better)."""
    if len(dense) == 0:
        return np.zeros(0, dtype=np.float32)
    if config.method == "rrf":
        w_dense, w_bm25 = config.alpha, 1.0 - config.alpha
        fused = w_dense / (config.rrf_k + _ranks(dense)) + w_bm25 / (config.rrf_k + _ranks(bm25))
        # Scale so that a passage ranked first by both scores 1.
        fused = fused * (config.rrf_k + 1)
    else:
        fused = config.alpha * _minmax(dense) + (1.0 - config.alpha) * _minmax(bm25)
    return fused.astype(np.float32)
