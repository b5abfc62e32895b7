"""File formats: the reader of each supported type, and the limits every reader keeps.

Each reader turns a file's bytes into raw text (pages separated by form feeds) and a title;
``rag.ingest`` then cleans it, so every type gets the same cleaning. Reading stays linear in the
file and memory bounded: a file past a limit is refused with a message saying which. The heavy
parsers (pypdf, python-docx, BeautifulSoup) are imported inside their readers.
"""

from __future__ import annotations

import importlib
import io
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from rag.charset import decode_text
from rag.clean import PAGE_BREAK, PARAGRAPH_SEPARATOR
from rag.errors import UnreadableDocumentError

COMPRESSED_SUFFIXES = (".pdf", ".docx")

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


def check_length(path: Path, chars: int, size: int) -> None:
    """Refuse text past ``MAX_DOCUMENT_CHARS``, or expanded past ``MAX_EXPANSION`` x the file."""
    if chars > MAX_DOCUMENT_CHARS:
        raise UnreadableDocumentError(
            path,
            f"has more than {MAX_DOCUMENT_CHARS:,} characters of text, the limit per document; "
            "split it into smaller files",
        )
    if chars > MAX_EXPANSION * size and path.suffix.lower() in COMPRESSED_SUFFIXES:
        raise UnreadableDocumentError(
            path,
            f"expands to over {MAX_EXPANSION}x its size in text ({chars:,} characters from "
            f"{size:,} bytes): a decompression bomb? Skipped",
        )


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
                check_length(path, chars, len(data))  # stop a bomb at its first big page
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


READERS: dict[str, Callable[[Path, bytes], tuple[str, str | None]]] = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".markdown": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
