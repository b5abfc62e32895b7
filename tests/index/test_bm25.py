"""BM25 against bm25s itself and against the Lucene formula computed by hand. The store takes
terms, not text: the tests analyse with ``rag.analysis.index_terms``, as the indexing stage does."""

from __future__ import annotations

import math
from pathlib import Path

import bm25s
import numpy as np
import pytest
import Stemmer

from index.bm25 import BM25Index
from index.config import IndexConfig
from rag.analysis import index_terms

CORPUS = [
    "Russia and China presented a draft treaty on weapons in outer space.",
    "The Non-Proliferation Treaty is the core of international security.",
    "NGOs take part in the work of the UN General Assembly.",
    "The Conference on Disarmament in Geneva has been blocked for years.",
    "The Doomsday Clock reads five minutes to midnight.",
    "Disarmament and nonproliferation are interconnected; disarmament needs political will.",
]
QUERIES = ["outer space treaty", "disarmament conference Geneva", "doomsday clock midnight", "NGOs"]
K1, B = 1.2, 0.75


@pytest.fixture(scope="module")
def index() -> BM25Index:
    return BM25Index.build([index_terms(t) for t in CORPUS], IndexConfig(bm25_k1=K1, bm25_b=B))


def lucene_scores(query: str) -> np.ndarray:
    """BM25 as Lucene computes it, from the tokenised corpus, without bm25s."""
    docs = [index_terms(t) for t in CORPUS]
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = np.zeros(n)
    for term in set(index_terms(query)):
        df = sum(term in d for d in docs)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d.count(term)
            out[i] += idf * tf / (tf + K1 * (1 - B + B * len(d) / avgdl))
    return out


@pytest.mark.parametrize("query", QUERIES)
def test_scores_match_the_lucene_formula(index: BM25Index, query: str) -> None:
    np.testing.assert_allclose(index.scores(index_terms(query)), lucene_scores(query), rtol=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_scores_match_bm25s(index: BM25Index, query: str) -> None:
    stemmer = Stemmer.Stemmer("english")
    reference = bm25s.BM25(k1=K1, b=B, method="lucene")
    reference.index(
        bm25s.tokenize(CORPUS, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    query_tokens = bm25s.tokenize(
        [query], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )[0]
    np.testing.assert_allclose(
        index.scores(index_terms(query)), reference.get_scores(query_tokens), rtol=1e-5
    )


def test_the_best_document_wins(index: BM25Index) -> None:
    assert int(np.argmax(index.scores(index_terms("outer space treaty")))) == 0
    assert int(np.argmax(index.scores(index_terms("doomsday midnight")))) == 4


def test_unknown_words_score_zero(index: BM25Index) -> None:
    scores = index.scores(index_terms("zyxwv quantum bananas"))
    assert scores.shape == (len(CORPUS),)
    assert not scores.any()
    assert not index.scores([]).any()
    # A word no passage holds is the rarest of all: missing it says most about a sentence.
    known = index.idf(index_terms(" ".join(CORPUS)))
    assert index.idf(["zyxwv"])["zyxwv"] >= max(known.values())


def test_save_load_gives_identical_scores(index: BM25Index, tmp_path: Path) -> None:
    index.save(tmp_path / "bm25")
    assert not list((tmp_path / "bm25").glob("*.pkl"))
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.n_docs == index.n_docs
    for query in QUERIES:
        tokens = index_terms(query)
        np.testing.assert_array_equal(loaded.scores(tokens), index.scores(tokens))
    assert loaded.idf(["disarma", "treati"]) == index.idf(["disarma", "treati"])


def test_rarer_terms_have_higher_idf(index: BM25Index) -> None:
    # "treaty" is in two documents, "doomsday" in one.
    treaty, doomsday = index_terms("treaty doomsday")
    idf = index.idf([treaty, doomsday])
    assert idf[doomsday] > idf[treaty] > 0
    n = len(CORPUS)
    assert idf[doomsday] == pytest.approx(math.log(1 + (n - 1 + 0.5) / 1.5))


def test_a_corpus_of_stop_words_only_scores_zero_and_round_trips(tmp_path: Path) -> None:
    index = BM25Index.build([index_terms("the and of"), index_terms("a an the")], IndexConfig())
    assert not index.scores(["the"]).any()
    index.save(tmp_path / "b")
    loaded = BM25Index.load(tmp_path / "b")
    assert loaded.n_docs == 2 and not loaded.scores(["anything"]).any()
