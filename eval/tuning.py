"""Shared by the tuning scripts (``eval.tune_fusion``, ``eval.fit_answering``): index a public
collection once with the real model, optionally cached in a directory between runs, and map its
passages back to the units the judgments name (SQuAD paragraphs, BEIR documents)."""

from __future__ import annotations

import bisect
import logging
import time
from pathlib import Path

from eval.datasets import QADataset
from index.store import PassageIndex
from rag.clean import split_paragraphs
from rag.embed import Embedder
from rag.errors import DocumentError, IndexStoreError
from rag.ingest import document_from_text

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def build_index(dataset: QADataset, embedder: Embedder, cache: Path | None = None) -> PassageIndex:
    """Index the dataset's documents (reusing ``cache/<sha256>`` when it holds them)."""
    cached = cache / dataset.sha256[:16] if cache else None
    if cached is not None:
        try:
            return PassageIndex.load(cached, embedder)
        except IndexStoreError:
            pass
    index = PassageIndex(embedder)
    docs = []
    for d in dataset.documents:
        try:
            docs.append(document_from_text(d.text, d.id, d.title, markdown=False))
        except DocumentError:  # Cranfield has empty abstracts; they cannot be retrieved anyway
            continue
    started = time.perf_counter()
    index.add(docs, show_progress=True)
    logger.info("%s: %d passages in %.0fs", dataset.name, len(index.passages),
                time.perf_counter() - started)
    if cached is not None:
        index.save(cached)
    return index


def gold_units(dataset: QADataset, index: PassageIndex) -> list[str]:
    """For each passage row, the id the judgments use: its SQuAD paragraph, else its document.

    Cleaning may change whitespace inside an article but keeps its paragraphs in order, so the
    n-th paragraph of the cleaned text is the n-th paragraph of the article.
    """
    if not dataset.paragraph_spans:
        return [p.source for p in index.passages]
    by_doc: dict[str, list[tuple[int, str]]] = {}
    for pid, (doc_id, _, _) in dataset.paragraph_spans.items():
        by_doc.setdefault(doc_id, []).append((int(pid.rsplit("#", 1)[1]), pid))
    starts = {}
    for doc in index.documents.values():
        ids = [pid for _, pid in sorted(by_doc[doc.source])]
        starts[doc.id] = ([s for s, _ in split_paragraphs(doc.text)], ids)
    out = []
    for p in index.passages:
        offsets, ids = starts[p.doc_id]
        out.append(ids[bisect.bisect_right(offsets, p.start) - 1])
    return out
