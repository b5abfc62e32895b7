"""One save of a Milvus index (``index.milvus.MilvusLocation.save``), in the order that keeps
every reader's view whole:

1. rows left by a save that failed (``added_in`` above the last finished save) are deleted, and
   the rows of documents retired more than ``GRACE_S`` seconds ago;
2. the new passages, sentences, documents, term counts and retired documents are written, tagged
   with this save's number, which no reader shows yet, and flushed;
3. the one meta row is replaced: the moment the save is visible.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from index.lexical import NO_TERMS, NO_TERMS_WEIGHT, passage_weights
from index.milvus_rows import (
    DocumentInfo,
    Pending,
    View,
    document_rows,
    passage_row,
    quoted,
    row_key,
    scan,
)
from index.milvus_schema import UNUSED_DIM, create_collections
from index.milvus_store import MilvusStore

SCHEMA_VERSION = 2
"""2: rows versioned by save (keys ``<id>@<save>``), retired documents in their own collection."""
GRACE_S = 60.0
"""How long rows a save retires stay for readers of the saves before it."""
META_ID = "index"
VERSIONED = ("passages", "sentences", "documents", "terms", "retired")
_CHUNK = 256
"""Rows per insert or upsert request."""
_UNUSED = [0.0] * UNUSED_DIM


class Save:
    """One save of a store's pending changes (``MilvusLocation.save``)."""

    def __init__(self, client: Any, names: dict[str, str], store: MilvusStore) -> None:
        self.client, self.names = client, names
        self.store, self.pending = store, store.pending
        self.state = dict(store.state)
        self.view = store.view
        self.this = store.view.saves + 1
        self.now = time.time()
        self.df: Counter[int] = Counter()

    def run(self) -> str:
        store, pending, this = self.store, self.pending, self.this
        new = [r for rows in pending.rows.values() for r in rows]
        rebuild = pending.fresh and self._must_rebuild()
        if rebuild:
            self._create(len(new))
        for key in VERSIONED:
            self.client.delete(self.names[key], filter=f"added_in > {self.view.saves}")
        retired = {} if rebuild else self._collect_garbage()
        if pending.fresh:
            retired = {}  # the new epoch shows none of the rows before it
        epoch = this if pending.fresh else self.view.epoch
        if pending.fresh:
            passages, total_length = 0, 0
        else:
            passages, total_length = self._retire(pending)
            if pending.retired:
                retired[this] = tuple(pending.retired)
        passages += len(new)
        total_length += sum(len(terms) for *_, terms in new)
        avgdl = total_length / passages if passages else 0.0
        infos = self._write_rows(new, avgdl)
        self._write_frequencies(fresh=pending.fresh)

        revision = uuid.uuid4().hex[:16]
        self.state.update(
            schema_version=SCHEMA_VERSION,
            model=asdict(store.identity),
            settings=store.settings,
            config=asdict(store.config),
            revision=revision,
            saves=this,
            epoch=epoch,
            passages=passages,
            total_length=total_length,
            avgdl=avgdl,
            saved_at=self.now,
        )
        if pending.fresh and not rebuild:
            self.state["epoch_at"] = self.now  # rows before it are deleted after the grace
        for key in VERSIONED:  # seal what was written into segments, indexed for search
            self.client.flush(self.names[key])
        meta = {"id": META_ID, "value": self.state, "unused": _UNUSED}
        self.client.upsert(self.names["meta"], [meta])
        store.saved(self.state, View(this, epoch, retired), infos)
        return revision

    def _must_rebuild(self) -> bool:
        """Whether the collections must be made anew: none yet, another vector dimension or
        an older schema."""
        model = self.state.get("model") or {}
        return (
            not all(self.client.has_collection(n) for n in self.names.values())
            or model.get("dimension") != self.store.identity.dimension
            or self.state.get("schema_version") != SCHEMA_VERSION
        )

    def _create(self, passages: int) -> None:
        for name in self.names.values():
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        config = self.store.config
        if passages <= config.exact_max:
            dense = {"index_type": "FLAT", "params": {}}
        else:
            params = {"M": config.hnsw_m, "efConstruction": config.hnsw_ef_construction}
            dense = {"index_type": "HNSW", "params": params}
        create_collections(self.client, self.names, self.store.identity.dimension, dense)
        self.state = {"saves": self.view.saves, "index_type": dense["index_type"]}

    def _collect_garbage(self) -> dict[int, tuple[str, ...]]:
        """Delete the rows of documents retired, and of an epoch ended, more than ``GRACE_S``
        ago; returns the retirements readers of the new save still need."""
        cutoff = self.now - GRACE_S
        expired: dict[int, list[tuple[str, str]]] = {}
        expr = f"{self.view.versions()} and at < {cutoff}"
        for row in scan(self.client, self.names["retired"], expr, ["id", "doc_id", "added_in"]):
            expired.setdefault(int(row["added_in"]), []).append((row["id"], row["doc_id"]))
        for save, rows in expired.items():
            for chunk in _chunks([doc_id for _, doc_id in rows], _CHUNK):
                for key in ("passages", "sentences", "documents"):
                    expr = f"added_in < {save} and doc_id in {quoted(chunk)}"
                    self.client.delete(self.names[key], filter=expr)
            for chunk in _chunks([key for key, _ in rows], _CHUNK):
                self.client.delete(self.names["retired"], ids=chunk)
        epoch_at = self.state.get("epoch_at")
        if epoch_at is not None and epoch_at < cutoff:
            for key in VERSIONED:
                self.client.delete(self.names[key], filter=f"added_in < {self.view.epoch}")
            self.state["epoch_at"] = None
        gone = {doc_id for rows in expired.values() for _, doc_id in rows}
        kept = {}
        for save, ids in self.view.retired.items():
            if save not in expired and (still := tuple(i for i in ids if i not in gone)):
                kept[save] = still
        return kept

    def _retire(self, pending: Pending) -> tuple[int, int]:
        """Record the documents this save retires, and take their passages out of the
        statistics; returns the passages and terms left."""
        passages = int(self.state.get("passages", 0))
        total_length = int(self.state.get("total_length", 0))
        gone = list(pending.retired)
        for chunk in _chunks(gone, _CHUNK):
            expr = f"{self.view.live()} and doc_id in {quoted(chunk)}"
            for row in scan(self.client, self.names["passages"], expr, ["length", "bm25"]):
                self.df.subtract(int(k) for k in row["bm25"] if int(k) != NO_TERMS)
                passages -= 1
                total_length -= int(row["length"])
        rows = ({"id": row_key(doc_id, self.this), "added_in": self.this, "doc_id": doc_id,
                 "at": self.now, "unused": _UNUSED} for doc_id in gone)  # fmt: skip
        self._write("retired", rows)
        return passages, total_length

    def _write_rows(self, new: list[Any], avgdl: float) -> list[DocumentInfo]:
        this, config = self.this, self.store.config

        def passage_rows() -> Iterator[dict[str, Any]]:
            for passage, vector, _, terms in new:
                weights = passage_weights(terms, avgdl, k1=config.bm25_k1, b=config.bm25_b)
                self.df.update(weights.keys())
                weights = weights or {NO_TERMS: NO_TERMS_WEIGHT}
                yield passage_row(passage, added_in=this, vector=vector.tolist(), bm25=weights,
                                  length=len(terms))  # fmt: skip

        def sentence_rows() -> Iterator[dict[str, Any]]:
            for passage, _, sentences, _ in new:
                for position, sentence in enumerate(sentences):
                    yield {
                        "id": row_key(passage.id, this, position),
                        "added_in": this,
                        "doc_id": passage.doc_id,
                        "passage_id": passage.id,
                        "position": position,
                        "vector": sentence.tolist(),
                    }

        # rows are made a chunk at a time: as Python lists, vectors take six times the room
        self._write("passages", passage_rows())
        self._write("sentences", sentence_rows())
        seq = int(self.state.get("next_seq", 0))
        documents, infos = [], []
        for doc in self.pending.documents.values():
            n = len(self.pending.rows.get(doc.id, []))
            documents.extend(document_rows(doc, added_in=this, seq=seq, passages=n))
            infos.append(DocumentInfo(doc.id, doc.source, doc.title, doc.page_starts,
                                      doc.content_hash, seq, n))  # fmt: skip
            seq += 1
        self._write("documents", documents)
        self.state["next_seq"] = seq
        return infos

    def _write_frequencies(self, *, fresh: bool) -> None:
        """Write each changed term's new count as this save's version of it (a reader takes
        the latest version up to its save), and delete versions no reader needs any more."""
        ids = sorted(i for i, d in self.df.items() if d)
        for chunk in _chunks(ids, 4096):
            versions: dict[int, list[tuple[int, str, int]]] = {}
            if not fresh:
                expr = f"{self.view.versions()} and term in {chunk}"
                fields = ["id", "term", "df", "added_in"]
                for row in scan(self.client, self.names["terms"], expr, fields):
                    entry = (int(row["added_in"]), row["id"], int(row["df"]))
                    versions.setdefault(int(row["term"]), []).append(entry)
            rows, superseded = [], []
            for term in chunk:
                found = sorted(versions.get(term, []))
                current = found[-1][2] if found else 0
                rows.append({"id": row_key(str(term), self.this), "added_in": self.this,
                             "term": term, "df": max(0, current + self.df[term]),
                             "unused": _UNUSED})  # fmt: skip
                superseded += [key for _, key, _ in found[:-1]]  # older than the live version
            self._write("terms", rows)
            if superseded:
                self.client.delete(self.names["terms"], ids=superseded)

    def _write(self, key: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, _CHUNK)):
            self.client.upsert(self.names[key], chunk)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
