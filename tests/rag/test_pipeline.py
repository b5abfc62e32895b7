"""Incremental indexing through ``RAG``: add, skip unchanged, update, remove, report bad files,
and stay consistent with several writers and concurrent readers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.config import ChunkConfig, FusionConfig
from rag.errors import (
    EmptyCorpusError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
    PathNotFoundError,
    UnreadableDocumentError,
    UnsupportedFileError,
)
from rag.opening import open_index
from rag.pipeline import RAG

FILES = {
    "npt.txt": "The core element of international security is the Non-Proliferation Treaty.",
    "space.txt": "Russia and China presented a draft treaty against weapons in outer space.",
    "ngo.txt": "Over forty NGOs got consultative status with the Economic and Social Council.",
}


@pytest.fixture
def corpus(tmp_path: Path, write_files) -> Path:  # noqa: ANN001
    return write_files(tmp_path / "docs", FILES)


@pytest.fixture
def rag(index_location: str | Path, fake_embedder) -> RAG:
    return RAG(index_location, embedder=fake_embedder)


def sources(rag: RAG) -> list[str]:
    return [Path(d.source).name for d in rag.documents()]


def test_index_a_folder_then_reindex_unchanged(rag: RAG, corpus: Path) -> None:
    report = rag.index_paths([corpus])
    assert sorted(Path(s).name for s in report.added) == sorted(FILES)
    assert report.updated == report.unchanged == report.skipped == ()
    assert report.passages == len(rag.passages()) >= 3
    assert report.changed and "3 added" in report.summary()
    assert sources(rag) == sorted(FILES)

    again = rag.index_paths([corpus])
    assert len(again.unchanged) == 3
    assert again.added == again.updated == ()
    assert again.passages == 0 and not again.changed
    assert "0 new passages" in again.summary()


def test_a_modified_file_replaces_its_passages(rag: RAG, corpus: Path) -> None:
    rag.index_paths([corpus])
    n = len(rag.passages())
    (corpus / "space.txt").write_text("The Doomsday Clock reads five minutes to midnight.")

    report = rag.index_paths([corpus])
    assert [Path(s).name for s in report.updated] == ["space.txt"]
    assert len(report.unchanged) == 2 and report.added == ()
    texts = [p.text for p in rag.passages()]
    assert not any("outer space" in t for t in texts)
    assert len(texts) == n
    assert "Doomsday" in rag.search("doomsday clock midnight", 1, mode="bm25")[0].passage.text
    for mode in ("bm25", "hybrid", "dense"):
        hits = rag.search("weapons in outer space", 3, mode=mode)
        assert all("outer space" not in h.passage.text for h in hits)


def test_remove_a_file_and_a_path_not_indexed(rag: RAG, corpus: Path) -> None:
    rag.index_paths([corpus])
    report = rag.remove([corpus / "ngo.txt"])
    assert [Path(s).name for s in report.removed] == ["ngo.txt"]
    assert sources(rag) == ["npt.txt", "space.txt"]
    assert all("NGOs" not in p.text for p in rag.passages())
    assert all("NGOs" not in h.passage.text for h in rag.search("NGOs consultative", 3))

    with pytest.raises(PathNotFoundError, match="not in the index"):
        rag.remove([corpus / "ngo.txt"])
    with pytest.raises(PathNotFoundError):
        rag.remove(["/no/such/file.txt"])
    assert sources(rag) == ["npt.txt", "space.txt"]  # a failed remove changes nothing


def test_removing_a_folder_removes_everything_under_it(rag: RAG, corpus: Path) -> None:
    rag.index_paths([corpus])
    rag.index_texts({"note": "A separate note about arms control and security."})
    report = rag.remove([corpus])
    assert len(report.removed) == 3
    assert [d.source for d in rag.documents()] == ["note"]


def test_a_bad_file_is_skipped_and_reported(rag: RAG, corpus: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 \x00\x01 garbage \xff\xfe not a pdf")
    report = rag.index_paths([corpus])
    assert len(report.added) == 3
    assert len(report.skipped) == 1
    error = report.skipped[0]
    assert isinstance(error, UnreadableDocumentError)
    assert error.path.endswith("broken.pdf")
    assert "1 skipped" in report.summary()
    assert "broken.pdf" not in " ".join(d.source for d in rag.documents())


def test_an_unsupported_file_named_explicitly_is_reported(rag: RAG, corpus: Path) -> None:
    (corpus / "data.xyz").write_text("words")
    report = rag.index_paths([corpus / "npt.txt", corpus / "data.xyz"])
    assert len(report.added) == 1
    assert [type(e) for e in report.skipped] == [UnsupportedFileError]


def test_only_bad_files_is_an_empty_corpus_and_leaves_no_index(rag: RAG, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.pdf").write_bytes(b"garbage")
    (bad / "b.txt").write_bytes(b"   \n  ")
    with pytest.raises(EmptyCorpusError, match="nothing could be indexed"):
        rag.index_paths([bad])
    assert not rag.exists()
    assert not rag.index_dir.exists()  # a first write that saved nothing leaves no trace
    with pytest.raises(IndexNotFoundError):
        open_index(str(rag.location), embedder=rag.embedder)


def test_a_missing_path_indexes_nothing(rag: RAG, corpus: Path) -> None:
    with pytest.raises(PathNotFoundError, match="does not exist"):
        rag.index_paths([corpus / "npt.txt", corpus / "missing.txt"])
    assert not rag.exists()


def test_index_texts(rag: RAG) -> None:
    added = rag.index_texts(
        {
            "first": "The Bulletin of the Atomic Scientists costs 48 dollars a year.",
            "second": "The START Treaty restrictions expire in 2009.",
        }
    )
    assert added == 2
    assert [d.source for d in rag.documents()] == ["first", "second"]
    assert rag.search("START treaty expire", 1, mode="bm25")[0].passage.source == "second"
    reopened = RAG(str(rag.location), embedder=rag.embedder)
    assert [d.source for d in reopened.documents()] == ["first", "second"]


def test_search_validates_its_input(rag: RAG, corpus: Path) -> None:
    from rag.errors import InvalidInputError

    rag.index_paths([corpus])
    with pytest.raises(InvalidInputError):
        rag.search("treaty", 0)
    with pytest.raises(InvalidInputError):
        rag.search("  ", 3)
    with pytest.raises(InvalidInputError):
        rag.search("treaty", 3, mode="fuzzy")  # type: ignore[arg-type]


def test_a_crashed_save_changes_nothing(
    tmp_path: Path, fake_embedder, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The Milvus store's version: tests/index/test_milvus.py.)"""
    from index import directory
    from index.snapshot import PASSAGES

    rag = RAG(tmp_path / "idx", embedder=fake_embedder)
    rag.index_paths([corpus])
    before = [(h.passage.id, h.score) for h in rag.search("treaty", 3)]

    def crashing(store: object, path: Path) -> None:
        (path / PASSAGES).write_text("{}\n")
        raise OSError("disk full")

    monkeypatch.setattr(directory, "write_snapshot", crashing)
    with pytest.raises(IndexStoreError, match="disk full"):
        rag.index_texts({"extra": "An extra text about the treaty that never got saved."})

    assert sources(rag) == sorted(FILES)  # the loaded index did not take the lost change
    assert [(h.passage.id, h.score) for h in rag.search("treaty", 3)] == before
    reopened = RAG(str(rag.location), embedder=rag.embedder)
    assert sources(reopened) == sorted(FILES)
    assert len([p for p in rag.index_dir.iterdir() if p.name.startswith("snapshot-")]) == 1


