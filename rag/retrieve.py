"""Retrieval: the ``Retriever`` contract and its implementation over a passage store.

``search(query, k) -> list[Hit]``: the ``k`` best passages, best first, each hit keyed by its
passage id and carrying every score that ranked it (dense, BM25, fused).
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

import numpy as np

from index.contract import Candidates, PassageStore
from rag.analysis import check_words, index_terms
from rag.config import FusionConfig, check_k, check_mode
from rag.embed import Embedder
from rag.errors import EmptyCorpusError
from rag.types import Hit, RetrievalMode

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2_000
"""Longer queries are cut here: the encoder reads 256 tokens anyway, and BM25 work stays bounded."""


class Retriever(Protocol):
    """Finds the passages that best match a query."""

    def search(self, query: str, k: int, *, vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best passages, best first.

        Args:
            query: The query text.
            k: How many hits.
            vector: The query already encoded (the answer step reuses it); encoded if None.
        """
        ...


def check_query(query: object) -> str:
    """The query to search; raises on one without words, logs a warning when cutting one."""
    query = check_words(query, "query").strip()
    if len(query) > MAX_QUERY_CHARS:
        logger.warning(
            "the query was %s characters long; only the first %s were searched",
            f"{len(query):,}",
            f"{MAX_QUERY_CHARS:,}",
        )
    return query[:MAX_QUERY_CHARS]


class StoreRetriever:
    """Searches a store by meaning (FAISS), by words (BM25) or both (fusion).

    Args:
        store: The passages.
        embedder: Encodes queries; the model the store's vectors came from.
        mode: ``hybrid``, ``dense`` or ``bm25``.
        fusion: How hybrid mode combines the two rankings.
    """

    def __init__(
        self,
        store: PassageStore,
        embedder: Embedder,
        *,
        mode: RetrievalMode = "hybrid",
        fusion: FusionConfig | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = check_mode(mode)
        self.fusion = fusion or FusionConfig()

    def search(self, query: str, k: int, *, vector: np.ndarray | None = None) -> list[Hit]:
        query = check_query(query)
        check_k(k)
        n = len(self.store)
        if n == 0:
            raise EmptyCorpusError("the index holds no passages: add documents with `rag index`")
        if vector is None and self.mode != "bm25":
            vector = self.embedder.encode([query])[0]
        candidates = self.store.search(
            vector if self.mode != "bm25" else None,
            index_terms(query) if self.mode != "dense" else None,
            min(n, max(k, self.fusion.depth)),
        )
        return self._ranked(candidates, k)

    def _ranked(self, candidates: Candidates, k: int) -> list[Hit]:
        if self.mode == "hybrid":
            scores = fuse(candidates.dense, candidates.bm25, self.fusion)
        else:
            scores = candidates.dense if self.mode == "dense" else candidates.bm25
        # A stable sort: the store's order breaks ties.
        order = np.argsort(-scores, kind="stable")[:k].tolist()
        fused, dense, bm25 = scores.tolist(), candidates.dense.tolist(), candidates.bm25.tolist()
        return [
            Hit(
                passage=self.store.passage(candidates.ids[i]),
                score=fused[i],
                rank=rank,
                dense=_known(dense[i]),
                bm25=_known(bm25[i]),
            )
            for rank, i in enumerate(order, start=1)
        ]


def _known(score: float) -> float | None:
    return None if math.isnan(score) else score


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
