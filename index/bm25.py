"""Lexical search with bm25s (Lucene BM25), English stop words and Snowball stemming."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from rag.config import IndexConfig
from rag.errors import IndexCorruptError

logger = logging.getLogger(__name__)
# bm25s sets its logger to DEBUG when imported, so "Building index from IDs objects" reaches any
# handler an application configured (the CLI printed it without -v): let the application decide.
logging.getLogger("bm25s").setLevel(logging.NOTSET)

STOPWORDS = "en"
_stemmer = Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed tokens: the same for documents and queries."""
    with contextlib.redirect_stderr(io.StringIO()):  # bm25s prints progress bars otherwise
        return bm25s.tokenize(
            list(texts),
            stopwords=STOPWORDS,
            stemmer=_stemmer,
            return_ids=False,
            show_progress=False,
        )


_TERM = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
# Content words for lexical evidence (does a sentence hold the question's words?): a fuller stop
# list than the index's, since "how", "does" and "many" say nothing about what a sentence is about,
# and in a small collection they may be missing from every passage and look rarest of all.
_CONTENT_STOP = frozenset(STOPWORDS_EN_PLUS) | {"many", "much", "whose", "also", "would", "could"}


def terms(text: str) -> list[str]:
    """The stemmed content words of one text (the BM25 stemmer, a fuller stop list)."""
    words = [w for w in _TERM.findall(text.lower()) if w not in _CONTENT_STOP]
    return _stemmer.stemWords(words)


class BM25Index:
    """BM25 scores of every passage for a query; rows in passage order."""

    def __init__(self, retriever: bm25s.BM25 | None, n_docs: int) -> None:
        self._retriever = retriever
        self.n_docs = n_docs
        self._df: np.ndarray | None = None

    @classmethod
    def build(cls, texts: Sequence[str], config: IndexConfig) -> BM25Index:
        tokens = tokenize(texts)
        if not any(tokens):
            return cls(None, len(texts))
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in tokens]
        retriever = bm25s.BM25(k1=config.bm25_k1, b=config.bm25_b, method="lucene")
        retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(retriever, len(texts))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage for the (already tokenised) query."""
        known = [t for t in query_tokens if self._retriever and t in self._retriever.vocab_dict]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency (Lucene's formula) of each token.

        A token no passage contains gets the highest idf there is: for judging whether a sentence
        answers a question, a word the documents never use is the rarest word of all (and its
        absence the strongest sign they do not answer).
        """
        if self._df is None and self._retriever is not None:
            self._df = np.diff(self._retriever.scores["indptr"])
        vocab = self._retriever.vocab_dict if self._retriever is not None else {}
        n = self.n_docs
        out = {}
        for t in tokens:
            row = vocab.get(t)
            df = int(self._df[row]) if row is not None and self._df is not None else 0
            out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
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
            retriever = bm25s.BM25.load(
                str(directory), allow_pickle=False, show_progress=False, verbosity=0
            )
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorruptError(f"cannot read the BM25 index in {directory}: {e}") from e
        return cls(retriever, n_docs)