def test_opening_a_missing_index_fails(tmp_path: Path, fake_embedder) -> None:
    with pytest.raises(IndexNotFoundError):
        open_index(tmp_path / "nothing-here", embedder=fake_embedder)
    assert not (tmp_path / "nothing-here").exists()
    created = open_index(tmp_path / "new", create=True, embedder=fake_embedder)
    assert not created.exists()
    with pytest.raises(IndexNotFoundError):  # opened for creation is not an index yet
        open_index(tmp_path / "new", embedder=fake_embedder)


def test_open_index_opens_each_index_once(
    rag: RAG, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag.index_paths([corpus])
    loads = []
    location = type(rag.location)
    real_load = location.load

    def counting(self: object, *args: object, **kwargs: object) -> object:
        loads.append(self)
        return real_load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(location, "load", counting)
    opened = open_index(str(rag.location), embedder=rag.embedder)
    for _ in range(5):
        assert open_index(str(rag.location), embedder=rag.embedder) is opened
        opened.search("treaty", 2)
    assert len(loads) == 1
    rag.index_texts({"note": "A note on treaties."})  # a save by anyone is picked up
    assert "note" in sources(opened) and len(loads) == 3  # the writer's copy, then ours


def test_settings_that_differ_from_the_index_are_refused(rag: RAG, corpus: Path) -> None:
    rag.index_paths([corpus])
    for asked in (
        {"chunk_config": ChunkConfig(max_tokens=50)},
        {"fusion": FusionConfig(method="rrf")},
    ):
        with pytest.raises(IndexMismatchError, match="leave them out"):
            open_index(str(rag.location), embedder=rag.embedder, **asked)  # type: ignore[arg-type]
        with pytest.raises(IndexMismatchError):
            RAG(str(rag.location), embedder=rag.embedder, **asked).index_paths([corpus])  # type: ignore[arg-type]
    same = open_index(str(rag.location), embedder=rag.embedder, fusion=FusionConfig())
    assert same.fusion == FusionConfig() and same.chunk_config == ChunkConfig()


def test_a_new_index_records_the_settings_it_was_given(
    tmp_path: Path, fake_embedder, corpus: Path
) -> None:
    fusion = FusionConfig(method="rrf", alpha=0.3)
    chunking = ChunkConfig(max_tokens=120, min_tokens=8)
    rag = RAG(tmp_path / "idx", embedder=fake_embedder, fusion=fusion, chunk_config=chunking)
    rag.index_paths([corpus])
    reopened = RAG(tmp_path / "idx", embedder=fake_embedder)
    assert reopened.fusion == fusion and reopened.chunk_config == chunking
    assert reopened.retriever().fusion == fusion


def test_reindexing_unchanged_files_writes_nothing(rag: RAG, corpus: Path) -> None:
    rag.index_paths([corpus])
    stamp = rag.location.stamp()
    rag.index_paths([corpus])
    assert rag.location.stamp() == stamp


def test_two_writers_on_one_directory_lose_nothing(
    tmp_path: Path, corpus: Path, fake_embedder
) -> None:
    directory = tmp_path / "idx"
    first = RAG(directory, embedder=fake_embedder)
    second = RAG(directory, embedder=fake_embedder)
    first.index_paths([corpus / "npt.txt"])
    second.store  # noqa: B018 - both processes now hold the same state in memory
    first.index_paths([corpus / "space.txt"])
    second.index_paths([corpus / "ngo.txt"])  # must re-read, not overwrite first's change
    assert sources(RAG(directory, embedder=fake_embedder)) == sorted(FILES)
    assert sources(first) == sorted(FILES)


def test_concurrent_writers_in_threads_lose_nothing(tmp_path: Path, fake_embedder) -> None:
    directory = tmp_path / "idx"
    writers = [RAG(directory, embedder=fake_embedder) for _ in range(4)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for j in range(3):
                writers[n].index_texts({f"w{n}-{j}": f"Writer {n} wrote text number {j}."})
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(RAG(directory, embedder=fake_embedder).documents()) == 12


def test_searching_while_another_thread_indexes(rag: RAG, tmp_path: Path) -> None:
    rag.index_texts({f"base{i}": f"Base text {i} about treaties and security." for i in range(5)})
    stop = threading.Event()
    errors: list[BaseException] = []
    counts: list[int] = []

    def search() -> None:
        try:
            while not stop.is_set():
                for mode in ("hybrid", "dense", "bm25"):
                    hits = rag.search("treaty security text", 3, mode=mode)
                    assert len(hits) == 3 and [h.rank for h in hits] == [1, 2, 3]
                    counts.append(len(hits))
        except BaseException as e:
            errors.append(e)

    readers = [threading.Thread(target=search) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for i in range(8):
            rag.index_texts(
                {f"new{i}": f"New text {i} about security.", "base0": f"Rewritten {i}."}
            )
            rag.remove([f"new{i}"])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert errors == []
    assert counts
    assert sorted(d.source for d in rag.documents()) == [f"base{i}" for i in range(5)]
