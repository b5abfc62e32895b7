"""The passage index: documents, passages, their vectors and BM25, saved as one directory.

Layout (no pickle anywhere)::

    manifest.json          model, dimension, metric, index type, settings, versions, checksums
    documents.jsonl        one cleaned document a line (the text citations point into)
    passages.jsonl         one passage a line: offsets, page, sentence offsets, text
    vectors.faiss          passage vectors (FAISS, inner product)
    sentence_vectors.npy   one float16 row per sentence, passages' sentences in order
    bm25/                  bm25s arrays and vocabulary

A save writes a sibling temporary directory and renames it into place, so a crash leaves either
the old index or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from index.bm25 import BM25Index
from index.manifest import Manifest
from index.vectors import VectorIndex
from rag.chunk import Chunker
from rag.config import ChunkConfig, FusionConfig, IndexConfig
from rag.embed import Embedder, file_sha256
from rag.errors import IndexCorruptError, IndexNotFoundError, IndexStoreError
from rag.types import Document, Passage

logger = logging.getLogger(__name__)

DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
BM25_DIR = "bm25"


class PassageIndex:
    """Documents cut into passages, searchable by vector and by BM25.

    Args:
        embedder: Encodes passages and sentences; must match an index that is loaded.
        chunk_config: How documents are cut.
        index_config: Vector index and BM25 parameters.
        fusion: The hybrid fusion settings, recorded in the manifest.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        chunk_config: ChunkConfig | None = None,
        index_config: IndexConfig | None = None,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.chunk_config = chunk_config or ChunkConfig()
        self.index_config = index_config or IndexConfig()
        self.fusion = fusion or FusionConfig()
        self.documents: dict[str, Document] = {}
        self.passages: list[Passage] = []
        self._passage_vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        self.sentence_vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        self.sentence_rows = np.zeros(1, dtype=np.int64)
        self._vectors: VectorIndex | None = None
        self._bm25: BM25Index | None = None
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- reading
    @property
    def vectors(self) -> VectorIndex:
        with self._lock:
            if self._vectors is None:
                self._vectors = VectorIndex.build(
                    self._passage_vectors, self.embedder.dimension, self.index_config
                )
            return self._vectors

    @property
    def bm25(self) -> BM25Index:
        with self._lock:
            if self._bm25 is None:
                self._bm25 = BM25Index.build([p.text for p in self.passages], self.index_config)
            return self._bm25

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The stored passage vectors of the given rows."""
        return self._passage_vectors[rows]

    def document_by_source(self, source: str) -> Document | None:
        for doc in self.documents.values():
            if doc.source == source:
                return doc
        return None

    def sentence_vectors_of(self, row: int) -> np.ndarray:
        """The sentence vectors of passage ``row``, in sentence order."""
        return self.sentence_vectors[self.sentence_rows[row] : self.sentence_rows[row + 1]]

    def neighbours(self, passage: Passage, before: int = 1, after: int = 1) -> list[Passage]:
        """The passage with up to ``before``/``after`` passages of the same document around it."""
        same = [p for p in self.passages if p.doc_id == passage.doc_id]
        i = next((n for n, p in enumerate(same) if p.id == passage.id), None)
        if i is None:  # removed since it was retrieved: show it alone
            return [passage]
        return same[max(0, i - before) : i + after + 1]

    # ----------------------------------------------------------------- writing
    def add(self, documents: Iterable[Document], *, show_progress: bool = False) -> list[Passage]:
        """Index documents, replacing any already indexed from the same source.

        Returns:
            The passages added.
        """
        documents = list(documents)
        chunker = Chunker(
            self.chunk_config,
            model_tokens=self.embedder.count_tokens,
            model_max=self.embedder.max_tokens,
        )
        new_passages = [p for doc in documents for p in chunker.chunk(doc)]
        sentences = [
            p.text[s - p.start : e - p.start] for p in new_passages for s, e in p.sentences
        ]
        passage_vectors = self.embedder.encode(
            [p.text for p in new_passages], show_progress=show_progress
        )
        sentence_vectors = self.embedder.encode(sentences, show_progress=show_progress)
        with self._lock:
            self.remove(doc.source for doc in documents)
            for doc in documents:
                self.documents[doc.id] = doc
            counts = [len(p.sentences) for p in new_passages]
            self.passages.extend(new_passages)
            self._passage_vectors = np.vstack([self._passage_vectors, passage_vectors])
            self.sentence_vectors = np.vstack(
                [self.sentence_vectors, sentence_vectors.astype(np.float32)]
            )
            offsets = self.sentence_rows[-1] + np.cumsum(counts, dtype=np.int64)
            self.sentence_rows = np.concatenate([self.sentence_rows, offsets])
            self._invalidate()
        return new_passages

    def remove(self, sources: Iterable[str]) -> list[Document]:
        """Drop every document (and its passages) indexed from one of ``sources``."""
        sources = set(sources)
        with self._lock:
            gone = [d for d in self.documents.values() if d.source in sources]
            if not gone:
                return []
            gone_ids = {d.id for d in gone}
            keep = [i for i, p in enumerate(self.passages) if p.doc_id not in gone_ids]
            counts = np.diff(self.sentence_rows)
            sentence_keep = np.concatenate(
                [np.arange(self.sentence_rows[i], self.sentence_rows[i + 1]) for i in keep]
                or [np.zeros(0, dtype=np.int64)]
            )
            self.passages = [self.passages[i] for i in keep]
            self._passage_vectors = self._passage_vectors[keep]
            self.sentence_vectors = self.sentence_vectors[sentence_keep]
            self.sentence_rows = np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64)
            for doc_id in gone_ids:
                del self.documents[doc_id]
            self._invalidate()
        return gone

    def _invalidate(self) -> None:
        self._vectors = None
        self._bm25 = None

    # ----------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """Write the index to ``directory`` atomically (temporary directory, then rename)."""
        directory = Path(directory).resolve()
        directory.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
            try:
                self._write(tmp)
                _replace_dir(tmp, directory)
            except OSError as e:  # disk full, permissions: the old index is untouched
                shutil.rmtree(tmp, ignore_errors=True)
                raise IndexStoreError(
                    f"cannot save the index to {directory} ({e.strerror or e}); "
                    "the previous index is unchanged"
                ) from e
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise

    def _write(self, tmp: Path) -> None:
        with (tmp / DOCUMENTS).open("w", encoding="utf-8") as f:
            for doc in self.documents.values():
                f.write(json.dumps(asdict(doc), ensure_ascii=False) + "\n")
        with (tmp / PASSAGES).open("w", encoding="utf-8") as f:
            for p in self.passages:
                f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
        self.vectors.save(tmp / VECTORS)
        np.save(
            tmp / SENTENCE_VECTORS, self.sentence_vectors.astype(np.float16), allow_pickle=False
        )
        self.bm25.save(tmp / BM25_DIR)
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        Manifest(
            model_name=self.embedder.name,
            model_sha256=self.embedder.sha256,
            dimension=self.embedder.dimension,
            index_type=self.vectors.index_type,
            passages=len(self.passages),
            documents=len(self.documents),
            chunking=asdict(self.chunk_config),
            fusion=asdict(self.fusion),
            index=asdict(self.index_config),
            files={name: file_sha256(tmp / name) for name in files},
        ).write(tmp)

    @classmethod
    def load(
        cls,
        directory: Path,
        embedder: Embedder,
        *,
        index_config: IndexConfig | None = None,
        verify: bool = True,
    ) -> PassageIndex:
        """Read an index directory, checking it against the running embedder.

        Raises:
            IndexNotFoundError: No index at ``directory``.
            IndexMismatchError: Built with another model or format.
            IndexCorruptError: A file is missing or damaged.
        """
        directory = Path(directory).resolve()
        if not (directory / "manifest.json").is_file():
            raise IndexNotFoundError(
                f"no index at {directory}: build one with `rag index PATH --index-dir {directory}`"
            )
        manifest = Manifest.read(directory)
        manifest.check_model(embedder.name, embedder.sha256, embedder.dimension, directory)
        if verify:
            manifest.check_files(directory)
        index = cls(
            embedder,
            chunk_config=ChunkConfig(**manifest.chunking),
            index_config=index_config or IndexConfig(**manifest.index),
            fusion=FusionConfig(**manifest.fusion),
        )
        try:
            index._read(directory, manifest)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IndexCorruptError(f"{directory} is damaged ({e}); rebuild it") from e
        return index

    def _read(self, directory: Path, manifest: Manifest) -> None:
        with (directory / DOCUMENTS).open(encoding="utf-8") as f:
            for line in f:
                data = json.loads(line)
                data["page_starts"] = tuple(data["page_starts"])
                doc = Document(**data)
                self.documents[doc.id] = doc
        with (directory / PASSAGES).open(encoding="utf-8") as f:
            for line in f:
                data = json.loads(line)
                data["sentences"] = tuple(tuple(s) for s in data["sentences"])
                self.passages.append(Passage(**data))
        vectors = VectorIndex.load(directory / VECTORS, manifest.index_type, self.index_config)  # type: ignore[arg-type]
        self._passage_vectors = vectors.vectors()
        self._vectors = vectors
        self.sentence_vectors = np.load(directory / SENTENCE_VECTORS, allow_pickle=False).astype(
            np.float32
        )
        counts = [len(p.sentences) for p in self.passages]
        self.sentence_rows = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._bm25 = BM25Index.load(directory / BM25_DIR)
        if not (
            len(self.passages) == vectors.size == manifest.passages == self._bm25.n_docs
            and self.sentence_rows[-1] == len(self.sentence_vectors)
            and len(self.documents) == manifest.documents
        ):
            raise IndexCorruptError(
                f"{directory} is damaged: its files disagree on sizes; rebuild it"
            )


def _replace_dir(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``, keeping the old one until the new one is in place."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
