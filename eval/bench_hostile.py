"""Small files that once cost minutes or gigabytes: time to read and chunk each, and peak memory.

Usage: ``python -m eval.bench_hostile`` (figures in docs/reliability.md). Each case runs in a
fresh process so the peak memory is its own.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = ("nested-40000-divs.html", "flate-bomb-60kb.pdf", "one-line-5mb.txt")


def write_case(name: str, folder: Path) -> Path:
    path = folder / name
    if name.endswith(".html"):
        text = "<div>" * 40_000 + "Deep text." + "</div>" * 40_000
        path.write_text(text)
    elif name.endswith(".pdf"):
        path.write_bytes(_flate_bomb_pdf(60_000_000))
    else:
        words = random.Random(1).choices(["alpha", "beta", "gamma", "delta", "epsilon"], k=900_000)
        path.write_text(" ".join(words)[:5_000_000])
    return path


def _flate_bomb_pdf(chars: int) -> bytes:
    """One page whose content stream is ``chars`` characters of text, Flate-compressed."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 712 Td (" + b"A" * chars + b") Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    page.compress_content_streams(level=9)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def measure(path: Path) -> dict[str, object]:
    """Read and chunk one file in this process (tiktoken caps only; no model)."""
    import resource

    from rag.chunk import Chunker
    from rag.errors import RagError
    from rag.ingest import read_document

    started = time.perf_counter()
    try:
        document = read_document(path)
    except RagError as e:
        outcome, passages = f"skipped: {str(e).split(': ', 1)[1][:70]}", 0
    else:
        passages = len(Chunker().chunk(document))
        outcome = f"{len(document.text):,} characters"
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"outcome": outcome, "passages": passages, "seconds": seconds, "peak_mb": peak_mb}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one file
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(Path(args.one))))
        return 0
    print(f"{'file':<24} {'size':>9} {'seconds':>8} {'peak MB':>8} {'passages':>9}  outcome")
    with tempfile.TemporaryDirectory() as folder:
        for name in CASES:
            path = write_case(name, Path(folder))
            done = subprocess.run(
                [sys.executable, "-m", "eval.bench_hostile", "--one", str(path)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(done.stdout)
            size = f"{path.stat().st_size / 1e6:.2f} MB"
            print(
                f"{name:<24} {size:>9} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f} "
                f"{r['passages']:>9}  {r['outcome']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
