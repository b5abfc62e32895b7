"""An index kept in Milvus (a server, or a Milvus Lite file), behind the same contract as an index
directory (``index.directory.IndexDirectory``): ``exists``, ``stamp``, ``load``, ``writing``,
``save``.

Rows are never overwritten: each is written by one save, tagged with its number and keyed
``<id>@<save>`` (``index.milvus_rows``); a save makes them visible at once by replacing one meta
row (``index.milvus_save``). A reader shows the rows of saves up to its own, less those of
documents retired since they were written (``index.milvus_rows.View``), so it never sees half a
save, and the rows it shows stay for ``GRACE_S`` seconds after a later save retires them. A save
that replaces the whole index (``fresh``: a migration, ``rag eval --store``) starts a new epoch
instead: rows of earlier saves stop showing when it finishes. Only a different model (another
vector dimension) drops and recreates the collections.

Writers are serialised by a file lock in the address's local folder: on one machine, processes
and threads take turns. Writers on several machines against one server must take turns
themselves (docs/scale-out.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from typing import Any

from index.config import IndexConfig
from index.contract import ModelIdentity
from index.errors import IndexMismatchError, IndexNotFoundError, IndexStoreError
from index.milvus_rows import DOCUMENT_FIELDS, DocumentInfo, View, scan
from index.milvus_save import META_ID, SCHEMA_VERSION, Save
from index.milvus_schema import MilvusAddress, TranslatingClient, translate_errors
from index.milvus_store import MilvusStore

logger = logging.getLogger(__name__)

WRITE_LOCK = ".write.lock"


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
        """The ``MilvusClient`` (every failure an ``IndexStoreError``), connected on first use."""
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
        view = self._view(meta)
        documents = self._documents(view.live())
        config = config or IndexConfig(**meta["config"])
        store = MilvusStore(
            self.client, self.names, identity, meta["settings"], config, meta, view, documents
        )
        return meta["revision"], store

    def new_store(
        self, identity: ModelIdentity, settings: dict[str, Any], config: IndexConfig | None
    ) -> MilvusStore:
        """An empty index; saving it replaces whatever the address holds."""
        meta = self._meta() or {}
        view = View(int(meta.get("saves", 0)), int(meta.get("epoch", 0)))
        config = config or IndexConfig()
        return MilvusStore(
            self.client, self.names, identity, settings, config, meta, view, [], fresh=True
        )

    def _meta(self) -> dict[str, Any] | None:
        client = self.client
        if not self._loaded:
            if not client.has_collection(self.names["meta"]):
                return None
            for name in self.names.values():  # a restarted Milvus holds them released
                if client.has_collection(name):
                    client.load_collection(name)
            self._loaded = True
        try:
            rows = client.get(self.names["meta"], ids=[META_ID], output_fields=["value"])
        except IndexStoreError:  # dropped since (a rebuild elsewhere): look again from the start
            self._loaded = False
            if not client.has_collection(self.names["meta"]):
                return None
            raise
        return dict(rows[0]["value"]) if rows else None

    def _view(self, meta: dict[str, Any]) -> View:
        view = View(int(meta["saves"]), int(meta.get("epoch", 0)))
        retired: dict[int, list[str]] = {}
        fields = ["doc_id", "added_in"]
        for row in scan(self.client, self.names["retired"], view.versions(), fields):
            retired.setdefault(int(row["added_in"]), []).append(row["doc_id"])
        return View(view.saves, view.epoch, {save: tuple(ids) for save, ids in retired.items()})

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
        with translate_errors(self.address):
            return Save(self.client, self.names, store).run()


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
    # a local Milvus Lite server answers keepalive pings on an idle connection (while the
    # model encodes) with GOAWAY "too_many_pings": ping only while a call is in flight
    options = {"grpc.keepalive_permit_without_calls": False} if address.lite else {}
    with translate_errors(address):
        client = MilvusClient(uri=address.uri, timeout=15, grpc_options=options)
    return TranslatingClient(client, address)
