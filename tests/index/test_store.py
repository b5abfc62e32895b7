"""The store: search by vector and terms against brute force, lookups by id, add/replace/remove,
and snapshot round trips (no pickle, manifest, refusal of mismatched or damaged snapshots)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.config import IndexConfig
from index.contract import ModelIdentity, PassageBatch
from index.errors import IndexCorruptError, IndexMismatchError, InvalidInputError
from index.manifest import FORMAT_VERSION, MANIFEST
from index.passages import PassageIndex
from index.snapshot import PASSAGES, TERMS, VECTORS, read_snapshot, write_snapshot
from rag.analysis import index_terms
from rag.embed import identity_of
from tests.conftest import build_store

TEXTS = {
    "npt.txt": (
        "The core element of international security is the Non-Proliferation Treaty.\n\n"
        "The 2010 Review Conference should succeed. Three components matter: nonproliferation, "
        "peaceful nuclear energy uses, and disarmament."
    ),
    "space.txt": (
        "Russia and China presented a draft treaty on the prevention of the placement of weapons "
        "in outer space.\n\nThe conference is the most appropriate forum for this work."
    ),
    "ngo.txt": (
        "Over 40 NGOs got consultative status with the Economic and Social Council.\n\n"
        "The Russian World Foundation provides grants to NGOs. The MFA is one of its founders."
    ),
    "ad.txt": (
        "The Doomsday Clock reads five minutes to midnight. Subscribe to the Bulletin today.\n\n"
        "Please allow six to eight weeks for delivery of your first issue."
    ),
}
QUERIES = ["outer space weapons treaty", "NGO grants", "doomsday clock", "nuclear energy"]


def searches(store: PassageIndex, embedder) -> list[tuple]:  # noqa: ANN001
    """Every query's candidates by vector, by terms and by both, as plain values."""
    out = []
    for q in QUERIES:
        vector, terms = embedder.encode([q])[0], index_terms(q)
        for args in ((vector, None), (None, terms), (vector, terms)):
            c = store.search(*args, 4)
            out.append((c.ids, _values(c.dense), _values(c.bm25)))
    return out


def _values(scores: np.ndarray) -> list[float | None]:
    return [None if np.isnan(s) else round(float(s), 5) for s in scores]


@pytest.fixture
def store(fake_embedder) -> PassageIndex:
    return build_store(fake_embedder, TEXTS)


def test_search_by_vector_is_exact_and_best_first(store, fake_embedder) -> None:
    passages = store.passages()
    matrix = fake_embedder.encode([p.text for p in passages])
    for q in QUERIES:
        vector = fake_embedder.encode([q])[0]
        found = store.search(vector, None, 3)
        oracle = np.argsort(-(matrix @ vector), kind="stable")[:3]
        assert list(found.ids) == [passages[i].id for i in oracle]
        assert np.all(np.diff(found.dense) <= 1e-6) and np.isnan(found.bm25).all()


def test_search_by_both_scores_every_candidate_by_both(store, fake_embedder) -> None:
    vector, terms = fake_embedder.encode(["treaty"])[0], index_terms("treaty")
    both = store.search(vector, terms, 2)
    dense, bm25 = store.search(vector, None, 2), store.search(None, terms, 2)
    assert set(both.ids) == set(dense.ids) | set(bm25.ids)
    bm25_all = store.bm25.scores(terms)
    rows = {p.id: i for i, p in enumerate(store.passages())}
    for pid, d, b in zip(both.ids, both.dense, both.bm25):
        assert d == pytest.approx(float(store.passage_vector(pid) @ vector), abs=1e-6)
        assert b == pytest.approx(float(bm25_all[rows[pid]]))


def test_lookups_by_id(store) -> None:
    for passage in store.passages():
        assert store.passage(passage.id) == passage
        document = store.document(passage.doc_id)
        assert document is not None and document.text[passage.start : passage.end] == passage.text
        assert len(store.sentence_vectors(passage.id)) == len(passage.sentences)
    doc = store.document_by_source("ngo.txt")
    assert doc is not None and [p.doc_id for p in store.passages_of(doc.id)] == [doc.id] * len(
        store.passages_of(doc.id)
    )
    with pytest.raises(KeyError):
        store.passage("no-such-id")


def test_remove_keeps_sentence_vectors_aligned(store, fake_embedder) -> None:
    removed = store.remove(["space.txt", "not-indexed.txt"])
    assert [d.source for d in removed] == ["space.txt"]
    assert all(p.source != "space.txt" for p in store.passages())
    for passage in store.passages():
        expected = fake_embedder.encode(passage.sentence_texts())
        # kept at half precision (index.contract.SENTENCE_DTYPE)
        np.testing.assert_allclose(store.sentence_vectors(passage.id), expected, atol=1e-3)
    revision = store.revision
    assert store.remove(["space.txt"]) == [] and store.revision == revision


def test_adding_a_source_again_replaces_it(fake_embedder) -> None:
    store = build_store(fake_embedder, TEXTS)
    n = len(store)
    old = sum(p.source == "ad.txt" for p in store.passages())
    replacement = build_store(fake_embedder, {"ad.txt": "Completely different words now."})
    p = replacement.passages()[0]
    store.add(
        PassageBatch(
            documents=tuple(replacement.documents()),
            passages=(p,),
            vectors=replacement.passage_vector(p.id)[None, :],
            sentence_vectors=replacement.sentence_vectors(p.id),
            terms=(tuple(index_terms(p.text)),),
        )
    )
    assert [q.text for q in store.passages() if q.source == "ad.txt"] == [p.text]
    assert len(store) == n - old + 1 and len(store.documents()) == len(TEXTS)
    found = store.search(None, index_terms("doomsday clock"), 3)
    assert all("Doomsday" not in store.passage(pid).text for pid in found.ids)


