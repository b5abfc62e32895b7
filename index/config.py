"""The store's own settings: which FAISS index and which BM25 parameters."""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import InvalidInputError


@dataclass(frozen=True)
class IndexConfig:
    """Vector index choice: exact inner product up to ``exact_max`` passages, HNSW above.

    HNSW keeps query time near-constant as a collection grows; below ~50k passages a flat scan of
    384-dimensional vectors takes a few milliseconds, so exactness costs nothing there. At a
    million passages ``hnsw_ef_search`` 512 finds 0.958 of the exact top 10, 128 found 0.89
    (``python -m eval.bench_scale``).
    """

    exact_max: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 512
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def __post_init__(self) -> None:
        if self.exact_max < 0 or self.hnsw_m <= 0 or self.hnsw_ef_search <= 0:
            raise InvalidInputError("exact_max must be >= 0 and the HNSW parameters > 0")
