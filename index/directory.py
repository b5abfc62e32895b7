"""An index directory: snapshots of the store behind one pointer file, and the locks around them.

Layout::

    CURRENT            the name of the live snapshot; replaced by one atomic rename per save
    snapshot-<id>/     the files of one ``PassageIndex`` (``index.snapshot``)
    .write.lock        held by a writer for its whole read-change-save
    .read.lock         shared while a snapshot is read; exclusive while old snapshots are deleted
    (anything else, such as the chat's ``uploads/``, is left alone)

A save writes a new snapshot, syncs it, then renames a new ``CURRENT`` over the old one: at any
instant ``CURRENT`` names a whole snapshot, so a crash (even ``kill -9``) leaves the old index or
the new one. Snapshots ``CURRENT`` does not name are leftovers and are deleted by the next save.
Readers never wait for a writer's work, only for the moment old snapshots are deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.config import IndexConfig
from index.contract import ModelIdentity
from index.errors import IndexNotFoundError, IndexStoreError
from index.manifest import MANIFEST
from index.passages import PassageIndex
from index.snapshot import fsync, read_snapshot, write_snapshot

logger = logging.getLogger(__name__)

CURRENT = "CURRENT"
SNAPSHOT_PREFIX = "snapshot-"
WRITE_LOCK = ".write.lock"
READ_LOCK = ".read.lock"


class IndexDirectory:
    """Opens, saves and locks the index kept in ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()

    def __str__(self) -> str:
        return str(self.path)

    def new_store(
        self, identity: ModelIdentity, settings: dict[str, Any], config: IndexConfig | None
    ) -> PassageIndex:
        """An empty store; saving it replaces the index."""
        return PassageIndex(identity, settings, config)

    def exists(self) -> bool:
        """Whether an index lives here (an older format counts: it must not be overwritten)."""
        return (self.path / CURRENT).is_file() or (self.path / MANIFEST).is_file()

    def stamp(self) -> str | None:
        """The live snapshot's name; it changes with every save (None when there is none)."""
        try:
            return (self.path / CURRENT).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
        except OSError as e:
            raise IndexStoreError(f"cannot read {self.path / CURRENT}: {e.strerror or e}") from e

    def load(
        self, running: ModelIdentity, *, config: IndexConfig | None = None, verify: bool = True
    ) -> tuple[str, PassageIndex]:
        """Read the live snapshot; returns its stamp and the store.

        Raises:
            IndexNotFoundError: No index here.
            IndexMismatchError: Built with another model or an older format.
            IndexCorruptError: A file is missing or damaged.
        """
        if not self.exists():
            self._check_usable()
            raise IndexNotFoundError(
                f"no index at {self.path}: build one with `rag index PATH --index-dir {self.path}`"
            )
        with self._lock(READ_LOCK, shared=True):
            stamp = self.stamp()
            snapshot = self.path / stamp if stamp else self.path  # an older, single-level format
            return stamp or "", read_snapshot(snapshot, running, config=config, verify=verify)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer's lock: one read-change-save at a time, across processes."""
        with self._lock(WRITE_LOCK, shared=False):
            yield

    def save(self, index: PassageIndex) -> str:
        """Write ``index`` as the new live snapshot (hold ``writing()``); returns its stamp.

        Raises:
            IndexStoreError: The snapshot could not be written; the previous index is unchanged.
        """
        name = f"{SNAPSHOT_PREFIX}{uuid.uuid4().hex[:16]}"
        snapshot = self.path / name
        try:
            snapshot.mkdir(parents=True)
            write_snapshot(index, snapshot)
            pointer = self.path / f".{CURRENT}.{name}"
            pointer.write_text(name + "\n", encoding="utf-8")
            fsync(pointer)
            os.replace(pointer, self.path / CURRENT)
            fsync(self.path)
        except OSError as e:  # disk full, permissions: CURRENT still names the old snapshot
            shutil.rmtree(snapshot, ignore_errors=True)
            raise IndexStoreError(
                f"cannot save the index to {self.path} ({e.strerror or e}); "
                "the previous index is unchanged"
            ) from e
        except BaseException:
            shutil.rmtree(snapshot, ignore_errors=True)
            raise
        self._collect_garbage(keep=name)
        return name

    def discard_if_unused(self) -> None:
        """Remove the directory again if it holds nothing but lock files (hold ``writing()``):
        a first write that saved nothing leaves no trace."""
        try:
            entries = list(self.path.iterdir())
            if entries and all(e.name in (WRITE_LOCK, READ_LOCK) for e in entries):
                for entry in entries:
                    entry.unlink()
                self.path.rmdir()
        except OSError:  # another writer is already using it, or it was never ours
            pass

    def _check_usable(self) -> None:
        existing = next((p for p in (self.path, *self.path.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise IndexStoreError(
                f"cannot use {self.path} as an index directory: {existing} is a file; "
                "choose a folder"
            )

    def _collect_garbage(self, keep: str) -> None:
        """Delete every snapshot but ``keep``, leftover pointers and files of the old format."""
        with self._lock(READ_LOCK, shared=False):
            for entry in self.path.iterdir():
                stale_snapshot = entry.name.startswith(SNAPSHOT_PREFIX) and entry.name != keep
                stale_pointer = entry.name.startswith(f".{CURRENT}.")
                if stale_snapshot or stale_pointer or entry.name in _FORMAT_1_FILES:
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _lock(self, name: str, *, shared: bool) -> Iterator[None]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock_file = (self.path / name).open("a")
        except PermissionError:
            if not shared:
                raise IndexStoreError(
                    f"cannot write to {self.path}: choose a folder you can write to"
                ) from None
            yield  # a read-only index: nobody can be deleting its snapshots
            return
        except OSError as e:
            raise IndexStoreError(
                f"cannot use {self.path} as an index directory ({e.strerror or e}): "
                "choose a folder you can write to"
            ) from e
        with lock_file as f:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


_FORMAT_1_FILES = frozenset(
    {
        MANIFEST,
        "documents.jsonl",
        "passages.jsonl",
        "vectors.faiss",
        "sentence_vectors.npy",
        "bm25",
    }
)
"""What an index of format 1 kept directly in its directory; the first save of format 2 there
replaces it."""
