"""Incremental indexing of files: unchanged files are skipped by content hash, changed ones
replace their passages, unreadable ones are reported and skipped."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from index.store import PassageIndex
from rag.errors import DocumentError, PathNotFoundError
from rag.ingest import discover_files, read_document
from rag.types import Document

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexReport:
    """What an indexing run did, file by file."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[DocumentError, ...] = field(default_factory=tuple)
    passages: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
        ]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        return ", ".join(parts) + f" ({self.passages} new passages)"


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def index_files(
    index: PassageIndex, paths: Iterable[str | Path], *, show_progress: bool = False
) -> IndexReport:
    """Add files and folders (recursively) to ``index``.

    Raises:
        PathNotFoundError: A path does not exist (nothing is indexed then).
    """
    files, skipped = discover_files(paths)
    skipped = list(skipped)
    added, updated, unchanged = [], [], []
    documents: list[Document] = []
    for path in tqdm(files, desc="Reading", unit="file", disable=not show_progress):
        source = str(path)
        known = index.document_by_source(source)
        try:
            if known is not None and known.content_hash == _hash_file(path):
                unchanged.append(source)
                continue
            documents.append(read_document(path))
        except DocumentError as e:
            logger.warning("skipped %s", e)
            skipped.append(e)
            continue
        except OSError as e:  # the file vanished or is unreadable between listing and reading
            err = DocumentError(path, f"cannot read: {e.strerror or e}")
            logger.warning("skipped %s", err)
            skipped.append(err)
            continue
        (updated if known is not None else added).append(source)
    passages = index.add(documents, show_progress=show_progress) if documents else []
    return IndexReport(
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
        passages=len(passages),
    )


def remove_files(index: PassageIndex, paths: Iterable[str | Path]) -> IndexReport:
    """Drop indexed documents by path; a folder drops every document under it.

    Raises:
        PathNotFoundError: A path matches no indexed document.
    """
    sources = {d.source for d in index.documents.values()}
    chosen: set[str] = set()
    for raw in paths:
        path = str(Path(raw).expanduser().resolve())
        matches = {s for s in sources if s == path or s.startswith(path.rstrip("/") + "/")}
        if not matches and str(raw) in sources:
            matches = {str(raw)}
        if not matches:
            raise PathNotFoundError(raw, "is not in the index (see `rag documents`)")
        chosen |= matches
    gone = index.remove(chosen)
    return IndexReport(removed=tuple(sorted(d.source for d in gone)))
