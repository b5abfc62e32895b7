"""Ingestion: find files and read them into cleaned ``Document`` objects.

Each supported file type has a small reader returning raw text (pages separated by form feeds) that
``rag.clean.clean_text`` then cleans, so every type gets the same cleaning. The heavy parsers
(pypdf, python-docx, BeautifulSoup) are imported inside their readers.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from rag.charset import decode_text
from rag.clean import PAGE_BREAK, PARAGRAPH_SEPARATOR, clean_text
from rag.errors import (
    DocumentError,
    PathNotFoundError,
    UnreadableDocumentError,
    UnsupportedFileError,
)
from rag.types import Document, content_id

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
_MARKDOWN_SUFFIXES = (".txt", ".md", ".markdown")
NOT_A_FILE = "not a regular file (a pipe or device)"

# Tags whose text is never shown to a reader.
_HIDDEN_TAGS = ("script", "style", "noscript", "template", "head")
_BLOCK_TAGS = (
    "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br",
    "section", "article", "pre", "blockquote", "td",
)  # fmt: skip

# What pypdf lets escape on a damaged file: its own errors and the plain ones its parser hits.
_PDF_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError,
    RecursionError, OSError, zlib.error,
)  # fmt: skip


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
    reader = _READERS.get(suffix)
    if reader is None:
        raise _unsupported(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableDocumentError(path, f"cannot be read: {e.strerror or e}") from e
    if not data.strip():
        raise UnreadableDocumentError(path, "is empty; there is nothing to index")
    raw, title = reader(path, data)
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
            if path.is_file():
                files.append(path.resolve())
            elif path.is_symlink() and not path.exists():
                errors.append(UnreadableDocumentError(path, "a broken link"))
            else:
                errors.append(UnreadableDocumentError(path, NOT_A_FILE))
    return files, errors


def _import(module: str, package: str, path: Path) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise UnreadableDocumentError(
            path, f"reading {path.suffix} files needs {package}: pip install {package}"
        ) from e


def _read_plain(path: Path, data: bytes) -> tuple[str, str | None]:
    return decode_text(path, data), None


def _read_html(path: Path, data: bytes) -> tuple[str, str | None]:
    bs4 = _import("bs4", "beautifulsoup4", path)
    _import("lxml", "lxml", path)
    soup = bs4.BeautifulSoup(data, "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup.find_all(_HIDDEN_TAGS):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, bs4.Comment)):
        comment.extract()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before(PARAGRAPH_SEPARATOR)
        tag.insert_after(PARAGRAPH_SEPARATOR)
    return soup.get_text(), title or None


def _read_pdf(path: Path, data: bytes) -> tuple[str, str | None]:
    pypdf = _import("pypdf", "pypdf", path)
    # DependencyError: an encryption the installed crypto library cannot undo (not a PyPdfError).
    errors = (pypdf.errors.PyPdfError, pypdf.errors.DependencyError, *_PDF_ERRORS)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypt_with_empty_password(reader, errors):
            raise UnreadableDocumentError(path, "is encrypted; decrypt it first")
        # A form feed inside a page's text would shift every later page number.
        pages = [(page.extract_text() or "").replace(PAGE_BREAK, "\n") for page in reader.pages]
    except UnreadableDocumentError:
        raise
    except errors as e:
        raise UnreadableDocumentError(path, f"is not a readable PDF (damaged?): {e}") from e
    if not any(page.strip() for page in pages):
        raise UnreadableDocumentError(path, "has no extractable text (scanned?); run OCR first")
    return PAGE_BREAK.join(pages), None


def _decrypt_with_empty_password(reader: object, errors: tuple[type[BaseException], ...]) -> bool:
    """Many PDFs are encrypted only to set permissions and open with an empty password."""
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except errors:
        return False


def _read_docx(path: Path, data: bytes) -> tuple[str, str | None]:
    docx = _import("docx", "python-docx", path)
    lxml_etree = _import("lxml.etree", "lxml", path)
    try:
        document = docx.Document(io.BytesIO(data))
        texts = list(_docx_texts(document, docx))
    except (
        docx.opc.exceptions.PackageNotFoundError,
        zipfile.BadZipFile,
        lxml_etree.XMLSyntaxError,
        KeyError,
        ValueError,
    ) as e:
        raise UnreadableDocumentError(path, f"is not a readable .docx file (damaged?): {e}") from e
    return PARAGRAPH_SEPARATOR.join(texts), None


def _docx_texts(document: object, docx: ModuleType) -> Iterable[str]:
    """Paragraph and table cell texts in document order; a merged cell is read once."""
    for block in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(block, docx.table.Table):
            seen: set[int] = set()
            for row in block.rows:
                for cell in row.cells:
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        yield cell.text
        else:
            yield block.text


_READERS: dict[str, Callable[[Path, bytes], tuple[str, str | None]]] = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".markdown": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
