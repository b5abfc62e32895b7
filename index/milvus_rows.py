"""The rows of a Milvus index (``index.milvus_schema`` names its collections): how documents and
passages become rows and back, and which rows a save shows (``View``).

Rows are versioned: each carries ``added_in``, the save that wrote it, and its primary key ends
in ``@<save>`` (``row_key``), so a save never overwrites a row another save's readers use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.milvus_schema import PART_CHARS, UNUSED_DIM
from index.records import Document, Passage


@dataclass(frozen=True)
class View:
    """Which rows one save shows: those written by saves ``epoch`` … ``saves``, less the rows
    of documents retired since they were written (``retired``: retiring save -> document ids).
    ``epoch`` is the save that last replaced the whole index."""

    saves: int = 0
    epoch: int = 0
    retired: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def versions(self) -> str:
        """The filter of rows this save shows, for rows without a document (term counts)."""
        return f"added_in >= {self.epoch} and added_in <= {self.saves}"

    def live(self) -> str:
        """The filter of rows this save shows."""
        expr = self.versions()
        for save, ids in sorted(self.retired.items()):
            expr += f" and not (added_in < {save} and doc_id in {quoted(ids)})"
        return expr


def quoted(values: Iterable[str]) -> str:
    """A list of strings as a Milvus filter literal."""
    return json.dumps(list(values), ensure_ascii=False)


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document without its text (read for every live document at load)."""

    id: str
    source: str
    title: str
    page_starts: tuple[int, ...]
    content_hash: str
    seq: int
    passages: int


@dataclass
class Pending:
    """Changes not saved yet: documents to add (with everything the store keeps for them) and
    documents to retire."""

    fresh: bool = False
    documents: dict[str, Document] = field(default_factory=dict)
    rows: dict[str, list[tuple[Passage, np.ndarray, np.ndarray, tuple[str, ...]]]] = field(
        default_factory=dict
    )
    retired: dict[str, DocumentInfo] = field(default_factory=dict)


def row_key(name: str, save: int, part: int | None = None) -> str:
    """A row's primary key: what it is, the save that wrote it, and its part."""
    return f"{name}@{save}" if part is None else f"{name}@{save}:{part}"


# ----------------------------------------------------------------------- rows
PASSAGE_FIELDS = ["passage_id", "doc_id", "source", "title", "text", "start", "end", "page",
                  "sentences"]  # fmt: skip
DOCUMENT_FIELDS = ["doc_id", "part", "parts", "seq", "source", "title", "content_hash",
                   "passages", "page_starts"]  # fmt: skip


def passage_row(
    p: Passage, *, added_in: int, vector: Any, bm25: dict[int, float], length: int
) -> dict[str, Any]:
    return {
        "id": row_key(p.id, added_in),
        "added_in": added_in,
        "passage_id": p.id,
        "doc_id": p.doc_id,
        "source": p.source,
        "title": p.title,
        "text": p.text,
        "start": p.start,
        "end": p.end,
        "page": p.page,
        "length": length,
        "sentences": [list(s) for s in p.sentences],
        "vector": vector,
        "bm25": bm25,
    }


def passage_from_row(row: dict[str, Any]) -> Passage:
    return Passage(
        id=row["passage_id"],
        doc_id=row["doc_id"],
        source=row["source"],
        title=row["title"],
        text=row["text"],
        start=int(row["start"]),
        end=int(row["end"]),
        page=int(row["page"]),
        sentences=tuple((int(s), int(e)) for s, e in row["sentences"]),
    )


def document_rows(doc: Document, *, added_in: int, seq: int, passages: int) -> list[dict[str, Any]]:
    """A document as rows of at most ``PART_CHARS`` characters; each row keeps the page starts
    that fall in its characters."""
    parts = max(1, -(-len(doc.text) // PART_CHARS))
    rows = []
    for part in range(parts):
        lo = part * PART_CHARS
        hi = (part + 1) * PART_CHARS if part < parts - 1 else len(doc.text) + 1
        rows.append(
            {
                "id": row_key(doc.id, added_in, part),
                "added_in": added_in,
                "doc_id": doc.id,
                "part": part,
                "parts": parts,
                "seq": seq,
                "source": doc.source,
                "title": doc.title,
                "content_hash": doc.content_hash,
                "passages": passages,
                "page_starts": [s for s in doc.page_starts if lo <= s < hi],
                "text": doc.text[lo:hi],
                "unused": [0.0] * UNUSED_DIM,
            }
        )
    return rows


def scan(client: Any, collection: str, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
    """Every row matching ``expr``, in batches (a plain query returns at most 16,384)."""
    iterator = client.query_iterator(collection, batch_size=1000, filter=expr, output_fields=fields)
    try:
        while True:
            with client.errors():
                batch = iterator.next()
            if not batch:
                return
            yield from batch
    finally:
        iterator.close()
