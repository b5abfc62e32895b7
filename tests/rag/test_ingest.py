from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import docx
import pypdf
import pytest
from pypdf import PdfReader, PdfWriter

from rag.errors import (
    DocumentError,
    PathNotFoundError,
    UnreadableDocumentError,
    UnsupportedFileError,
)
from rag.ingest import SUPPORTED_SUFFIXES, discover_files, document_from_text, read_document
from rag.types import content_id

try:  # tests/rag is on sys.path when it is not a package
    from pdf_fixtures import blank_pdf, text_pdf
except ImportError:  # pragma: no cover - tests laid out as packages
    from tests.rag.pdf_fixtures import blank_pdf, text_pdf

CORPUS_DIR = Path(__file__).parents[2] / "rag" / "data" / "corpus"
DEFAULT_CORPUS = CORPUS_DIR / "security-index-2008-lavrov-interview.txt"
PDF_PAGES = [
    ["Page one holds the start of a paragraph that", "runs over a line break and"],
    ["continues on page two. Then it ends.", "", "A second paragraph."],
]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --- discovery ---------------------------------------------------------------------------------


def test_discover_files_walks_folders_sorted(tmp_path: Path) -> None:
    for name in ("b.txt", "a.md", "sub/c.pdf", "sub/d.html", "z.png", ".hidden.txt", ".git/e.txt"):
        write(tmp_path / name, "x")
    files, errors = discover_files([tmp_path])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a.md",
        "b.txt",
        "sub/c.pdf",
        "sub/d.html",
    ]
    assert all(f.is_absolute() for f in files) and errors == []


def test_discover_files_named_files(tmp_path: Path) -> None:
    txt = write(tmp_path / "a.txt", "x")
    png = write(tmp_path / "b.png", "x")
    files, errors = discover_files([str(txt), png, tmp_path / "a.txt"])
    assert files == [txt.resolve()]
    assert len(errors) == 1 and isinstance(errors[0], UnsupportedFileError)
    assert ".png" in str(errors[0]) and all(s in str(errors[0]) for s in SUPPORTED_SUFFIXES)


def test_discover_files_missing_path(tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError, match="does not exist"):
        discover_files([tmp_path / "nope"])


# --- reading each file type --------------------------------------------------------------------


def test_read_default_corpus() -> None:
    doc = read_document(DEFAULT_CORPUS)
    assert doc.source == str(DEFAULT_CORPUS.resolve())
    assert doc.title == DEFAULT_CORPUS.name
    assert doc.content_hash == hashlib.sha256(DEFAULT_CORPUS.read_bytes()).hexdigest()
    assert doc.id == content_id(doc.source, doc.text)
    assert doc.page_count == 2
    assert doc.page_at(doc.text.index("Human Rights, with the Public Chamber")) == 2
    assert "$48* a year" in doc.text and "\\$" not in doc.text


def test_read_txt_and_markdown(tmp_path: Path) -> None:
    txt = read_document(write(tmp_path / "notes.txt", "\ufeffA *word* in\nplain text.\f Page two."))
    assert txt.text == "A word in plain text.\n\nPage two."
    assert txt.page_starts == (0, txt.text.index("Page two"))
    md = read_document(write(tmp_path / "readme.md", "# Title\n\nSome **bold** and \\_x\\_.\n"))
    assert md.text == "# Title\n\nSome bold and _x_."
    assert md.title == "readme.md"


def test_read_non_utf8_text_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    raw = "Café crème coûte 5 € — déjà vu, naïve façade, où est la gare?".encode("cp1252")
    path = write(tmp_path / "legacy.txt", raw)
    with caplog.at_level(logging.WARNING, logger="rag.ingest"):
        doc = read_document(path)
    assert "Café crème" in doc.text
    assert any(
        "not UTF-8" in r.getMessage() and "legacy.txt" in r.getMessage() for r in caplog.records
    )


