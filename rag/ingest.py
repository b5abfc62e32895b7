"""Ingestion: find files and read them into cleaned ``Document`` objects.

Each supported file type has a reader in ``rag.formats`` returning raw text (pages separated by
form feeds) that ``rag.clean.clean_text`` then cleans, so every type gets the same cleaning; the
size, expansion and character limits live there too.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from rag import formats
from rag.clean import clean_text
from rag.errors import (
    DocumentError,
    PathNotFoundError,
    UnreadableDocumentError,
    UnsupportedFileError,
    printable_path,
)
from rag.types import Document, content_id

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
_MARKDOWN_SUFFIXES = (".txt", ".md", ".markdown")
NOT_A_FILE = "not a regular file (a pipe or device)"
NOT_UTF8_NAME = "the file name is not valid UTF-8 and cannot be cited; rename the file"


def discover_files(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[Path], list[DocumentError]]:
    """Expand files and folders into the files to index.

    Folders are walked recursively in sorted order, skipping hidden files and folders and silently
    ignoring unsupported file types. Each file appears once.

    Args:
        paths: Files and folders.

    Returns:
        The resolved file paths, and one error per explicitly named file whose type is not
        supported, and per file or folder that cannot be read (broken links, pipes, folders
        without permission).

    Raises:
        PathNotFoundError: A path does not exist.
    """
    if isinstance(paths, (str, os.PathLike)):  # one path, not an iterable of its characters
        paths = [paths]
    found: list[Path] = []
    errors: list[DocumentError] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise PathNotFoundError(path, "does not exist; check the path")
        if path.is_dir():
            walked, unreadable = _walk(path)
            found.extend(walked)
            errors.extend(unreadable)
        elif not _is_supported(path):
            errors.append(_unsupported(path))
        elif not path.is_file():  # a named pipe would block the read forever
            errors.append(UnreadableDocumentError(path, NOT_A_FILE))
        elif printable_path(path) != str(path):
            errors.append(UnreadableDocumentError(path, NOT_UTF8_NAME))
        else:
            found.append(path.resolve())
    return list(dict.fromkeys(found)), errors


def read_document(path: Path) -> Document:
    """Read one file into a cleaned document.

    Args:
        path: A ``.txt``, ``.md``, ``.markdown``, ``.html``, ``.htm``, ``.pdf`` or ``.docx`` file.

    Returns:
        The document; ``source`` is the resolved path and ``content_hash`` the SHA-256 of its bytes.

    Raises:
        UnsupportedFileError: The file type is not supported.
        UnreadableDocumentError: The file cannot be read, is damaged, encrypted, empty or has no
            extractable text.
    """
    path = Path(path).expanduser().resolve()
    suffix = path.suffix.lower()
    reader = formats.READERS.get(suffix)
    if reader is None:
        raise _unsupported(path)
    try:
        size = path.stat().st_size
        if size > formats.MAX_FILE_BYTES:
            raise UnreadableDocumentError(
                path,
                f"is {size / 2**20:,.1f} MB, over the "
                f"{formats.MAX_FILE_BYTES / 2**20:,.1f} MB limit",
            )
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableDocumentError(path, f"cannot be read: {e.strerror or e}") from e
    if not data.strip():
        raise UnreadableDocumentError(path, "is empty; there is nothing to index")
    raw, title = reader(path, data)
    formats.check_length(path, len(raw), len(data))
    cleaned = clean_text(raw, markdown=suffix in _MARKDOWN_SUFFIXES)
    if not cleaned.text:
        raise UnreadableDocumentError(path, "is empty after cleaning; there is nothing to index")
    source = str(path)
    return Document(
        id=content_id(source, cleaned.text),
        source=source,
        title=title or path.name,
        text=cleaned.text,
        page_starts=cleaned.page_starts,
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def document_from_text(
    text: str, source: str, title: str | None = None, *, markdown: bool = True
) -> Document:
    """Build a document from a string, cleaned as a file's text would be.

    Args:
        text: The raw text; form feeds separate pages.
        source: A name for where the text came from.
        title: The title to show; defaults to ``source``.
        markdown: Strip markdown emphasis and escapes.

    Returns:
        The document; ``content_hash`` is the SHA-256 of the UTF-8 text.

    Raises:
        UnreadableDocumentError: The text is empty after cleaning.
    """
    cleaned = clean_text(text, markdown=markdown)
    if not cleaned.text:
        raise UnreadableDocumentError(source, "is empty; there is nothing to index")
    return Document(
        id=content_id(source, cleaned.text),
        source=source,
        title=title or source,
        text=cleaned.text,
        page_starts=cleaned.page_starts,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _unsupported(path: Path) -> UnsupportedFileError:
    kind = path.suffix or "(no suffix)"
    supported = ", ".join(SUPPORTED_SUFFIXES)
    return UnsupportedFileError(path, f"unsupported file type {kind}; supported types: {supported}")


def _walk(folder: Path) -> tuple[list[Path], list[DocumentError]]:
    """Supported, non-hidden files under a folder, sorted, resolved; and the folders and links
    that could not be read (reported, so ``--strict`` can catch them)."""
    files: list[Path] = []
    errors: list[DocumentError] = []

    def unreadable(error: OSError) -> None:
        errors.append(UnreadableDocumentError(error.filename, f"cannot read: {error.strerror}"))

    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root, name)
            if name.startswith(".") or not _is_supported(path):
                continue
            if printable_path(path) != str(path):
                errors.append(UnreadableDocumentError(path, NOT_UTF8_NAME))
            elif path.is_file():
                files.append(path.resolve())
            elif path.is_symlink() and not path.exists():
                errors.append(UnreadableDocumentError(path, "a broken link"))
            else:
                errors.append(UnreadableDocumentError(path, NOT_A_FILE))
    return files, errors
