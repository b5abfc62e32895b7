"""An index kept in Milvus (a server, or a Milvus Lite file), behind the same contract as an index
directory (``index.directory.IndexDirectory``): ``exists``, ``stamp``, ``load``, ``writing``,
``save``.

A save writes in an order that keeps every reader's view whole:

1. rows left by a save that failed (``added_in`` above the last finished save) are deleted;
2. the new passages, sentences, term frequencies and documents are written, tagged with this
   save's number, which readers do not see yet;
3. the meta row is replaced: the save counter, the statistics, the documents retired by this
   save. This one row write is the moment the save becomes visible.

Retired documents stay stored for ``GRACE_S`` seconds, so that a reader still searching the
previous save finds everything it expects; the first save after that deletes them. Readers filter
by the save counter and the retired list, so they never see half a save.

Writers are serialised by a file lock in the address's local folder: on one machine, processes
and threads take turns. Writers on several machines against one server must take turns
themselves (docs/scale-out.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from index.config import IndexConfig
from index.contract import ModelIdentity
from index.errors import IndexMismatchError, IndexNotFoundError, IndexStoreError
from index.lexical import NO_TERMS, NO_TERMS_WEIGHT, passage_weights
from index.milvus_schema import (
    DOCUMENT_FIELDS,
    UNUSED_DIM,
    MilvusAddress,
    create_collections,
    document_rows,
    passage_row,
)
from index.milvus_store import DocumentInfo, MilvusStore, live_filter, scan

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
GRACE_S = 60.0
"""How long a retired document's rows outlive the save that retired it."""
META_ID = "index"
WRITE_LOCK = ".write.lock"
_CHUNK = 256
"""Rows per insert or upsert request."""