def test_read_html(tmp_path: Path) -> None:
    html = """<html><head><title> My  Page </title><style>p {color: red}</style></head>
    <body><script>var hidden = "secret";</script><noscript>no js</noscript>
    <h1>Heading</h1><p>First
    paragraph with <b>bold</b> text.</p><div>Second<br>line</div>
    <ul><li>item one</li><li>item two</li></ul><!-- a comment -->
    <table><tr><td>cell A</td><td>cell B</td></tr></table></body></html>"""
    doc = read_document(write(tmp_path / "page.html", html))
    assert doc.title == "My Page"
    paragraphs = doc.text.split("\n\n")
    assert paragraphs == [
        "Heading",
        "First paragraph with bold text.",
        "Second",
        "line",
        "item one",
        "item two",
        "cell A",
        "cell B",
    ]
    assert "secret" not in doc.text and "color" not in doc.text and "comment" not in doc.text


def test_read_html_without_title(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "bare.htm", "<p>*kept* as is</p>"))
    assert doc.title == "bare.htm" and doc.text == "*kept* as is"


def test_read_pdf_keeps_pages(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "two.pdf", text_pdf(PDF_PAGES)))
    assert doc.page_count == 2
    assert "runs over a line break and continues on page two." in doc.text
    assert doc.page_at(doc.text.index("Page one")) == 1
    assert doc.page_at(doc.text.index("continues")) == 2
    assert doc.page_at(doc.text.index("A second paragraph")) == 2


def test_read_pdf_encrypted(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(PDF_PAGES))))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UnreadableDocumentError, match="is encrypted; decrypt it first"):
        read_document(write(tmp_path / "locked.pdf", buffer.getvalue()))


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_read_pdf_encrypted_with_empty_password(tmp_path: Path, algorithm: str) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(PDF_PAGES))))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = read_document(write(tmp_path / "permissions.pdf", buffer.getvalue()))
    assert doc.page_count == 2 and "A second paragraph." in doc.text


def test_read_pdf_encrypted_with_aes_and_a_password(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(PDF_PAGES))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UnreadableDocumentError, match="is encrypted; decrypt it first"):
        read_document(write(tmp_path / "locked-aes.pdf", buffer.getvalue()))


