"""Uploaded files: check type and size, and copy them into the upload folder under a safe name.

The stored name can never leave the folder: directories, ``..``, control and odd characters are
stripped, and the final path is checked to lie inside the folder. Re-uploading a file of the same
name replaces it (the index then updates that document); ``StoredUpload.rollback`` puts the earlier
version back when the new one cannot be indexed, so a failed upload leaves everything as it was.
Nothing uploaded is ever deleted: a replaced version moves to ``.earlier-versions/`` and a removed
document's file to ``.removed/`` (hidden folders, which indexing skips), each with a time stamp.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from gradio.utils import get_upload_folder

from rag.errors import RagError
from rag.ingest import SUPPORTED_SUFFIXES

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Per-file cap: far above any text a reader quotes from, low enough to keep indexing responsive."""

MAX_NAME_CHARS = 120
UPLOAD_FOLDER = "uploads"
_ODD = re.compile(r"[^\w.\- ]+")
_BACKUP_PREFIX = ".replaced-"
EARLIER_VERSIONS = ".earlier-versions"
REMOVED = ".removed"


class UploadRejectedError(RagError):
    """A file the chat will not accept (type, size, or unreadable); the message says why."""


def upload_dir_for(index_dir: Path) -> Path:
    """The folder uploads go to: inside the index directory (saves leave it alone), so two
    indexes never share one and the index travels with the files it quotes."""
    return index_dir / UPLOAD_FOLDER


def safe_filename(name: str) -> str:
    """A file name that is safe to create inside the upload folder.

    Keeps letters, digits, ``.``, ``-``, ``_`` and spaces of the last path component (``/`` and
    ``\\`` both count as separators); collapses runs of dots so no ``..`` survives; drops leading
    dots so nothing is hidden. Returns ``"upload"`` plus the suffix when nothing usable is left.
    """
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _ODD.sub("_", base)
    base = re.sub(r"\.{2,}", ".", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix.lower()
    stem = stem.strip(" ._") or "upload"
    room = MAX_NAME_CHARS - len(suffix) - 1
    return f"{stem[:room].rstrip(' .')}.{suffix}" if suffix else stem[:MAX_NAME_CHARS]


def check_upload(path: Path, name: str) -> None:
    """Raise ``UploadRejectedError`` with a helpful message if the file cannot be accepted."""
    suffix = Path(safe_filename(name)).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        raise UploadRejectedError(
            f"{name}: {suffix or 'files without an extension'} cannot be indexed; upload {kinds}"
        )
    try:
        size = path.stat().st_size
    except OSError as e:
        raise UploadRejectedError(f"{name}: the upload could not be read ({e.strerror})") from e
    if size > MAX_UPLOAD_BYTES:
        raise UploadRejectedError(
            f"{name}: {size / 2**20:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB limit; "
            "split the file or index it with `rag index`"
        )
    if size == 0:
        raise UploadRejectedError(f"{name}: the file is empty")


@dataclass(frozen=True)
class StoredUpload:
    """A file copied into the upload folder, with the version it replaced (if any)."""

    path: Path
    backup: Path | None

    @property
    def replaced(self) -> bool:
        return self.backup is not None

    def commit(self) -> Path | None:
        """The new version was indexed: keep the old one in ``.earlier-versions/`` (unless it
        was the same bytes) and return where it went."""
        if self.backup is None:
            return None
        if self.backup.read_bytes() == self.path.read_bytes():
            self.backup.unlink()
            return None
        return _set_aside(self.backup, self.path.name, self.path.parent / EARLIER_VERSIONS)

    def rollback(self) -> None:
        """The new version could not be indexed: restore the old one, or remove the new file."""
        if self.backup is not None:
            os.replace(self.backup, self.path)
        else:
            self.path.unlink(missing_ok=True)


def store_upload(source: Path, name: str, folder: Path) -> StoredUpload:
    """Check ``source`` and copy it to ``folder`` under ``safe_filename(name)``.

    Raises:
        UploadRejectedError: Wrong type, too large, empty, or the copy failed.
    """
    check_upload(source, name)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    target = (root / safe_filename(name)).resolve()
    if target.parent != root:  # unreachable after safe_filename; kept as the last line of defence
        raise UploadRejectedError(f"{name}: not a usable file name")
    backup = None
    try:
        if target.exists():
            backup = target.with_name(_BACKUP_PREFIX + target.name)
            os.replace(target, backup)
        shutil.copyfile(source, target)
    except OSError as e:
        if backup is not None and backup.exists():
            os.replace(backup, target)
        raise UploadRejectedError(f"{name}: could not be saved ({e.strerror or e})") from e
    return StoredUpload(target, backup)


def set_aside_removed(path: Path) -> Path:
    """Move an uploaded file whose document was removed into ``.removed/``; return where."""
    return _set_aside(path, path.name, path.parent / REMOVED)


def _set_aside(path: Path, name: str, folder: Path) -> Path:
    """Move ``path`` into ``folder`` as ``name`` with a time stamp, never over another file."""
    folder.mkdir(exist_ok=True)
    stem, suffix = os.path.splitext(name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        target = folder / f"{stem}.{stamp}{f'-{n}' if n > 1 else ''}{suffix}"
        try:
            os.link(path, target)  # fails if the name is taken, so nothing is overwritten
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links
            if target.exists():
                continue
            os.replace(path, target)
            return target
        path.unlink()
        return target
    raise AssertionError("unreachable")


def discard_gradio_copy(path: Path) -> None:
    """Delete Gradio's temporary copy of an upload (and its folder, when empty): the upload
    folder holds the file now, and the copy would stay downloadable from the server."""
    cache = Path(get_upload_folder()).resolve()
    path = path.resolve()
    if cache not in path.parents:
        return
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
