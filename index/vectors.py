"""Dense vector search with FAISS, by inner product over L2-normalised vectors (cosine).

The index type follows the collection size: an exact flat index up to ``IndexConfig.exact_max``
vectors, HNSW above, where a flat scan would grow linearly with the collection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, cast

import faiss
import numpy as np

from index.config import IndexConfig
from index.errors import IndexCorruptError

IndexType = Literal["flat", "hnsw"]


def choose_index_type(n_vectors: int, config: IndexConfig) -> IndexType:
    return "flat" if n_vectors <= config.exact_max else "hnsw"


class VectorIndex:
    """A FAISS index over the passage vectors, rows in passage order."""

    def __init__(self, index: faiss.Index, index_type: IndexType, config: IndexConfig) -> None:
        self._index = index
        self.index_type = index_type
        self._config = config

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, config: IndexConfig) -> VectorIndex:
        index_type = choose_index_type(len(vectors), config)
        if index_type == "flat":
            index: faiss.Index = faiss.IndexFlatIP(dimension)
        else:
            index = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = config.hnsw_ef_construction
        if len(vectors):
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # a search may have set this thread's 1
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, index_type, config)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def vectors(self) -> np.ndarray:
        """All stored vectors, to rebuild after passages change."""
        if self.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, self.size)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors at ``rows`` (copies: FAISS holds the only full set)."""
        if len(rows) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(scores, rows)`` of the ``k`` nearest vectors, best first."""
        k = min(k, self.size)
        if k == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        # One query gains little from OpenMP threads, and on a busy machine (other questions,
        # the encoder) their spin-waits cost several times the search itself. The setting is
        # per calling thread, so a thread building an index keeps its threads.
        faiss.omp_set_num_threads(1)
        if self.index_type == "hnsw":
            hnsw = cast(faiss.IndexHNSWFlat, self._index).hnsw
            hnsw.efSearch = max(self._config.hnsw_ef_search, k)
        scores, rows = self._index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, index_type: IndexType, config: IndexConfig) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexCorruptError(f"cannot read the FAISS index {path}: {e}") from e
        return cls(index, index_type, config)
