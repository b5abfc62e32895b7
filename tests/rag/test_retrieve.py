"""Dense, BM25 and hybrid retrieval over a small index; fusion checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from index.passages import PassageIndex
from rag.analysis import index_terms
from rag.config import FusionConfig
from rag.embed import identity_of
from rag.errors import EmptyCorpusError, InvalidInputError
from rag.retrieve import MAX_QUERY_CHARS, StoreRetriever, fuse
from rag.types import RETRIEVAL_MODES
from tests.conftest import build_store

PARAGRAPHS = [
    "Russia and China presented a draft treaty on the prevention of weapons in outer space.",
    "The Non-Proliferation Treaty is the core element of the system of international security.",
    "Over forty NGOs got consultative status with the Economic and Social Council of the UN.",
    "The Conference on Disarmament in Geneva has been blocked for several years now.",
    "The Doomsday Clock reads five minutes to midnight; climate change poses grave threats.",
    "The Russian World Foundation provides grants to NGOs and supports compatriots abroad.",
    "In 2009 the restrictions of the START Treaty will expire, and missile defense grows.",
    "The Bulletin costs forty-eight dollars a year for six issues, delivered in six weeks.",
]


@pytest.fixture
def index(fake_embedder) -> PassageIndex:
    # One document per paragraph, so each paragraph is its own passage.
    idx = build_store(fake_embedder, {f"doc{i}.txt": text for i, text in enumerate(PARAGRAPHS)})
    assert len(idx) == len(PARAGRAPHS)
    return idx


@pytest.fixture
def Retriever(fake_embedder):  # noqa: ANN001, ANN201, N802 - reads like the class it makes
    def make(store: PassageIndex, mode: str = "hybrid", **kwargs: object) -> StoreRetriever:
        return StoreRetriever(store, fake_embedder, mode=mode, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.mark.parametrize("mode", RETRIEVAL_MODES)
@pytest.mark.parametrize("k", [1, 3, 8])
def test_every_mode_returns_k_ranked_hits_best_first(index, Retriever, mode: str, k: int) -> None:  # noqa: N803
    hits = Retriever(index, mode=mode).search("treaty on weapons in outer space", k)
    assert len(hits) == k
    assert [h.rank for h in hits] == list(range(1, k + 1))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.passage.id for h in hits}) == k
    assert hits[0].passage.text == PARAGRAPHS[0]


def test_dense_scores_are_cosines(index, Retriever, fake_embedder) -> None:  # noqa: N803
    query = "NGOs and grants"
    hits = Retriever(index, mode="dense").search(query, 8)
    q = fake_embedder.encode([query])[0]
    for h in hits:
        expected = float(fake_embedder.encode([h.passage.text])[0] @ q)
        assert h.score == pytest.approx(expected, abs=1e-5) and h.dense == h.score
        assert h.bm25 is None


def test_bm25_scores_are_the_bm25_index_scores(index, Retriever) -> None:  # noqa: N803
    query = "Doomsday Clock midnight"
    hits = Retriever(index, mode="bm25").search(query, 8)
    expected = index.bm25.scores(index_terms(query))
    rows = {p.id: i for i, p in enumerate(index.passages())}
    for h in hits:
        assert h.score == pytest.approx(float(expected[rows[h.passage.id]]))
        assert h.bm25 == h.score and h.dense is None
    assert hits[0].passage.text == PARAGRAPHS[4] and hits[0].score > 0
    assert hits[-1].score == 0.0  # no query word in most passages


def test_hybrid_scores_are_the_fusion_of_both(index, Retriever) -> None:  # noqa: N803
    query = "blocked conference in Geneva"
    retriever = Retriever(index, mode="hybrid")
    hits = retriever.search(query, 8)
    dense = np.array([h.dense for h in hits])
    bm25 = np.array([h.bm25 for h in hits])
    np.testing.assert_allclose(
        [h.score for h in hits], fuse(dense, bm25, retriever.fusion), rtol=1e-6
    )
    assert hits[0].passage.text == PARAGRAPHS[3]


def test_a_given_vector_is_used_instead_of_encoding(index, Retriever, fake_embedder) -> None:  # noqa: N803
    query = "blocked conference in Geneva"
    encoded = Retriever(index).search(query, 3)
    given = Retriever(index).search(query, 3, vector=fake_embedder.encode([query])[0])
    assert given == encoded
    other = Retriever(index).search(query, 3, vector=fake_embedder.encode(["Doomsday"])[0])
    assert other != encoded


def test_k_larger_than_the_index_returns_every_passage(index, Retriever) -> None:  # noqa: N803
    for mode in RETRIEVAL_MODES:
        hits = Retriever(index, mode=mode).search("treaty", 100)
        assert len(hits) == len(PARAGRAPHS)


@pytest.mark.parametrize("k", [0, -1, True, 2.5, "3"])
def test_bad_k_is_refused(index, Retriever, k: object) -> None:  # noqa: N803
    with pytest.raises(InvalidInputError, match="k must be"):
        Retriever(index).search("treaty", k)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", ["", "   ", "\n\t", None])
def test_an_empty_query_is_refused(index, Retriever, query: object) -> None:  # noqa: N803
    with pytest.raises(InvalidInputError, match="query is empty"):
        Retriever(index).search(query, 3)  # type: ignore[arg-type]


def test_a_very_long_query_is_cut_not_refused(index, Retriever) -> None:  # noqa: N803
    hits = Retriever(index).search("outer space treaty " * MAX_QUERY_CHARS, 2)
    assert len(hits) == 2


def test_an_unknown_mode_is_refused(index, Retriever) -> None:  # noqa: N803
    with pytest.raises(InvalidInputError, match="hybrid, dense, bm25"):
        Retriever(index, mode="sparse")


def test_an_empty_index_is_an_empty_corpus(Retriever, fake_embedder) -> None:  # noqa: N803
    with pytest.raises(EmptyCorpusError, match="rag index"):
        Retriever(PassageIndex(identity_of(fake_embedder))).search("anything", 3)


def test_query_without_known_words_still_ranks_by_meaning(index, Retriever) -> None:  # noqa: N803
    hits = Retriever(index, mode="bm25").search("zzzz qqqq", 3)
    assert len(hits) == 3 and all(h.score == 0 for h in hits)
    hybrid = Retriever(index, mode="hybrid").search("zzzz qqqq", 3)
    assert len(hybrid) == 3


# ---------------------------------------------------------------------------- fusion by hand
DENSE = np.array([0.9, 0.5, 0.1])
BM25 = np.array([1.0, 3.0, 0.0])


def test_rrf_by_hand() -> None:
    # Dense ranks are 1, 2, 3 and BM25 ranks 2, 1, 3; scaled by rrf_k + 1 = 61.
    fused = fuse(DENSE, BM25, FusionConfig(method="rrf", alpha=0.7, rrf_k=60))
    expected = [
        0.7 * 61 / 61 + 0.3 * 61 / 62,
        0.7 * 61 / 62 + 0.3 * 61 / 61,
        61 / 63,
    ]
    np.testing.assert_allclose(fused, expected, rtol=1e-6)
    assert fused.dtype == np.float32


def test_rrf_top_in_both_scores_one() -> None:
    fused = fuse(np.array([0.9, 0.2]), np.array([5.0, 1.0]), FusionConfig(method="rrf"))
    assert fused[0] == pytest.approx(1.0)
    assert fused[1] == pytest.approx(61 / 62)


def test_convex_by_hand() -> None:
    # Min-max normalised: dense [1, 0.5, 0], BM25 [1/3, 1, 0].
    fused = fuse(DENSE, BM25, FusionConfig(method="convex", alpha=0.25))
    np.testing.assert_allclose(fused, [0.25 + 0.75 / 3, 0.125 + 0.75, 0.0], rtol=1e-6)
    only_dense = fuse(DENSE, BM25, FusionConfig(method="convex", alpha=1.0))
    np.testing.assert_allclose(only_dense, [1.0, 0.5, 0.0])
    only_bm25 = fuse(DENSE, BM25, FusionConfig(method="convex", alpha=0.0))
    np.testing.assert_allclose(only_bm25, [1 / 3, 1.0, 0.0], rtol=1e-6)


def test_convex_with_constant_scores() -> None:
    # No query word matched: BM25 adds nothing and dense decides alone.
    fused = fuse(DENSE, np.zeros(3), FusionConfig(method="convex", alpha=0.5))
    np.testing.assert_allclose(fused, [0.5, 0.25, 0.0])
    # Equal positive scores all count fully.
    fused = fuse(DENSE, np.full(3, 2.0), FusionConfig(method="convex", alpha=0.5))
    np.testing.assert_allclose(fused, [1.0, 0.75, 0.5])


def test_fusing_nothing_gives_nothing() -> None:
    assert fuse(np.zeros(0), np.zeros(0), FusionConfig()).shape == (0,)


@pytest.mark.parametrize(
    "kwargs", [{"method": "max"}, {"alpha": 1.5}, {"alpha": -0.1}, {"rrf_k": 0}, {"depth": 0}]
)
def test_bad_fusion_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(InvalidInputError):
        FusionConfig(**kwargs)


def test_rrf_fusion_is_used_when_asked(index, Retriever) -> None:  # noqa: N803
    rrf = FusionConfig(method="rrf", alpha=0.5)
    hits = Retriever(index, fusion=rrf).search("outer space treaty", 8)
    assert hits[0].score <= 1.0 + 1e-6
    assert all(h.score > 0 for h in hits)  # RRF never gives zero
    convex = Retriever(index).search("outer space treaty", 8)  # the default fusion
    assert [h.score for h in hits] != [h.score for h in convex]  # the setting is used
