"""Lexical scores with bm25s (Lucene BM25) over terms the caller analysed.

The store never tokenises: passages arrive with their terms and queries are searched by terms,
both from ``rag.analysis.index_terms``, so one analyser serves indexing, search and answering.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import bm25s
import numpy as np

from index.config import IndexConfig
from index.errors import IndexCorruptError
from index.lexical import lucene_idf


class BM25Index:
    """BM25 scores of every passage for a query; rows in passage order."""

    def __init__(self, retriever: bm25s.BM25 | None, n_docs: int) -> None:
        self._retriever = retriever
        self.n_docs = n_docs
        self._df: np.ndarray | None = None

    @classmethod
    def build(cls, terms: Sequence[Sequence[str]], config: IndexConfig) -> BM25Index:
        if not any(terms):
            return cls(None, len(terms))
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in terms]
        retriever = bm25s.BM25(k1=config.bm25_k1, b=config.bm25_b, method="lucene")
        retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(retriever, len(terms))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage for the query's terms."""
        vocab = self._retriever.vocab_dict if self._retriever is not None else {}
        known = [t for t in query_terms if t in vocab]
        if self._retriever is None or not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def document_frequency(self, terms: Iterable[str]) -> dict[str, int]:
        """How many passages contain each term (0 for a term the collection never uses)."""
        if self._df is None and self._retriever is not None:
            self._df = np.diff(self._retriever.scores["indptr"])
        vocab = self._retriever.vocab_dict if self._retriever is not None else {}
        out = {}
        for t in terms:
            row = vocab.get(t)
            out[t] = int(self._df[row]) if row is not None and self._df is not None else 0
        return out

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency (Lucene's formula) of each term.

        A term no passage contains gets the highest idf there is: for judging whether a sentence
        answers a question, a word the documents never use is the rarest word of all (and its
        absence the strongest sign they do not answer).
        """
        n = self.n_docs
        out = {}
        for t, df in self.document_frequency(terms).items():
            out[t] = lucene_idf(df, n)
        return out

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "meta.json").write_text(json.dumps({"n_docs": self.n_docs}))
        if self._retriever is not None:
            self._retriever.save(str(directory), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        try:
            n_docs = json.loads((directory / "meta.json").read_text())["n_docs"]
            if not (directory / "params.index.json").exists():
                return cls(None, n_docs)
            retriever = bm25s.BM25.load(  # mapped: pages are read as queries touch them
                str(directory), mmap=True, allow_pickle=False, show_progress=False, verbosity=0
            )
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorruptError(f"cannot read the BM25 index in {directory}: {e}") from e
        return cls(retriever, n_docs)
