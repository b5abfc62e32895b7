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
    printable_path,
)
from rag.types import Document, content_id

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
_MARKDOWN_SUFFIXES = (".txt", ".md", ".markdown")
_COMPRESSED_SUFFIXES = (".pdf", ".docx")
NOT_A_FILE = "not a regular file (a pipe or device)"
NOT_UTF8_NAME = "the file name is not valid UTF-8 and cannot be cited; rename the file"

# Limits that keep one hostile or runaway file from taking the machine: reading stays linear in
# the file and memory bounded. A file past a limit is skipped with a message saying which.
MAX_FILE_BYTES = 256 * 2**20
"""Largest file read at all (PDFs with many images are the big legitimate ones)."""
MAX_DOCUMENT_CHARS = 10_000_000
"""Most characters of text per document, about 4,000 printed pages; split longer files."""
MAX_EXPANSION = 50
"""Most characters of text a compressed file (PDF, .docx) may yield per byte of file. Real files
stay far below (text streams compress about 3-10x); a decompression bomb goes far past it."""
MAX_DOCX_UNPACKED_BYTES = 64 * 2**20
"""A .docx may always unpack to this much; beyond it only to ``MAX_EXPANSION`` x its size."""
MAX_PDF_STREAM_BYTES = 8 * 2**20
"""A PDF stream may always decompress to this much; beyond it only to ``200 x`` the file's size."""

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
    reader = _READERS.get(suffix)
    if reader is None:
        raise _unsupported(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableDocumentError(
                path, f"is {size / 2**20:,.1f} MB, over the {MAX_FILE_BYTES / 2**20:,.1f} MB limit"
            )
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableDocumentError(path, f"cannot be read: {e.strerror or e}") from e
    if not data.strip():
        raise UnreadableDocumentError(path, "is empty; there is nothing to index")
    raw, title = reader(path, data)
    _check_length(path, len(raw), len(data))
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


def _check_length(path: Path, chars: int, size: int) -> None:
    """Refuse text past ``MAX_DOCUMENT_CHARS``, or expanded past ``MAX_EXPANSION`` x the file."""
    if chars > MAX_DOCUMENT_CHARS:
        raise UnreadableDocumentError(
            path,
            f"has more than {MAX_DOCUMENT_CHARS:,} characters of text, the limit per document; "
            "split it into smaller files",
        )
    if chars > MAX_EXPANSION * size and path.suffix.lower() in _COMPRESSED_SUFFIXES:
        raise UnreadableDocumentError(
            path,
            f"expands to over {MAX_EXPANSION}x its size in text ({chars:,} characters from "
            f"{size:,} bytes): a decompression bomb? Skipped",
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
    return _html_text(soup, bs4), title or None


def _html_text(soup: object, bs4: ModuleType) -> str:
    """The visible text, each block element set apart as a paragraph.

    One pass over the tree with an explicit stack: linear in the document and no recursion, so
    ``<div>`` nested 40,000 deep is read as fast as a flat page (inserting separators into the
    tree instead walked every nested block once per ancestor).
    """
    parts: list[str] = []
    block_end = object()
    stack: list[object] = [soup]
    while stack:
        node = stack.pop()
        if node is block_end:
            parts.append(PARAGRAPH_SEPARATOR)
        elif isinstance(node, bs4.Tag):
            if node.name in _HIDDEN_TAGS:
                continue
            if node.name in _BLOCK_TAGS:
                parts.append(PARAGRAPH_SEPARATOR)
                stack.append(block_end)
            stack.extend(reversed(node.contents))
        elif type(node) in (bs4.NavigableString, bs4.CData):  # not comments or doctypes
            parts.append(str(node))
    return "".join(parts)


def _read_pdf(path: Path, data: bytes) -> tuple[str, str | None]:
    pypdf = _import("pypdf", "pypdf", path)
    # DependencyError: an encryption the installed crypto library cannot undo (not a PyPdfError).
    errors = (pypdf.errors.PyPdfError, pypdf.errors.DependencyError, *_PDF_ERRORS)
    stream_limit = min(75_000_000, max(MAX_PDF_STREAM_BYTES, 200 * len(data)))
    limits = {
        name: stream_limit
        for name in (
            "zlib_maximum_output_length", "lzw_maximum_output_length",
            "run_length_maximum_output_length", "brotli_maximum_output_length",
            "array_based_stream_maximum_output_length", "stream_decoding_work_maximum_length",
        )
    }  # fmt: skip
    pages: list[str] = []
    try:
        with pypdf.apply_configuration(**limits):
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not _decrypt_with_empty_password(reader, errors):
                raise UnreadableDocumentError(path, "is encrypted; decrypt it first")
            chars = 0
            for page in reader.pages:
                # A form feed inside a page's text would shift every later page number.
                pages.append((page.extract_text() or "").replace(PAGE_BREAK, "\n"))
                chars += len(pages[-1])
                _check_length(path, chars, len(data))  # stop a bomb at its first big page
    except UnreadableDocumentError:
        raise
    except pypdf.errors.LimitReachedError as e:
        raise UnreadableDocumentError(
            path,
            f"a compressed stream expands past {stream_limit:,} bytes: a decompression "
            f"bomb? Skipped ({e})",
        ) from e
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
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # sizes a reader stops at
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max(MAX_DOCX_UNPACKED_BYTES, MAX_EXPANSION * len(data)):
            raise UnreadableDocumentError(
                path, f"unpacks to {unpacked:,} bytes from {len(data):,}: a zip bomb? Skipped"
            )
        document = docx.Document(io.BytesIO(data))
        texts = list(_docx_texts(document, docx))
    except UnreadableDocumentError:
        raise
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
