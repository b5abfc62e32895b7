"""A folder of hostile files next to good ones, built at test time (no binary blobs committed).

Each bad file is one case from docs/reliability.md: indexing the folder must skip it with one clear
line naming the file and the reason, and index every good file beside it. ``build`` returns what
each file should do, so tests (and a person poking at the folder) can check the outcome.
"""

from __future__ import annotations

import io
import os
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docx
from pypdf import PdfReader, PdfWriter

try:  # run as a module of the tests package, or from tests/rag with pytest's rootdir import
    from pdf_fixtures import blank_pdf, text_pdf
except ImportError:  # pragma: no cover
    from tests.rag.pdf_fixtures import blank_pdf, text_pdf

GOOD_SENTENCE = "The {name} file says that treaties on arms control need verification."


@dataclass(frozen=True)
class Case:
    """One file of the folder: its name (as shown in messages) and what indexing must do."""

    name: str
    reason: str | None
    """A phrase of the skip message; None for a file that must be indexed."""


def build(folder: Path, *, char_limit: int) -> list[Case]:
    """Write the hostile and the good files into ``folder``.

    Args:
        folder: Created if missing.
        char_limit: The per-document character limit in force (the test lowers it so the
            too-long file stays small); the too-long text is written just past it.

    Returns:
        One case per file written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def bad(name: str, data: bytes, reason: str) -> None:
        (folder / name).write_bytes(data)
        cases.append(Case(name, reason))

    def good(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        cases.append(Case(name, None))

    def sentence(name: str) -> str:
        return GOOD_SENTENCE.format(name=name)

    # Good files of every type, and hostile-looking ones that are fine.
    good("good.txt", sentence("plain text").encode())
    good("good.md", f"# Notes\n\n{sentence('markdown')}\n".encode())
    good("good.html", f"<html><body><p>{sentence('web page')}</p></body></html>".encode())
    good("good.pdf", text_pdf([[sentence("PDF")]], compress=True))
    good("good.docx", _docx(sentence("Word")))
    good("one-bad-byte.txt", f"Café and crème. {sentence('damaged')}".encode() + b"\xff")
    good("deep.html", b"<div>" * 40_000 + sentence("deeply nested").encode() + b"</div>" * 40_000)
    words = random.Random(7).choices(["treaty", "arms", "verification", "council"], k=25_000)
    good("one-long-line.txt", " ".join(words).encode())
    good("new\nline.txt", sentence("oddly named").encode())

    # Hostile ones.
    noise = random.Random(3).randbytes(20_000)
    bad("random-bytes.txt", noise, "binary")
    bad("empty.md", b"", "is empty")
    bad("only-markup.html", b"<html><script>x()</script></html>", "empty after cleaning")
    bad("damaged.pdf", b"%PDF-1.4\n" + noise[:2_000], "not a readable PDF")
    bad("scanned.pdf", blank_pdf(2), "no extractable text")
    bad("locked.pdf", _encrypted_pdf(), "encrypted")
    bad("flate-bomb.pdf", text_pdf([["A" * 12_000_000]], compress=True), "decompression bomb")
    bad("damaged.docx", b"PK\x03\x04" + noise[:2_000], "not a readable .docx")
    bad("zip-bomb.docx", _zip_bomb(), "zip bomb")
    bad("too-long.txt", ("word " * (char_limit // 5 + 10)).encode(), "characters of text")
    os.mkfifo(folder / "pipe.txt")
    cases.append(Case("pipe.txt", "not a regular file"))
    (folder / "dangling.md").symlink_to(folder / "gone.md")
    cases.append(Case("dangling.md", "broken link"))
    (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
    (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
    cases += [Case("loop-a.txt", "broken link"), Case("loop-b.txt", "broken link")]
    (folder / os.fsdecode(b"caf\xe9-latin1-name.txt")).write_text(sentence("misnamed"))
    cases.append(Case("caf\\xe9-latin1-name.txt", "not valid UTF-8"))
    return cases


def _docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["Secret plans."]]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """A .docx whose document part unpacks to 100 MB of zeros from about 100 KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"\0" * 2**20
            for _ in range(100):
                part.write(block)
    return buffer.getvalue()