def test_read_pdf_damaged(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.pdf", b"%PDF-1.4\n\x00\x01garbage bytes\xff\xfe" * 20)
    with pytest.raises(UnreadableDocumentError) as info:
        read_document(path)
    assert info.value.__cause__ is not None
    truncated = write(tmp_path / "truncated.pdf", text_pdf(PDF_PAGES)[:200])
    with pytest.raises(UnreadableDocumentError):
        read_document(truncated)


def test_read_pdf_without_text(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocumentError, match="no extractable text .*OCR"):
        read_document(write(tmp_path / "scan.pdf", blank_pdf(2)))


def test_read_docx(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Report", level=1)
    document.add_paragraph("First paragraph.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "left cell"
    table.cell(0, 1).text = "right cell"
    document.add_paragraph("After the table.")
    path = tmp_path / "report.docx"
    document.save(str(path))
    doc = read_document(path)
    assert doc.text.split("\n\n") == [
        "Report",
        "First paragraph.",
        "left cell",
        "right cell",
        "After the table.",
    ]


def test_read_docx_damaged(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocumentError, match="docx"):
        read_document(write(tmp_path / "broken.docx", b"PK\x03\x04 not really a zip"))


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.pdf", "empty.docx", "e.html"])
def test_read_empty_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnreadableDocumentError, match="is empty"):
        read_document(write(tmp_path / name, b""))


def test_read_file_with_no_text_after_cleaning(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocumentError, match="is empty"):
        read_document(write(tmp_path / "rules.md", "---\n\n* * *\n"))


def test_read_unsupported_and_missing(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError, match="supported types"):
        read_document(write(tmp_path / "image.png", b"\x89PNG"))
    with pytest.raises(UnreadableDocumentError) as info:
        read_document(tmp_path / "missing.txt")
    assert isinstance(info.value, DocumentError) and isinstance(info.value.__cause__, OSError)


def test_document_from_text() -> None:
    doc = document_from_text("Some *text*\nhere.", "inline")
    assert doc.text == "Some text here."
    assert doc.title == "inline" and doc.source == "inline"
    assert doc.content_hash == hashlib.sha256(b"Some *text*\nhere.").hexdigest()
    assert doc.id == content_id("inline", "Some text here.")
    assert document_from_text("*x*", "s", "T", markdown=False).text == "*x*"
    with pytest.raises(UnreadableDocumentError, match="is empty"):
        document_from_text("  \n ", "blank")


def test_one_bad_byte_in_utf8_keeps_the_rest_utf8(tmp_path: Path) -> None:
    raw = "Café crème, déjà vu — naïve façade.".encode() + b"\xff" + " Où est la gare?".encode()
    doc = read_document(write(tmp_path / "mostly.txt", raw))
    assert "Café crème, déjà vu — naïve façade." in doc.text and "Où est la gare?" in doc.text
    assert doc.text.count("\ufffd") == 1


@pytest.mark.parametrize("name", ["random.txt", "random.md"])
def test_binary_bytes_named_text_are_refused(tmp_path: Path, name: str) -> None:
    import random

    rng = random.Random(7)
    with_nul = bytes(rng.randrange(256) for _ in range(4096))
    without_nul = bytes(b or 1 for b in with_nul)
    for data in (with_nul, without_nul):
        with pytest.raises(UnreadableDocumentError, match="binary"):
            read_document(write(tmp_path / name, data))


def test_pipes_broken_links_and_closed_folders_are_reported_not_hung_on(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("A good text about treaties.")
    os.mkfifo(folder / "pipe.txt")
    (folder / "dangling.md").symlink_to(tmp_path / "gone.md")
    closed = folder / "closed"
    closed.mkdir()
    (closed / "inside.txt").write_text("Unreachable.")
    closed.chmod(0)
    try:
        files, errors = discover_files([folder, folder / "pipe.txt"])
    finally:
        closed.chmod(0o755)
    root = os.geteuid() == 0  # root reads any folder
    assert [f.name for f in files] == (["good.txt", "inside.txt"] if root else ["good.txt"])
    reasons = sorted(str(e).rsplit(": ", 1)[-1] for e in errors)
    assert "a broken link" in reasons
    assert reasons.count("not a regular file (a pipe or device)") == 2  # walked and named
    if not root:
        assert any("cannot read" in r for r in reasons)


def test_a_pdf_whose_encryption_cannot_be_undone_is_skipped_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdf

    def missing_crypto(self: object, password: str) -> None:
        raise pypdf.errors.DependencyError("cryptography is required for AES algorithm")

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(PDF_PAGES))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    monkeypatch.setattr(pypdf.PdfReader, "decrypt", missing_crypto)
    with pytest.raises(UnreadableDocumentError, match="encrypted"):
        read_document(write(tmp_path / "aes.pdf", buffer.getvalue()))


def test_a_pdf_expanding_past_the_ratio_is_skipped_at_its_first_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.formats  # noqa: PLC0415 - patched below

    pages = [["treaty " * 2_000]] * 50  # compresses about 100x
    path = write(tmp_path / "expands.pdf", text_pdf(pages, compress=True))
    seen = 0
    extract = pypdf.PageObject.extract_text

    def counted(page: pypdf.PageObject, *args: object, **kwargs: object) -> str:
        nonlocal seen
        seen += 1
        return extract(page, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", counted)
    assert len(read_document(path).text) > 50 * path.stat().st_size // 4  # fine by default
    seen = 0
    monkeypatch.setattr(rag.formats, "MAX_EXPANSION", 4)
    with pytest.raises(UnreadableDocumentError, match="expands to over 4x its size"):
        read_document(path)
    assert seen < 10  # stopped early, not after reading all 50 pages


def test_a_file_over_the_size_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.formats

    monkeypatch.setattr(rag.formats, "MAX_FILE_BYTES", 1_000)
    with pytest.raises(UnreadableDocumentError, match=r"is 0.0 MB, over the 0.0 MB limit"):
        read_document(write(tmp_path / "big.txt", "treaty " * 200))
    assert read_document(write(tmp_path / "small.txt", "treaty " * 100)).text