def test_a_batch_must_be_consistent(store) -> None:
    p = store.passages()[0]
    with pytest.raises(InvalidInputError, match="one vector"):
        PassageBatch(tuple(store.documents()), (p,), np.zeros((2, 64)), np.zeros((0, 64)), ((),))
    with pytest.raises(IndexMismatchError, match="dimension"):
        store.add(
            PassageBatch(
                tuple(store.documents()),
                (p,),
                np.zeros((1, 8), dtype=np.float32),
                np.zeros((len(p.sentences), 8), dtype=np.float32),
                ((),),
            )
        )


# --------------------------------------------------------------------- snapshots
@pytest.fixture
def saved(store, tmp_path: Path) -> tuple[PassageIndex, Path]:
    write_snapshot(store, tmp_path)
    return store, tmp_path


def test_a_snapshot_round_trip_gives_the_same_searches(saved, fake_embedder) -> None:
    store, directory = saved
    loaded = read_snapshot(directory, identity_of(fake_embedder))
    assert searches(loaded, fake_embedder) == searches(store, fake_embedder)
    assert loaded.documents() == store.documents() and loaded.passages() == store.passages()
    for p in store.passages():
        np.testing.assert_allclose(
            loaded.sentence_vectors(p.id), store.sentence_vectors(p.id), atol=1e-3
        )
    assert loaded.settings == store.settings and loaded.config == store.config


def test_manifest_records_what_built_the_index(fake_embedder, tmp_path: Path) -> None:
    store = build_store(fake_embedder, TEXTS, chunking={"max_tokens": 120})
    write_snapshot(store, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["model_name"] == fake_embedder.name
    assert manifest["model_sha256"] == fake_embedder.sha256
    assert manifest["dimension"] == fake_embedder.dimension
    assert manifest["metric"] == "inner_product" and manifest["index_type"] == "flat"
    assert manifest["settings"]["chunking"] == {"max_tokens": 120}
    assert manifest["format_version"] == FORMAT_VERSION
    assert {"rag-quotes", "faiss-cpu", "bm25s", "numpy"} <= set(manifest["versions"])
    assert manifest["created_at"][:2] == "20"
    assert manifest["passages"] == len(store) and manifest["documents"] == len(TEXTS)
    assert {PASSAGES, VECTORS, TERMS} <= set(manifest["files"])


def test_no_pickle_anywhere(saved) -> None:
    _, directory = saved
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in (".pkl", ".pickle")]
    npys = [p for p in files if p.suffix == ".npy"]
    assert len(npys) >= 2  # sentence vectors and the BM25 arrays
    for path in npys:
        np.load(path, allow_pickle=False)
    for path in files:
        assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


def test_hnsw_is_chosen_above_exact_max_and_recorded(fake_embedder, tmp_path: Path) -> None:
    store = build_store(fake_embedder, TEXTS, config=IndexConfig(exact_max=3))
    assert len(store) > 3 and store.vectors.index_type == "hnsw"
    write_snapshot(store, tmp_path)
    assert json.loads((tmp_path / MANIFEST).read_text())["index_type"] == "hnsw"
    loaded = read_snapshot(tmp_path, identity_of(fake_embedder))
    assert loaded.vectors.index_type == "hnsw"
    assert searches(loaded, fake_embedder) == searches(store, fake_embedder)


@pytest.mark.parametrize(
    "other", [("another-model", "0" * 64, 64), ("fake-hash-embedder", "1" * 64, 64)]
)
def test_another_model_is_refused(saved, other: tuple) -> None:
    _, directory = saved
    with pytest.raises(IndexMismatchError, match="rebuild"):
        read_snapshot(directory, ModelIdentity(*other))


def test_another_format_version_is_refused(saved, fake_embedder) -> None:
    _, directory = saved
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format 1"):
        read_snapshot(directory, identity_of(fake_embedder))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def edit_passages(path: Path) -> None:
    path.write_text(path.read_text().replace("Treaty", "Traety", 1))


def delete(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        (VECTORS, truncate),
        (PASSAGES, truncate),
        (PASSAGES, edit_passages),
        (TERMS, truncate),
        ("bm25/vocab.index.json", delete),
        ("sentence_vectors.npy", truncate),
    ],
)
def test_a_damaged_file_is_caught_by_its_checksum(saved, fake_embedder, name, damage) -> None:
    _, directory = saved
    damage(directory / name)
    with pytest.raises(IndexCorruptError, match=name.split("/")[-1]):
        read_snapshot(directory, identity_of(fake_embedder))


def test_a_damaged_manifest_is_a_corrupt_index(saved, fake_embedder) -> None:
    _, directory = saved
    (directory / MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorruptError):
        read_snapshot(directory, identity_of(fake_embedder))


def test_damage_is_caught_even_without_checksums(saved, fake_embedder) -> None:
    _, directory = saved
    (directory / PASSAGES).write_text("garbage\n")
    with pytest.raises(IndexCorruptError):
        read_snapshot(directory, identity_of(fake_embedder), verify=False)
    (directory / PASSAGES).write_text("")
    with pytest.raises(IndexCorruptError, match="disagree on sizes"):
        read_snapshot(directory, identity_of(fake_embedder), verify=False)


@given(
    st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5]) | st.floats(0, 10, width=32), max_size=60),
    st.integers(0, 70),
)
def test_the_best_bm25_rows_are_by_score_then_row(scores: list[float], depth: int) -> None:
    from index.passages import _top

    array = np.array(scores, dtype=np.float32)
    expected = np.lexsort((np.arange(len(array)), -array))[: min(depth, len(array))]
    assert _top(array, depth).tolist() == expected.tolist()
