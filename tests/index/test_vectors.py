"""FAISS search against a numpy brute-force oracle."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from index.config import IndexConfig
from index.vectors import VectorIndex, choose_index_type

N, DIM, K = 500, 64, 10


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return unit_rows(rng, N), unit_rows(rng, 20)


def brute_force(x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = x @ q
    rows = np.argsort(-scores, kind="stable")[:k]
    return scores[rows], rows


def test_flat_index_equals_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, queries = data
    index = VectorIndex.build(x, DIM, IndexConfig())
    assert index.index_type == "flat" and index.size == N and index.dimension == DIM
    for q in queries:
        scores, rows = index.search(q, K)
        want_scores, want_rows = brute_force(x, q, K)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
        assert np.all(np.diff(scores) <= 0), "best first"


def test_hnsw_is_chosen_above_exact_max_and_recalls_brute_force(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    x, queries = data
    config = IndexConfig(exact_max=100)
    assert choose_index_type(100, config) == "flat"
    assert choose_index_type(101, config) == "hnsw"
    index = VectorIndex.build(x, DIM, config)
    assert index.index_type == "hnsw"
    assert isinstance(index._index, faiss.IndexHNSWFlat)

    found = 0
    for q in queries:
        scores, rows = index.search(q, K)
        _, want_rows = brute_force(x, q, K)
        found += len(set(rows.tolist()) & set(want_rows.tolist()))
        np.testing.assert_allclose(scores, x[rows] @ q, rtol=1e-5, atol=1e-5)
    recall = found / (K * len(queries))
    assert recall >= 0.9, f"HNSW top-{K} recall {recall:.2f}"


@pytest.mark.parametrize("exact_max", [50_000, 100])
def test_save_load_round_trip_keeps_results(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path, exact_max: int
) -> None:
    x, queries = data
    config = IndexConfig(exact_max=exact_max)
    index = VectorIndex.build(x, DIM, config)
    index.save(tmp_path / "v.faiss")
    loaded = VectorIndex.load(tmp_path / "v.faiss", index.index_type, config)
    assert loaded.size == N
    np.testing.assert_allclose(loaded.vectors(), x, atol=1e-6)
    for q in queries[:5]:
        a, b = index.search(q, K), loaded.search(q, K)
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_allclose(a[0], b[0])


def test_k_larger_than_the_collection_and_empty_index() -> None:
    rng = np.random.default_rng(1)
    x = unit_rows(rng, 3)
    scores, rows = VectorIndex.build(x, DIM, IndexConfig()).search(x[0], 10)
    assert sorted(rows.tolist()) == [0, 1, 2] and rows[0] == 0
    assert scores[0] == pytest.approx(1.0, abs=1e-5)

    empty = VectorIndex.build(np.zeros((0, DIM), dtype=np.float32), DIM, IndexConfig())
    scores, rows = empty.search(x[0], 5)
    assert len(scores) == len(rows) == 0
    assert empty.vectors().shape == (0, DIM)


def test_a_damaged_faiss_file_is_a_corrupt_index(tmp_path: Path) -> None:
    from rag.errors import IndexCorruptError

    path = tmp_path / "v.faiss"
    path.write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorruptError):
        VectorIndex.load(path, "flat", IndexConfig())