class MilvusLocation:
    """Opens, saves and locks an index kept in Milvus.

    Args:
        address: A ``milvus://`` address (``index.milvus_schema.MilvusAddress``).
    """

    def __init__(self, address: str | MilvusAddress) -> None:
        self.address = (
            address if isinstance(address, MilvusAddress) else MilvusAddress.parse(address)
        )
        self.path = self.address.local_dir
        self.names = self.address.names()
        self._client: Any = None
        self._loaded = False
        self._connecting = threading.Lock()

    def __str__(self) -> str:
        return str(self.address)

    @property
    def client(self) -> Any:
        with self._connecting:
            if self._client is None:
                self._client = _connect(self.address)
            return self._client

    # ----------------------------------------------------------------- reading
    def exists(self) -> bool:
        return self._meta() is not None

    def stamp(self) -> str | None:
        """The last save's id; it changes with every save (None when there is no index)."""
        meta = self._meta()
        return meta["revision"] if meta is not None else None

    def load(
        self, running: ModelIdentity, *, config: IndexConfig | None = None, verify: bool = True
    ) -> tuple[str, MilvusStore]:
        """The index as of its last save; returns its stamp and the store.

        Raises:
            IndexNotFoundError: No index at this address.
            IndexMismatchError: Built with another model or an unknown schema.
        """
        del verify  # Milvus keeps its own checksums
        meta = self._meta()
        if meta is None:
            raise IndexNotFoundError(
                f"no index at {self.address}: build one with "
                f"`rag index PATH --store {self.address}`"
            )
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"{self.address} was written by another version (schema "
                f"{meta.get('schema_version')}, this one reads {SCHEMA_VERSION}): rebuild it"
            )
        identity = ModelIdentity(**meta["model"])
        if identity != running:
            raise IndexMismatchError(
                f"{self.address} was built with {identity.name} (sha256 {identity.sha256[:12]}…, "
                f"dim {identity.dimension}) but the running model is {running.name} "
                f"(sha256 {running.sha256[:12]}…, dim {running.dimension}): rebuild it with "
                f"`rag index --store {self.address} ...`"
            )
        with _errors(self.address):
            documents = self._documents(live_filter(meta))
        config = config or IndexConfig(**meta["config"])
        store = MilvusStore(
            self.client, self.names, identity, meta["settings"], config, meta, documents
        )
        return meta["revision"], store

    def new_store(
        self, identity: ModelIdentity, settings: dict[str, Any], config: IndexConfig | None
    ) -> MilvusStore:
        """An empty index; saving it replaces whatever the address holds."""
        state = {"saves": (self._meta() or {}).get("saves", 0)}
        return MilvusStore(
            self.client,
            self.names,
            identity,
            settings,
            config or IndexConfig(),
            state,
            [],
            fresh=True,
        )

    def _meta(self) -> dict[str, Any] | None:
        with _errors(self.address):
            if not self._loaded:
                if not self.client.has_collection(self.names["meta"]):
                    return None
                for name in self.names.values():  # a restarted Milvus holds them released
                    self.client.load_collection(name)
                self._loaded = True
            try:
                rows = self.client.get(self.names["meta"], ids=[META_ID], output_fields=["value"])
            except Exception:  # dropped since (a rebuild elsewhere): look again from the start
                self._loaded = False
                if not self.client.has_collection(self.names["meta"]):
                    return None
                raise
        return dict(rows[0]["value"]) if rows else None

    def _documents(self, expr: str) -> list[DocumentInfo]:
        parts: dict[str, list[dict[str, Any]]] = {}
        for row in scan(self.client, self.names["documents"], expr, DOCUMENT_FIELDS):
            parts.setdefault(row["doc_id"], []).append(row)
        infos = []
        for doc_id, rows in parts.items():
            first = min(rows, key=lambda r: r["part"])
            infos.append(
                DocumentInfo(
                    id=doc_id,
                    source=first["source"],
                    title=first["title"],
                    page_starts=tuple(sorted(s for r in rows for s in r["page_starts"])),
                    content_hash=first["content_hash"],
                    seq=int(first["seq"]),
                    passages=int(first["passages"]),
                )
            )
        return infos

    # ----------------------------------------------------------------- writing
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer's lock (a file in the local folder) for a read-change-save."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock_file = (self.path / WRITE_LOCK).open("a")
        except OSError as e:
            raise IndexStoreError(f"cannot use {self.path} for {self.address}'s lock: {e}") from e
        with lock_file as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def discard_if_unused(self) -> None:
        """Remove the local folder again if it holds nothing but the lock (hold ``writing()``):
        a first write that saved nothing leaves no trace."""
        try:
            entries = list(self.path.iterdir())
            if [e.name for e in entries] == [WRITE_LOCK]:
                entries[0].unlink()
                self.path.rmdir()
                if self.address.lite:
                    self.path.parent.rmdir()  # the .files folder, when it holds nothing else
        except OSError:  # another writer is already using it, or it was never ours
            pass

    def save(self, store: MilvusStore) -> str:
        """Write the store's pending changes as one save (hold ``writing()``); returns its stamp.

        Raises:
            IndexStoreError: Milvus refused a write; readers still see the previous save, and
                the next save deletes what this one wrote.
        """
        with _errors(self.address):
            return self._save(store)

    def _save(self, store: MilvusStore) -> str:
        pending, names, client = store.pending, self.names, self.client
        state = dict(store.state)
        if pending.fresh:
            for name in names.values():
                if client.has_collection(name):
                    client.drop_collection(name)
            create_collections(
                client,
                names,
                store.identity.dimension,
                {"M": store.config.hnsw_m, "efConstruction": store.config.hnsw_ef_construction},
            )
            state = {"saves": state.get("saves", 0), "passages": 0, "total_length": 0}
        saves = int(state.get("saves", 0))
        this = saves + 1
        for key in ("passages", "sentences", "documents"):
            client.delete(names[key], filter=f"added_in > {saves}")
        retired = dict(state.get("retired", {}))
        now = time.time()

        df: Counter[int] = Counter()
        passages, total_length = int(state.get("passages", 0)), int(state.get("total_length", 0))
        gone = [d.id for d in pending.retired.values()]
        for start in range(0, len(gone), _CHUNK):
            expr = f"doc_id in {json.dumps(gone[start : start + _CHUNK])}"
            for row in scan(client, names["passages"], expr, ["length", "bm25"]):
                df.subtract(int(k) for k in row["bm25"] if int(k) != NO_TERMS)
                passages -= 1
                total_length -= int(row["length"])
        for info in pending.retired.values():
            retired[info.id] = {"at": now, "passages": info.passages}

        new = [r for rows in pending.rows.values() for r in rows]
        passages += len(new)
        total_length += sum(len(terms) for *_, terms in new)
        avgdl = total_length / passages if passages else 0.0
        k1, b = store.config.bm25_k1, store.config.bm25_b

        def passage_rows() -> Iterator[dict[str, Any]]:
            for passage, vector, _, terms in new:
                weights = passage_weights(terms, avgdl, k1=k1, b=b)
                df.update(weights.keys())
                weights = weights or {NO_TERMS: NO_TERMS_WEIGHT}
                yield passage_row(passage, added_in=this, vector=vector.tolist(), bm25=weights,
                                  length=len(terms))  # fmt: skip

        def sentence_rows() -> Iterator[dict[str, Any]]:
            for passage, _, sentences, _ in new:
                for position, sentence in enumerate(sentences):
                    yield {
                        "id": f"{passage.id}:{position}",
                        "added_in": this,
                        "doc_id": passage.doc_id,
                        "passage_id": passage.id,
                        "position": position,
                        "vector": sentence.tolist(),
                    }

        seq = int(state.get("next_seq", 0))
        document_rows_: list[dict[str, Any]] = []
        infos = []
        for doc in pending.documents.values():
            retired.pop(doc.id, None)
            n = len(pending.rows.get(doc.id, []))
            document_rows_.extend(document_rows(doc, added_in=this, seq=seq, passages=n))
            infos.append(
                DocumentInfo(
                    doc.id, doc.source, doc.title, doc.page_starts, doc.content_hash, seq, n
                )
            )
            seq += 1
        self._write(names["passages"], passage_rows())  # rows are made a chunk at a time: as
        self._write(names["sentences"], sentence_rows())  # Python lists, vectors take 6x the room
        self._update_frequencies(df)
        self._write(names["documents"], document_rows_)
        expired = [d for d, entry in retired.items() if entry["at"] < now - GRACE_S]
        for start in range(0, len(expired), _CHUNK):
            expr = f"doc_id in {json.dumps(expired[start : start + _CHUNK])}"
            for key in ("passages", "sentences", "documents"):
                client.delete(names[key], filter=expr)
        for doc_id in expired:
            del retired[doc_id]

        revision = uuid.uuid4().hex[:16]
        state.update(
            schema_version=SCHEMA_VERSION,
            model=asdict(store.identity),
            settings=store.settings,
            config=asdict(store.config),
            revision=revision,
            saves=this,
            passages=passages,
            total_length=total_length,
            avgdl=avgdl,
            retired=retired,
            next_seq=seq,
            saved_at=now,
        )
        client.upsert(
            names["meta"], [{"id": META_ID, "value": state, "unused": [0.0] * UNUSED_DIM}]
        )
        store.saved(state, infos)
        return revision

    def _write(self, collection: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, _CHUNK)):
            self.client.upsert(collection, chunk)

    def _update_frequencies(self, delta: Counter[int]) -> None:
        ids = [i for i, d in delta.items() if d]
        rows, gone = [], []
        for start in range(0, len(ids), 4096):
            chunk = ids[start : start + 4096]
            old = {
                int(r["id"]): int(r["df"])
                for r in self.client.get(self.names["terms"], ids=chunk, output_fields=["df"])
            }
            for i in chunk:
                df = old.get(i, 0) + delta[i]
                if df > 0:
                    rows.append({"id": i, "df": df, "unused": [0.0] * UNUSED_DIM})
                elif i in old:
                    gone.append(i)
        self._write(self.names["terms"], rows)
        if gone:
            self.client.delete(self.names["terms"], ids=gone)


