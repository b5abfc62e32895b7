"""Where a quote stands in the user's files today: has the file changed since it was indexed, and
which lines of a text file hold the quote.

A document read from a file keeps its absolute path and the SHA-256 of the file's bytes. Before an
answer leaves, each cited file is checked: unchanged (same size and modification time as when last
hashed, or the same hash), changed, or gone. A quote from a changed or vanished file is flagged
(``Citation.stale``) and the answer carries a warning saying to re-index; it is never shown as
current. For ``.txt`` and ``.md`` files the quote is found again in the file's own text (words in
order, whatever whitespace or markdown lay between them) to give 1-based line numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.charset import decode_text
from rag.errors import RagError
from rag.render import terminal_safe
from rag.types import Answer, Citation, Document, Hit

logger = logging.getLogger(__name__)

FileState = Literal["current", "changed", "missing", "not-a-file"]
LINE_SUFFIXES = (".txt", ".md", ".markdown")
"""Sources whose citations carry line numbers: files whose lines a person reads."""

_LETTERS = re.compile(r"[^\W_]+")
_BETWEEN = r"[\W_]*"  # whitespace, punctuation or markdown that cleaning may have changed


@dataclass(frozen=True)
class _Seen:
    """A file as last looked at: its size and modification time, and what that meant."""

    size: int
    mtime_ns: int
    state: FileState
    text: str | None = None  # the decoded text of a current line-numbered file


class SourceCheck:
    """Checks cited files against the index; remembers each file by size and modification time,
    so a file is read again only when it changed on disk. Safe to share between threads."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], _Seen] = {}  # by (source, content hash indexed)
        self._lock = threading.Lock()

    def state(self, document: Document) -> FileState:
        """Whether ``document``'s file still holds what was indexed."""
        return self._look(document).state

    def annotate(self, answer: Answer, documents: dict[str, Document]) -> Answer:
        """``answer`` with line numbers on its citations, stale ones flagged and a warning per
        changed or vanished file.

        Args:
            answer: An answer whose citations were checked against the index.
            documents: The cited documents by source.
        """
        citations = []
        warnings = list(answer.warnings)
        for c in answer.citations:
            document = documents[c.source]
            seen = self._look(document)
            if seen.state in ("changed", "missing"):
                if (warning := stale_warning(document, seen.state)) not in warnings:
                    logger.warning(warning)
                    warnings.append(warning)
                citations.append(dataclasses.replace(c, stale=True))
                continue
            lines = _lines(seen.text, document, c) if seen.text is not None else None
            if lines is not None:
                c = dataclasses.replace(c, line_start=lines[0], line_end=lines[1])
            citations.append(c)
        return dataclasses.replace(answer, citations=tuple(citations), warnings=tuple(warnings))

    def stale_hits(self, hits: list[Hit], documents: dict[str, Document]) -> list[str]:
        """A warning per changed or vanished file among the hits' sources."""
        warnings = []
        for source in dict.fromkeys(h.passage.source for h in hits):
            if source not in documents:
                continue
            state = self.state(documents[source])
            if state in ("changed", "missing"):
                warnings.append(stale_warning(documents[source], state))
                logger.warning(warnings[-1])
        return warnings

    def _look(self, document: Document) -> _Seen:
        if not os.path.isabs(document.source) or not document.content_hash:
            return _Seen(-1, -1, "not-a-file")  # indexed from text, not from a file
        path = Path(document.source)
        try:
            stat = path.stat()
        except OSError:
            return _Seen(-1, -1, "missing")
        with self._lock:
            seen = self._seen.get((document.source, document.content_hash))
        if seen is not None and (seen.size, seen.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return seen
        try:
            data = path.read_bytes()
        except OSError:
            return _Seen(-1, -1, "missing")
        current = hashlib.sha256(data).hexdigest() == document.content_hash
        text = None
        if current and path.suffix.lower() in LINE_SUFFIXES:
            try:
                text = decode_text(path, data)
            except RagError:
                text = None
        seen = _Seen(stat.st_size, stat.st_mtime_ns, "current" if current else "changed", text)
        with self._lock:
            self._seen[document.source, document.content_hash] = seen
        return seen


def stale_warning(document: Document, state: FileState) -> str:
    name = terminal_safe(document.source)
    if state == "missing":
        return (
            f"{name} is gone since it was indexed (moved or deleted): its quotes are from the "
            f"indexed copy; run `rag remove {name}` or index it where it is now"
        )
    return (
        f"{name} changed since it was indexed: its quotes are from the indexed version, not the "
        f"file as it is now; run `rag index {name}` to refresh"
    )


def _lines(original: str, document: Document, citation: Citation) -> tuple[int, int] | None:
    """The 1-based first and last line of the file's own text holding the quote, or None."""
    words = _LETTERS.findall(citation.quote)
    if not words:
        return None
    pattern = re.compile(_BETWEEN.join(re.escape(w) for w in words))
    # Where the quote should be, scaled from the cleaned text: picks among repeated quotes.
    expected = citation.start * len(original) / max(1, len(document.text))
    match = min(pattern.finditer(original), key=lambda m: abs(m.start() - expected), default=None)
    if match is None:
        return None
    first = original.count("\n", 0, match.start()) + 1
    return first, first + original.count("\n", match.start(), match.end())
