"""Hand-built PDFs for the ingestion tests: pypdf cannot lay out text, so we write the bytes."""

from __future__ import annotations

import zlib

FONT_SIZE = 12
PAGE_WIDTH, PAGE_HEIGHT = 612, 792
LEFT_MARGIN, TOP_LINE = 72, 720
LINE_HEIGHT = 16


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content_stream(lines: list[str]) -> bytes:
    ops = [f"BT /F1 {FONT_SIZE} Tf {LINE_HEIGHT} TL {LEFT_MARGIN} {TOP_LINE} Td"]
    ops += [f"({_escape(line)}) Tj T*" for line in lines]
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def text_pdf(pages: list[list[str]], *, compress: bool = False) -> bytes:
    """A valid PDF with one page per item of ``pages``, each a list of text lines (Latin-1).

    The cross-reference table records each object's exact byte offset, so strict readers accept it.
    ``compress`` stores the content streams Flate-compressed, as most real PDFs do.
    """
    page_count = len(pages)
    font_id = 3
    first_page_id = 4  # page i is object 4 + 2i, its content stream 5 + 2i
    kids = " ".join(f"{first_page_id + 2 * i} 0 R" for i in range(page_count))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        content_id = first_page_id + 2 * i + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
                f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        stream = _content_stream(lines)
        extra = b""
        if compress:
            stream, extra = zlib.compress(stream, 9), b" /Filter /FlateDecode"
        objects.append(
            b"<< /Length %d%s >>\nstream\n" % (len(stream), extra) + stream + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_offset,
    )
    return bytes(out)


def blank_pdf(page_count: int = 1) -> bytes:
    """A valid PDF whose pages hold no text, as a scanned document without OCR would."""
    return text_pdf([[] for _ in range(page_count)])
