"""The on-disk index: round trips, manifest, no pickle, refusal of mismatched or damaged indexes,
atomic saves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.manifest import FORMAT_VERSION, MANIFEST
from index.store import PASSAGES, VECTORS, PassageIndex
from rag.config import ChunkConfig, FusionConfig, IndexConfig
from rag.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
)
from rag.ingest import document_from_text
from rag.retrieve import Retriever
from rag.types import RETRIEVAL_MODES

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


def build(embedder, **kwargs) -> PassageIndex:
    index = PassageIndex(embedder, **kwargs)
    index.add(document_from_text(text, source) for source, text in TEXTS.items())
    return index


def results(index: PassageIndex, mode: str) -> list[list[tuple[str, float]]]:
    retriever = Retriever(index, mode=mode)  # type: ignore[arg-type]
    return [[(h.passage.id, h.score) for h in retriever.search(q, 4)] for q in QUERIES]


@pytest.fixture
def saved(fake_embedder, tmp_path: Path) -> tuple[PassageIndex, Path]:
    index = build(fake_embedder)
    directory = tmp_path / "idx"
    index.save(directory)
    return index, directory


@pytest.mark.parametrize("mode", RETRIEVAL_MODES)
def test_save_load_gives_the_same_results_in_every_mode(saved, fake_embedder, mode: str) -> None:
    index, directory = saved
    loaded = PassageIndex.load(directory, fake_embedder)
    before, after = results(index, mode), results(loaded, mode)
    assert [[pid for pid, _ in r] for r in after] == [[pid for pid, _ in r] for r in before]
    for a, b in zip(after, before):
        np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=1e-5, atol=1e-6)


def test_load_restores_documents_passages_and_sentence_vectors(saved, fake_embedder) -> None:
    index, directory = saved
    loaded = PassageIndex.load(directory, fake_embedder)
    assert loaded.documents == index.documents
    assert loaded.passages == index.passages
    np.testing.assert_array_equal(loaded.sentence_rows, index.sentence_rows)
    np.testing.assert_allclose(loaded.sentence_vectors, index.sentence_vectors, atol=1e-3)
    assert loaded.chunk_config == index.chunk_config and loaded.fusion == index.fusion


def test_manifest_records_what_built_the_index(fake_embedder, tmp_path: Path) -> None:
    chunking = ChunkConfig(max_tokens=120, min_tokens=8)
    fusion = FusionConfig(method="rrf", alpha=0.3)
    build(fake_embedder, chunk_config=chunking, fusion=fusion).save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())

    assert manifest["model_name"] == fake_embedder.name
    assert manifest["model_sha256"] == fake_embedder.sha256
    assert manifest["dimension"] == fake_embedder.dimension
    assert manifest["metric"] == "inner_product"
    assert manifest["index_type"] == "flat"
    assert manifest["chunking"] == {
        "max_tokens": 120,
        "min_tokens": 8,
        "encoding": chunking.encoding,
    }
    assert manifest["fusion"]["method"] == "rrf" and manifest["fusion"]["alpha"] == 0.3
    assert manifest["format_version"] == FORMAT_VERSION
    assert {"rag-quotes", "faiss-cpu", "bm25s", "numpy"} <= set(manifest["versions"])
    assert manifest["created_at"][:2] == "20"
    assert manifest["passages"] > 0 and manifest["documents"] == len(TEXTS)
    assert {PASSAGES, VECTORS} <= set(manifest["files"])
    loaded = PassageIndex.load(tmp_path / "idx", fake_embedder)
    assert loaded.chunk_config == chunking and loaded.fusion == fusion


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
    index = build(fake_embedder, index_config=IndexConfig(exact_max=3))
    assert len(index.passages) > 3
    assert index.vectors.index_type == "hnsw"
    index.save(tmp_path / "idx")
    assert json.loads((tmp_path / "idx" / MANIFEST).read_text())["index_type"] == "hnsw"
    loaded = PassageIndex.load(tmp_path / "idx", fake_embedder)
    assert loaded.vectors.index_type == "hnsw"
    assert results(loaded, "dense") == results(index, "dense")


@pytest.mark.parametrize(
    ("attribute", "value"), [("name", "another-model"), ("sha256", "1" * 64), ("dimension", 32)]
)
def test_another_embedder_is_refused(saved, fake_embedder, attribute: str, value: object) -> None:
    _, directory = saved
    other = type("Other", (type(fake_embedder),), {attribute: value})()
    with pytest.raises(IndexMismatchError, match="rebuild"):
        PassageIndex.load(directory, other)


def test_another_format_version_is_refused(saved, fake_embedder) -> None:
    _, directory = saved
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError):
        PassageIndex.load(directory, fake_embedder)


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
        ("bm25/vocab.index.json", delete),
        ("sentence_vectors.npy", truncate),
    ],
)
def test_a_damaged_file_is_caught_by_its_checksum(saved, fake_embedder, name, damage) -> None:
    _, directory = saved
    damage(directory / name)
    with pytest.raises(IndexCorruptError, match=name.split("/")[-1]):
        PassageIndex.load(directory, fake_embedder)


def test_a_damaged_manifest_is_a_corrupt_index(saved, fake_embedder) -> None:
    _, directory = saved
    (directory / MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorruptError):
        PassageIndex.load(directory, fake_embedder)


def test_damage_is_caught_even_without_checksums(saved, fake_embedder) -> None:
    _, directory = saved
    (directory / PASSAGES).write_text("garbage\n")
    with pytest.raises(IndexCorruptError):
        PassageIndex.load(directory, fake_embedder, verify=False)


def test_a_missing_directory_is_not_found(fake_embedder, tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="rag index"):
        PassageIndex.load(tmp_path / "nowhere", fake_embedder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError):
        PassageIndex.load(tmp_path / "empty", fake_embedder)


def test_a_crash_during_save_keeps_the_previous_index(
    saved, fake_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, directory = saved
    before = results(index, "hybrid")
    original = PassageIndex._write

    def crashing(self: PassageIndex, tmp: Path) -> None:
        original(self, tmp)  # every file is written...
        raise OSError("disk full")  # ...but the save dies before the rename

    index.add([document_from_text("A brand new text about sanctions.", "new.txt")])
    monkeypatch.setattr(PassageIndex, "_write", crashing)
    with pytest.raises(IndexStoreError, match="disk full.*previous index is unchanged"):
        index.save(directory)

    assert sorted(p.name for p in directory.parent.iterdir()) == [directory.name]
    loaded = PassageIndex.load(directory, fake_embedder)
    assert "new.txt" not in {d.source for d in loaded.documents.values()}
    assert results(loaded, "hybrid") == before


def test_a_crash_after_the_first_file_leaves_no_index_and_no_temp_dir(
    fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing(self: PassageIndex, tmp: Path) -> None:
        (tmp / PASSAGES).write_text("{}\n")
        raise RuntimeError("killed")

    monkeypatch.setattr(PassageIndex, "_write", crashing)
    with pytest.raises(RuntimeError):
        build(fake_embedder).save(tmp_path / "idx")
    assert list(tmp_path.iterdir()) == []


def test_remove_keeps_sentence_vectors_aligned(fake_embedder) -> None:
    index = build(fake_embedder)
    removed = index.remove(["space.txt", "not-indexed.txt"])
    assert [d.source for d in removed] == ["space.txt"]
    assert all(p.source != "space.txt" for p in index.passages)
    assert len(index.vectors_of(np.arange(len(index.passages)))) == len(index.passages)
    for row, passage in enumerate(index.passages):
        expected = fake_embedder.encode(passage.sentence_texts())
        np.testing.assert_allclose(index.sentence_vectors_of(row), expected, atol=1e-6)
    assert index.remove(["space.txt"]) == []


def test_adding_a_source_again_replaces_it(fake_embedder) -> None:
    index = build(fake_embedder)
    n = len(index.passages)
    old = sum(p.source == "ad.txt" for p in index.passages)
    index.add([document_from_text("Completely different words now.", "ad.txt")])
    ad = [p for p in index.passages if p.source == "ad.txt"]
    assert [p.text for p in ad] == ["Completely different words now."]
    assert len(index.passages) == n - old + 1
    assert len(index.documents) == len(TEXTS)
    hits = Retriever(index, mode="bm25").search("doomsday clock", 3)
    assert all("Doomsday" not in h.passage.text for h in hits)