def _connect(address: MilvusAddress) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise IndexStoreError(
            f"{address} needs pymilvus and milvus-lite: pip install -e '.[milvus]'"
        ) from e
    if address.lite:
        address.local_dir.parent.parent.mkdir(parents=True, exist_ok=True)
    # pymilvus logs every failed call with a traceback; the IndexStoreError raised for it says
    # what failed in one line
    for name in ("pymilvus", "milvus_lite", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with _errors(address):
        # a local Milvus Lite server answers keepalive pings on an idle connection (while the
        # model encodes) with GOAWAY "too_many_pings": ping only while a call is in flight
        options = {"grpc.keepalive_permit_without_calls": False} if address.lite else {}
        return MilvusClient(uri=address.uri, timeout=15, grpc_options=options)


@contextlib.contextmanager
def _errors(address: MilvusAddress) -> Iterator[None]:
    """Milvus's failures as ``IndexStoreError``: one line the CLI and the chat can show."""
    try:
        yield
    except IndexStoreError:
        raise
    except Exception as e:  # pymilvus raises MilvusException, gRPC and Milvus Lite errors
        if type(e).__module__.split(".")[0] not in ("pymilvus", "milvus_lite", "grpc"):
            raise
        message = getattr(e, "message", None) or str(e)
        hint = ""
        if address.lite and ("lock" in message.lower() or "open local milvus" in message.lower()):
            hint = (
                " (a Milvus Lite file is used by one process at a time: to share it, run "
                "`milvus-lite server --data-dir DIR --port 19530` and use milvus://127.0.0.1:19530/NAME)"
            )
        raise IndexStoreError(f"Milvus at {address} failed: {message}{hint}") from e
