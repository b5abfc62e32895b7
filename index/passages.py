"""The store: documents, passages, their vectors and BM25 in memory, searchable by vector and by
terms (``index.contract.PassageStore``). ``index.snapshot`` writes and reads it; ``index.directory``
keeps its snapshots on disk."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from index.bm25 import BM25Index
from index.config import IndexConfig
from index.contract import Candidates, ModelIdentity, PassageBatch
from index.records import Document, Passage
from index.vectors import VectorIndex


class PassageIndex:
    """Documents cut into passages, searchable by vector and by BM25.

    Args:
        identity: The embedding model whose vectors it holds; batches of another are refused.
        settings: What the stages above record with the index (chunking, fusion).
        config: Vector index and BM25 parameters.
    """

    def __init__(
        self,
        identity: ModelIdentity,
        settings: dict[str, Any] | None = None,
        config: IndexConfig | None = None,
    ) -> None:
        self.identity = identity
        self.settings = dict(settings or {})
        self.config = config or IndexConfig()
        self.revision = 0
        """Bumped by every change, so a writer can tell whether there is anything to save."""
        self._documents: dict[str, Document] = {}
        self._passages: list[Passage] = []
        self._rows: dict[str, int] = {}
        self._terms: list[tuple[str, ...]] = []
        self._vectors = np.zeros((0, identity.dimension), dtype=np.float32)
        self._sentence_vectors = np.zeros((0, identity.dimension), dtype=np.float32)
        self._sentence_rows = np.zeros(1, dtype=np.int64)
        self._faiss: VectorIndex | None = None
        self._bm25: BM25Index | None = None
        self._lock = threading.RLock()

    @classmethod
    def restore(
        cls,
        identity: ModelIdentity,
        settings: dict[str, Any],
        config: IndexConfig,
        *,
        documents: list[Document],
        passages: list[Passage],
        terms: list[tuple[str, ...]],
        vectors: VectorIndex,
        sentence_vectors: np.ndarray,
        bm25: BM25Index,
    ) -> PassageIndex:
        """A store from saved parts (``index.snapshot``), its FAISS and BM25 indexes reused."""
        index = cls(identity, settings, config)
        index._documents = {d.id: d for d in documents}
        index._passages = passages
        index._terms = terms
        index._vectors = vectors.vectors()
        index._sentence_vectors = sentence_vectors
        counts = [len(p.sentences) for p in passages]
        index._sentence_rows = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        index._rows = {p.id: row for row, p in enumerate(passages)}
        index._faiss, index._bm25 = vectors, bm25
        return index

    def __len__(self) -> int:
        return len(self._passages)

    # ----------------------------------------------------------------- lookups
    def documents(self) -> list[Document]:
        return list(self._documents.values())

    def document(self, doc_id: str) -> Document | None:
        return self._documents.get(doc_id)

    def document_by_source(self, source: str) -> Document | None:
        return next((d for d in self._documents.values() if d.source == source), None)

    def passages(self) -> list[Passage]:
        """Every passage, in the store's order."""
        return list(self._passages)

    def passage(self, passage_id: str) -> Passage:
        return self._passages[self._rows[passage_id]]

    def passages_of(self, doc_id: str) -> list[Passage]:
        return [p for p in self._passages if p.doc_id == doc_id]

    def passage_vector(self, passage_id: str) -> np.ndarray:
        return self._vectors[self._rows[passage_id]]

    def sentence_vectors(self, passage_id: str) -> np.ndarray:
        row = self._rows[passage_id]
        return self._sentence_vectors[self._sentence_rows[row] : self._sentence_rows[row + 1]]

    def sentence_vectors_of(self, passage_ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {pid: self.sentence_vectors(pid) for pid in passage_ids}

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        return self.bm25.idf(terms)

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        return self.bm25.document_frequency(terms)

    def terms(self) -> list[tuple[str, ...]]:
        """The BM25 terms of every passage, in the store's order."""
        return list(self._terms)

    def sentence_matrix(self) -> np.ndarray:
        """Every sentence vector, the passages' sentences in the store's order."""
        return self._sentence_vectors

    # ------------------------------------------------------------------ search
    @property
    def vectors(self) -> VectorIndex:
        with self._lock:
            if self._faiss is None:
                self._faiss = VectorIndex.build(self._vectors, self.identity.dimension, self.config)
            return self._faiss

    @property
    def bm25(self) -> BM25Index:
        with self._lock:
            if self._bm25 is None:
                self._bm25 = BM25Index.build(self._terms, self.config)
            return self._bm25

    def search(
        self, vector: np.ndarray | None, terms: Sequence[str] | None, depth: int
    ) -> Candidates:
        """The ``depth`` best passages by vector and/or by terms, each scored by both.

        With both signals the candidates are the union of each one's ``depth`` best, every one
        scored by its stored vector and by the full BM25 score array, so fusion never has to
        guess a missing score.
        """
        depth = min(depth, len(self._passages))
        dense_rows = dense_scores = None
        if vector is not None:
            dense_scores, dense_rows = self.vectors.search(vector, depth)
            dense_rows = dense_rows.astype(np.int64)
            dense_scores = dense_scores.astype(np.float32)
        if terms is None:
            if dense_rows is None or dense_scores is None:
                raise ValueError("search needs a vector, terms or both")
            return self._candidates(dense_rows, dense_scores, _nan(len(dense_rows)))
        bm25_all = self.bm25.scores(terms)
        bm25_rows = _top(bm25_all, depth)
        if dense_rows is None:
            return self._candidates(bm25_rows, _nan(len(bm25_rows)), bm25_all[bm25_rows])
        rows = np.union1d(dense_rows, bm25_rows)
        return self._candidates(rows, self._vectors[rows] @ vector, bm25_all[rows])

    def _candidates(self, rows: np.ndarray, dense: np.ndarray, bm25: np.ndarray) -> Candidates:
        return Candidates(tuple(self._passages[int(r)].id for r in rows), dense, bm25)

    # ----------------------------------------------------------------- changes
    def add(self, batch: PassageBatch) -> None:
        """Store a batch, replacing any document already stored from the same source."""
        batch.check_fits(self.identity)
        with self._lock:
            self.remove(doc.source for doc in batch.documents)
            for doc in batch.documents:
                self._documents[doc.id] = doc
            counts = [len(p.sentences) for p in batch.passages]
            self._passages.extend(batch.passages)
            self._terms.extend(batch.terms)
            self._vectors = np.vstack([self._vectors, batch.vectors.astype(np.float32)])
            self._sentence_vectors = np.vstack(
                [self._sentence_vectors, batch.sentence_vectors.astype(np.float32)]
            )
            offsets = self._sentence_rows[-1] + np.cumsum(counts, dtype=np.int64)
            self._sentence_rows = np.concatenate([self._sentence_rows, offsets])
            self._changed()

    def remove(self, sources: Iterable[str]) -> list[Document]:
        """Drop every document (and its passages) stored from one of ``sources``."""
        sources = set(sources)
        with self._lock:
            gone = [d for d in self._documents.values() if d.source in sources]
            if not gone:
                return []
            gone_ids = {d.id for d in gone}
            keep = [i for i, p in enumerate(self._passages) if p.doc_id not in gone_ids]
            counts = np.diff(self._sentence_rows)
            sentence_keep = np.concatenate(
                [np.arange(self._sentence_rows[i], self._sentence_rows[i + 1]) for i in keep]
                or [np.zeros(0, dtype=np.int64)]
            )
            self._passages = [self._passages[i] for i in keep]
            self._terms = [self._terms[i] for i in keep]
            self._vectors = self._vectors[keep]
            self._sentence_vectors = self._sentence_vectors[sentence_keep]
            self._sentence_rows = np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64)
            for doc_id in gone_ids:
                del self._documents[doc_id]
            self._changed()
        return gone

    def _changed(self) -> None:
        self._rows = {p.id: row for row, p in enumerate(self._passages)}
        self._faiss = None
        self._bm25 = None
        self.revision += 1


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan, dtype=np.float32)


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    """The rows of the ``depth`` best scores, best first, ties in row order."""
    depth = min(depth, len(scores))
    if depth == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.argpartition(-scores, depth - 1)[:depth]
    return rows[np.lexsort((rows, -scores[rows]))]
