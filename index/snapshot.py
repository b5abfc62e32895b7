"""One snapshot of a ``PassageIndex`` as files (no pickle anywhere)::

    manifest.json          model, dimension, metric, index type, settings, versions, checksums
    documents.jsonl        one cleaned document a line (the text citations point into)
    passages.jsonl         one passage a line: offsets, page, sentence offsets, text
    terms.jsonl            the BM25 terms of each passage, a JSON list a line, passages' order
    vectors.faiss          passage vectors (FAISS, inner product)
    sentence_vectors.npy   one float16 row per sentence, passages' sentences in order
    bm25/                  bm25s arrays and vocabulary
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from index.bm25 import BM25Index
from index.config import IndexConfig
from index.contract import SENTENCE_DTYPE, ModelIdentity
from index.errors import IndexCorruptError
from index.manifest import Manifest, file_sha256
from index.passages import PassageIndex
from index.records import Document, Passage
from index.vectors import VectorIndex

DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
TERMS = "terms.jsonl"
VECTORS = "vectors.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
BM25_DIR = "bm25"


def write_snapshot(index: PassageIndex, directory: Path) -> None:
    """Write every file of ``index`` into the (empty) ``directory``, each synced to disk."""
    _write_lines(directory / DOCUMENTS, (asdict(d) for d in index.documents()))
    _write_lines(directory / PASSAGES, (asdict(p) for p in index.passages()))
    _write_lines(directory / TERMS, (list(t) for t in index.terms()))
    index.vectors.save(directory / VECTORS)
    np.save(
        directory / SENTENCE_VECTORS,
        index.sentence_matrix().astype(SENTENCE_DTYPE, copy=False),
        allow_pickle=False,
    )
    index.bm25.save(directory / BM25_DIR)
    files = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    for name in files:
        fsync(directory / name)
    Manifest(
        model_name=index.identity.name,
        model_sha256=index.identity.sha256,
        dimension=index.identity.dimension,
        index_type=index.vectors.index_type,
        passages=len(index),
        documents=len(index.documents()),
        settings=index.settings,
        index=asdict(index.config),
        files={name: file_sha256(directory / name) for name in files},
    ).write(directory)
    fsync(directory / "manifest.json")


def read_snapshot(
    directory: Path,
    running: ModelIdentity,
    *,
    config: IndexConfig | None = None,
    verify: bool = True,
) -> PassageIndex:
    """Read a snapshot, checking it against the running embedding model.

    Raises:
        IndexMismatchError: Built with another model or format.
        IndexCorruptError: A file is missing or damaged.
    """
    manifest = Manifest.read(directory)
    manifest.check_model(running, directory)
    if verify:
        manifest.check_files(directory)
    try:
        index = _read_parts(directory, manifest, config or IndexConfig(**manifest.index))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexCorruptError(f"{directory} is damaged ({e}); rebuild it") from e
    sizes = {
        "passages": len(index),
        "manifest passages": manifest.passages,
        "vectors": index.vectors.size,
        "terms": _count_lines(directory / TERMS),
        "bm25 documents": index.bm25.n_docs,
    }
    sentences = sum(len(p.sentences) for p in index.passages())
    if (
        len(set(sizes.values())) != 1
        or sentences != len(index.sentence_matrix())
        or len(index.documents()) != manifest.documents
    ):
        raise IndexCorruptError(f"{directory} is damaged: its files disagree on sizes; rebuild it")
    return index


def _read_parts(directory: Path, manifest: Manifest, config: IndexConfig) -> PassageIndex:
    documents = []
    for data in _read_lines(directory / DOCUMENTS):
        data["page_starts"] = tuple(data["page_starts"])
        documents.append(Document(**data))
    passages = []
    for data in _read_lines(directory / PASSAGES):
        data["sentences"] = tuple(map(tuple, data["sentences"]))
        passages.append(Passage(**data))
    # Read when asked for: the sentence vectors of the passages a question reads (a memory map:
    # a reader never holds all of them), the terms only by a writer rebuilding BM25. The open
    # file and the map outlive the snapshot's deletion by a later save.
    sentence_vectors = np.load(directory / SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False)
    terms_file = (directory / TERMS).open("rb")
    return PassageIndex.restore(
        manifest.identity,
        manifest.settings,
        config,
        documents=documents,
        passages=passages,
        terms=lambda: _read_terms(terms_file),
        vectors=VectorIndex.load(directory / VECTORS, manifest.index_type, config),  # type: ignore[arg-type]
        sentence_vectors=sentence_vectors,
        bm25=BM25Index.load(directory / BM25_DIR),
    )


def _write_lines(path: Path, rows: Iterable[object]) -> None:
    with path.open("wb") as f:
        for row in rows:
            f.write(orjson.dumps(row) + b"\n")


def _read_lines(path: Path) -> list[Any]:
    with path.open("rb") as f:
        return [orjson.loads(line) for line in f]


def _read_terms(file: BinaryIO) -> list[tuple[str, ...]]:
    with file:
        file.seek(0)
        return [tuple(orjson.loads(line)) for line in file]


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def fsync(path: Path) -> None:
    """Make ``path`` (a file or a directory) durable, so a power cut cannot undo a save."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
