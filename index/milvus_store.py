"""``MilvusStore``: the store contract (``index.contract.PassageStore``) over Milvus collections.

A ``MilvusStore`` is one save of the index as a reader sees it: the live documents' metadata is
read at load; passages, vectors, texts and term statistics are fetched from Milvus when asked
for and cached. Searches run in Milvus (dense by HNSW, BM25 as a sparse inner product,
``index.lexical``) and are fused by the caller exactly as over the directory store.

Changes (``add``, ``remove``) are kept in memory until ``index.milvus.MilvusLocation.save``
writes them, so a failed write changes nothing readers see.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from index.config import IndexConfig
from index.contract import SENTENCE_DTYPE, Candidates, ModelIdentity, PassageBatch
from index.lexical import lucene_idf, query_weights, sparse_dot, term_id
from index.milvus_rows import (
    PASSAGE_FIELDS,
    DocumentInfo,
    Pending,
    View,
    passage_from_row,
    quoted,
    scan,
)
from index.records import Document, Passage

MAX_LIMIT = 16_384
"""Milvus returns at most this many rows per search."""
_ROW_CACHE = 50_000
_TEXT_CACHE_CHARS = 64_000_000


class MilvusStore:
    """One save of a Milvus index, searchable and changeable like ``index.passages.PassageIndex``.

    Args:
        client: A ``pymilvus.MilvusClient``.
        names: The index's collection names (``MilvusAddress.names``).
        identity, settings, config: As recorded with the index.
        state: The meta row (statistics, settings, the save counter).
        view: Which rows this save shows.
        documents: The live documents.
    """

    def __init__(
        self,
        client: Any,
        names: dict[str, str],
        identity: ModelIdentity,
        settings: dict[str, Any],
        config: IndexConfig,
        state: dict[str, Any],
        view: View,
        documents: Iterable[DocumentInfo],
        *,
        fresh: bool = False,
    ) -> None:
        self.client = client
        self.names = names
        self.identity = identity
        self.settings = dict(settings)
        self.config = config
        self.state = state
        self.view = view
        self.revision = 0
        self.pending = Pending(fresh=fresh)
        self._docs = {d.id: d for d in documents}
        self._count = int(state.get("passages", 0))
        self._rows: dict[str, tuple[Passage, np.ndarray, dict[int, float]]] = {}
        self._texts: dict[str, str] = {}
        self._sentences: dict[str, np.ndarray] = {}
        self._head: list[str] = []
        self._df: dict[int, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    # ----------------------------------------------------------------- lookups
    def documents(self) -> list[Document]:
        """Every live document, in the order they were stored."""
        infos = sorted(self._docs.values(), key=lambda d: d.seq)
        texts = self._fetch_texts([d.id for d in infos])
        stored = [self._document(d, texts[d.id]) for d in infos]
        return stored + list(self.pending.documents.values())

    def document(self, doc_id: str) -> Document | None:
        if doc_id in self.pending.documents:
            return self.pending.documents[doc_id]
        info = self._docs.get(doc_id)
        if info is None:
            return None
        return self._document(info, self._fetch_texts([doc_id])[doc_id])

    def document_by_source(self, source: str) -> Document | None:
        found = next((d for d in self.pending.documents.values() if d.source == source), None)
        if found is not None:
            return found
        info = next((d for d in self._docs.values() if d.source == source), None)
        return self.document(info.id) if info is not None else None

    def passages(self) -> list[Passage]:
        """Every live passage: documents in the order they were stored, each in reading order."""
        found = [
            passage_from_row(row)
            for row in self._scan(self.names["passages"], self.view.live(), PASSAGE_FIELDS)
        ]
        found.sort(key=self._order)
        return found + [p for rows in self.pending.rows.values() for p, *_ in rows]

    def passage(self, passage_id: str) -> Passage:
        return self._row(passage_id)[0]

    def passages_of(self, doc_id: str) -> list[Passage]:
        if doc_id in self.pending.rows:
            return [p for p, *_ in self.pending.rows[doc_id]]
        if doc_id not in self._docs:
            return []
        expr = f"{self.view.live()} and doc_id == {quoted([doc_id])[1:-1]}"
        rows = self._scan(self.names["passages"], expr, PASSAGE_FIELDS)
        return sorted((passage_from_row(r) for r in rows), key=lambda p: p.start)

    def passage_vector(self, passage_id: str) -> np.ndarray:
        return self._row(passage_id)[1]

    def sentence_vectors(self, passage_id: str) -> np.ndarray:
        return self.sentence_vectors_of([passage_id])[passage_id]

    def sentence_vectors_of(self, passage_ids: Sequence[str]) -> dict[str, np.ndarray]:
        found = {p: v for p in passage_ids if (v := self._sentences.get(p)) is not None}
        missing = [p for p in dict.fromkeys(passage_ids) if p not in found]
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            rows: dict[str, list[tuple[int, list[float]]]] = {p: [] for p in chunk}
            expr = f"{self.view.live()} and passage_id in {quoted(chunk)}"
            fields = ["passage_id", "position", "vector"]
            for row in self._scan(self.names["sentences"], expr, fields):
                rows[row["passage_id"]].append((int(row["position"]), row["vector"]))
            if len(self._sentences) > _ROW_CACHE:
                self._sentences.clear()
            for pid, vectors in rows.items():
                matrix = np.asarray([v for _, v in sorted(vectors)], dtype=np.float32)
                found[pid] = self._sentences[pid] = matrix.reshape(
                    len(vectors), self.identity.dimension
                )
        return found

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        ids = {t: term_id(t) for t in dict.fromkeys(terms)}
        df = self.frequencies(sorted(set(ids.values())))
        return {t: df.get(i, 0) for t, i in ids.items()}

    def frequencies(self, term_ids: Sequence[int]) -> dict[int, int]:
        """Document frequencies by sparse dimension, as of this save (the latest count each
        term has in it; 0 when it has none)."""
        known = {t: df for t in term_ids if (df := self._df.get(t)) is not None}
        missing = [t for t in term_ids if t not in known]
        latest: dict[int, tuple[int, int]] = {}
        for start in range(0, len(missing), 1024):  # one query each: a term has few versions
            expr = f"{self.view.versions()} and term in {list(missing[start : start + 1024])}"
            fields = ["term", "df", "added_in"]
            for row in self.client.query(
                self.names["terms"], filter=expr, output_fields=fields, limit=MAX_LIMIT
            ):
                term, save = int(row["term"]), int(row["added_in"])
                if term not in latest or save > latest[term][0]:
                    latest[term] = (save, int(row["df"]))
        if len(self._df) > _ROW_CACHE:
            self._df.clear()
        for term in missing:  # a save's counts never change: keep them
            known[term] = self._df[term] = latest[term][1] if term in latest else 0
        return known

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        n = len(self)
        return {t: lucene_idf(df, n) for t, df in self.document_frequency(terms).items()}

    # ------------------------------------------------------------------ search

    def search(
        self, vector: np.ndarray | None, terms: Sequence[str] | None, depth: int
    ) -> Candidates:
        """The ``depth`` best passages by vector and/or by terms, each scored by both (the
        scores the directory store gives: inner products of the stored vectors)."""
        if vector is None and terms is None:
            raise ValueError("search needs a vector, terms or both")
        depth = min(depth, len(self), MAX_LIMIT)
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        weights: dict[int, float] = {}
        if depth and vector is not None:
            query = [np.asarray(vector, dtype=np.float32).tolist()]
            dense = self._search(query, "vector", depth, self._dense_params(depth))
        if depth and terms is not None:
            weights = query_weights(terms, self.document_frequency(terms), len(self))
            lexical = self._search([weights], "bm25", depth, {}) if weights else {}
            lexical.update(dict.fromkeys(self._first(depth - len(lexical), set(lexical)), 0.0))
        if terms is None or vector is None:
            found = dense if vector is not None else lexical
            ids = sorted(found, key=lambda i: (-found[i], *self._order(self._row(i)[0])))
            scores = np.asarray([found[i] for i in ids], dtype=np.float32)
            nan = np.full(len(ids), np.nan, dtype=np.float32)
            return (
                Candidates(tuple(ids), scores, nan)
                if vector is not None
                else Candidates(tuple(ids), nan, scores)
            )
        ids = sorted(set(dense) | set(lexical), key=lambda i: self._order(self._row(i)[0]))
        rows = [self._row(i) for i in ids]
        vectors = np.asarray([r[1] for r in rows], dtype=np.float32).reshape(
            len(ids), self.identity.dimension
        )
        return Candidates(
            tuple(ids),
            vectors @ np.asarray(vector, dtype=np.float32) if ids else np.zeros(0, np.float32),
            np.asarray([sparse_dot(r[2], weights) for r in rows], dtype=np.float32),
        )

    def server_hybrid(
        self, vector: np.ndarray, terms: Sequence[str], limit: int, *, ranker: str,
        depth: int, alpha: float = 0.6, rrf_k: int = 60,
    ) -> list[str]:  # fmt: skip
        """The ``limit`` best passage ids by Milvus's own hybrid search (``ranker``: "rrf" or
        "weighted"), each route ``depth`` deep: for comparing with the client-side fusion the
        product uses (eval/milvus_fusion.py), which alone gives the directory store's results."""
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        live = self.view.live()
        dense = [np.asarray(vector, dtype=np.float32).tolist()]
        params = {"metric_type": "IP", "params": self._dense_params(depth)}
        requests = [AnnSearchRequest(dense, "vector", params, depth, live)]
        weights = query_weights(terms, self.document_frequency(terms), len(self))
        if weights:
            requests.append(AnnSearchRequest([weights], "bm25", {"metric_type": "IP"}, depth, live))
        if ranker == "rrf":
            chosen: Any = RRFRanker(rrf_k)
        else:
            chosen = WeightedRanker(alpha, 1 - alpha) if weights else WeightedRanker(1.0)
        hits = self.client.hybrid_search(
            self.names["passages"], requests, chosen, limit=limit, output_fields=["passage_id"]
        )
        return [hit["entity"]["passage_id"] for hit in hits[0]]

    def _dense_params(self, depth: int) -> dict[str, Any]:
        if self.state.get("index_type") == "HNSW":
            return {"ef": max(depth, self.config.hnsw_ef_search)}
        return {}

    def _search(
        self, data: list[Any], field_name: str, limit: int, params: dict[str, Any]
    ) -> dict[str, float]:
        hits = self.client.search(
            self.names["passages"],
            data=data,
            anns_field=field_name,
            limit=limit,
            filter=self.view.live(),
            output_fields=[*PASSAGE_FIELDS, "vector", "bm25"],
            search_params={"metric_type": "IP", "params": params},
        )[0]
        found = {}
        for hit in hits:
            found[self._remember(hit["entity"])[0].id] = float(hit["distance"])
        return found

    # ----------------------------------------------------------------- changes
    def add(self, batch: PassageBatch) -> None:
        """Keep a batch for the next save, replacing documents stored from the same sources."""
        batch.check_fits(self.identity)
        with self._lock:
            # a document stored with the same id (the same text) is written again all the
            # same: its metadata (content hash, title) may differ, and its new rows replace
            # the old ones only when the save finishes
            self._retire({d.source for d in batch.documents}, texts=False)
            sentence_row = 0
            for passage, vector, terms in zip(
                batch.passages, batch.vectors, batch.terms, strict=True
            ):
                n = len(passage.sentences)
                sentences = batch.sentence_vectors[sentence_row : sentence_row + n]
                sentence_row += n
                self.pending.rows.setdefault(passage.doc_id, []).append(
                    # sentence vectors at the directory store's precision: the same answers
                    (passage, vector.astype(np.float32), _half(sentences), terms)
                )
            for doc in batch.documents:
                self.pending.documents[doc.id] = doc
                self.pending.rows.setdefault(doc.id, [])
            self._count += len(batch.passages)
            self.revision += 1

    def remove(self, sources: Iterable[str]) -> list[Document]:
        """Retire every document stored from one of ``sources`` at the next save."""
        with self._lock:
            gone = [d for d in self._retire(set(sources)) if d is not None]
            if gone:
                self.revision += 1
            return gone

    def _retire(self, sources: set[str], *, texts: bool = True) -> list[Document | None]:
        """Retire the documents of ``sources``; returns them (None for each stored one, unless
        ``texts``: fetching a text costs a query)."""
        gone: list[Document | None] = []
        for doc in [d for d in self.pending.documents.values() if d.source in sources]:
            del self.pending.documents[doc.id]
            self._count -= len(self.pending.rows.pop(doc.id, []))
            gone.append(doc)
        for info in [d for d in self._docs.values() if d.source in sources]:
            document = self.document(info.id) if texts else None
            del self._docs[info.id]
            self.pending.retired[info.id] = info
            self._count -= info.passages
            gone.append(document)
        return gone

    def saved(self, state: dict[str, Any], view: View, documents: Iterable[DocumentInfo]) -> None:
        """The pending changes were saved as ``state``, adding ``documents``: this store now
        shows that save."""
        with self._lock:
            for doc in self.pending.documents.values():
                self._texts[doc.id] = doc.text
            self._docs.update((d.id, d) for d in documents)
            self._rows.clear()  # a same-id document's rows were written again
            self._sentences.clear()
            self._df.clear()
            self.state, self.view = state, view
            self.pending = Pending()
            self._head = []

    # ----------------------------------------------------------------- helpers
    def _order(self, passage: Passage) -> tuple[int, int]:
        info = self._docs.get(passage.doc_id)
        return (info.seq if info is not None else 1 << 62, passage.start)

    def _first(self, n: int, taken: set[str]) -> list[str]:
        """The first ``n`` live passages in the store's order not in ``taken``: what a BM25
        search that matched fewer than ``depth`` passages adds, at score 0, as bm25s does.
        The store's first passages are read once and kept (a store is one save: they stay)."""
        if n <= 0:
            return []
        need = n + len(taken)
        if len(self._head) < need and len(self._head) < len(self):
            chosen, count = [], 0
            for info in sorted(self._docs.values(), key=lambda d: d.seq):
                chosen.append(info.id)
                count += info.passages
                if count >= max(need, 2 * len(self._head)):
                    break
            rows = self._scan(
                self.names["passages"],
                f"{self.view.live()} and doc_id in {quoted(chosen)}",
                [*PASSAGE_FIELDS, "vector", "bm25"],
            )
            found = sorted((self._remember(r) for r in rows), key=lambda r: self._order(r[0]))
            self._head = [r[0].id for r in found]
        return [i for i in self._head if i not in taken][:n]

    def _row(self, passage_id: str) -> tuple[Passage, np.ndarray, dict[int, float]]:
        row = self._rows.get(passage_id)
        if row is None:
            found = self.client.query(
                self.names["passages"],
                filter=f"{self.view.live()} and passage_id == {quoted([passage_id])[1:-1]}",
                output_fields=[*PASSAGE_FIELDS, "vector", "bm25"],
                limit=1,
            )
            if not found or found[0]["doc_id"] not in self._docs:
                raise KeyError(passage_id)
            row = self._remember(dict(found[0]))
        return row

    def _remember(self, entity: dict[str, Any]) -> tuple[Passage, np.ndarray, dict[int, float]]:
        if len(self._rows) > _ROW_CACHE:
            self._rows.clear()
        row = (
            passage_from_row(entity),
            np.asarray(entity["vector"], dtype=np.float32),
            {int(k): float(v) for k, v in entity["bm25"].items()},
        )
        self._rows[row[0].id] = row
        return row

    def _fetch_texts(self, doc_ids: list[str]) -> dict[str, str]:
        """The texts of these documents, from the cache or from Milvus (then cached)."""
        texts = {d: t for d in doc_ids if (t := self._texts.get(d)) is not None}
        missing = [d for d in doc_ids if d not in texts]
        if not missing:
            return texts
        if sum(len(t) for t in list(self._texts.values())) > _TEXT_CACHE_CHARS:
            self._texts.clear()
        doc_ids = missing
        parts: dict[str, list[tuple[int, str]]] = {d: [] for d in doc_ids}
        for start in range(0, len(doc_ids), 256):
            chunk = doc_ids[start : start + 256]
            expr = f"{self.view.live()} and doc_id in {quoted(chunk)}"
            for row in self._scan(self.names["documents"], expr, ["doc_id", "part", "text"]):
                parts[row["doc_id"]].append((int(row["part"]), row["text"]))
        for doc_id, found in parts.items():
            texts[doc_id] = self._texts[doc_id] = "".join(t for _, t in sorted(found))
        return texts

    def _document(self, info: DocumentInfo, text: str) -> Document:
        return Document(
            id=info.id,
            source=info.source,
            title=info.title,
            text=text,
            page_starts=info.page_starts,
            content_hash=info.content_hash,
        )

    def _scan(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        return scan(self.client, collection, expr, fields)


def _half(vectors: np.ndarray) -> np.ndarray:
    """Rounded to ``SENTENCE_DTYPE`` (kept as float32, the collection's vector type)."""
    return vectors.astype(SENTENCE_DTYPE).astype(np.float32)
