"""Shared by the tuning scripts (``eval.tune_fusion``, ``eval.fit_answering``): a public
collection indexed once with the real model by ``eval.corpus`` (the harness's own code), optionally
kept in a cache directory between runs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eval.corpus import EvalCorpus, build_corpus, corpus_for
from eval.datasets import QADataset
from rag.embed import Embedder
from rag.errors import IndexStoreError
from rag.opening import open_index

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def cached_corpus(dataset: QADataset, embedder: Embedder, cache: Path | None = None) -> EvalCorpus:
    """The dataset's corpus, reusing ``cache/<sha256>`` when an earlier run indexed it there."""
    if cache is None:
        return build_corpus(dataset, Path(tempfile.mkdtemp()) / "index", embedder=embedder)
    directory = cache / f"{dataset.sha256[:16]}-corpus"
    try:
        return corpus_for(open_index(directory, embedder=embedder), dataset)
    except IndexStoreError:
        return build_corpus(dataset, directory, embedder=embedder)
