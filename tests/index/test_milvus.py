"""The Milvus store (on Milvus Lite): the directory store's searches and lookups exactly, BM25 as
sparse vectors, saves that readers see whole or not at all, addresses, and refusals.

The pipeline's own tests (tests/rag/test_pipeline.py) run once per store as well."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index import milvus_save
from index.bm25 import BM25Index
from index.config import IndexConfig
from index.errors import IndexMismatchError, IndexStoreError, InvalidInputError
from index.lexical import passage_weights, query_weights, sparse_dot
from index.milvus import MilvusLocation
from index.milvus_schema import MilvusAddress
from index.milvus_store import MilvusStore
from rag.analysis import ANALYSER, index_terms
from rag.config import ChunkConfig
from rag.embed import identity_of
from rag.indexing import Indexer
from rag.ingest import document_from_text
from rag.pipeline import RAG
from tests.conftest import REPO, FakeEmbedder, assert_verbatim, build_store
from tests.index.test_store import QUERIES, TEXTS, searches


def test_sparse_bm25_gives_bm25s_scores() -> None:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(40)]
    docs = [[rng.choice(words) for _ in range(rng.randint(0, 30))] for _ in range(60)]
    bm25 = BM25Index.build(docs, IndexConfig())
    avgdl = sum(map(len, docs)) / len(docs)
    weights = [passage_weights(d, avgdl, k1=1.2, b=0.75) for d in docs]
    for _ in range(20):
        query = [rng.choice([*words, "unknown"]) for _ in range(rng.randint(1, 6))]
        q = query_weights(query, bm25.document_frequency(query), len(docs))
        expected = bm25.scores(query)
        np.testing.assert_allclose([sparse_dot(q, w) for w in weights], expected, rtol=1e-5)


def test_addresses() -> None:
    lite = MilvusAddress.parse("milvus:///data/rag.db?collection=papers")
    assert (lite.uri, lite.collection, lite.lite) == ("/data/rag.db", "papers", True)
    assert lite.local_dir == Path("/data/rag.db.files/papers")
    server = MilvusAddress.parse("milvus://db.example:19531/papers")
    assert (server.uri, server.collection, server.lite) == (
        "http://db.example:19531",
        "papers",
        False,
    )
    assert MilvusAddress.parse("milvus://db.example").uri == "http://db.example:19530"
    for text in (str(lite), str(server)):
        assert MilvusAddress.parse(text) == MilvusAddress.parse(text)
        assert str(MilvusAddress.parse(text)) == text
    for bad in (
        "milvus://relative.db",
        "milvus:///data/rag.txt",
        "milvus://host/9bad",
        "milvus://h/a-b",
    ):
        if bad == "milvus://relative.db":  # a host named relative.db: the name is fine
            continue
        with pytest.raises(InvalidInputError):
            MilvusAddress.parse(bad)


def _milvus_store(embedder: FakeEmbedder, address: str, texts: dict[str, str]) -> MilvusStore:
    location = MilvusLocation(address)
    store = location.new_store(identity_of(embedder), {"analyser": ANALYSER}, None)
    docs = [document_from_text(text, source) for source, text in texts.items()]
    Indexer(embedder, ChunkConfig()).add_documents(store, docs)
    location.save(store)
    return location.load(identity_of(embedder))[1]


def test_searches_and_lookups_equal_the_directory_stores(fake_embedder, tmp_path: Path) -> None:
    directory = build_store(fake_embedder, TEXTS)
    stored = _milvus_store(fake_embedder, f"milvus://{tmp_path}/m.db", TEXTS)
    assert searches(stored, fake_embedder) == searches(directory, fake_embedder)
    assert stored.documents() == directory.documents()
    assert stored.passages() == directory.passages()
    assert len(stored) == len(directory)
    for p in directory.passages():
        assert stored.passage(p.id) == p
        assert stored.passages_of(p.doc_id) == directory.passages_of(p.doc_id)
        np.testing.assert_allclose(stored.passage_vector(p.id), directory.passage_vector(p.id))
        np.testing.assert_allclose(
            stored.sentence_vectors(p.id), directory.sentence_vectors(p.id), atol=1e-6
        )
    words = ["treaty", "ngos", "never-used", "the"]
    assert stored.document_frequency(words) == directory.document_frequency(words)
    assert stored.idf(words) == pytest.approx(directory.idf(words))
    with pytest.raises(KeyError):
        stored.passage("no-such-id")


@pytest.fixture
def milvus_rag(tmp_path: Path, fake_embedder) -> RAG:
    rag = RAG(f"milvus://{tmp_path}/m.db", embedder=fake_embedder)
    rag.index_texts(TEXTS)
    return rag


@contextlib.contextmanager
def failing_writes(location: MilvusLocation, collection: str, error: Exception) -> Iterator[None]:
    """Writes to one of the index's collections fail with ``error`` inside the block."""
    client = location.client
    real_upsert = client.upsert

    def upsert(name: str, rows: list) -> object:
        if name == location.names[collection]:
            raise error
        return real_upsert(name, rows)

    client.upsert = upsert
    try:
        yield
    finally:
        del client.upsert  # the client's own method again


def test_a_failed_save_changes_nothing_and_the_next_cleans_up(milvus_rag: RAG) -> None:
    location = milvus_rag.location
    assert isinstance(location, MilvusLocation)
    before = [(h.passage.id, h.score) for h in milvus_rag.search("treaty", 3)]
    client = location.client
    from pymilvus.exceptions import MilvusException

    lost = MilvusException(message="connection lost")
    with failing_writes(location, "meta", lost), pytest.raises(IndexStoreError, match="lost"):
        milvus_rag.index_texts({"extra": "An extra text about the treaty that never got saved."})

    reopened = RAG(str(location), embedder=milvus_rag.embedder)
    for rag in (milvus_rag, reopened):
        assert sorted(d.source for d in rag.documents()) == sorted(TEXTS)
        assert [(h.passage.id, h.score) for h in rag.search("treaty", 3)] == before
        assert all(p.source != "extra" for p in rag.passages())
    saves = location._meta()["saves"]  # type: ignore[index]
    leftovers = client.query(location.names["passages"], filter=f"added_in > {saves}", limit=100)
    assert leftovers  # the failed save's rows are there, unseen
    milvus_rag.index_texts({"later": "A later text."})
    assert (
        client.query(location.names["passages"], filter=f"added_in > {saves + 1}", limit=100) == []
    )
    assert sorted(d.source for d in milvus_rag.documents()) == sorted([*TEXTS, "later"])


def test_retired_documents_are_deleted_after_the_grace_period(
    milvus_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = milvus_rag.location
    assert isinstance(location, MilvusLocation)
    client, names = location.client, location.names

    def stored_rows(source: str) -> int:
        return len(client.query(names["passages"], filter=f'source == "{source}"', limit=100))

    milvus_rag.remove(["ad.txt"])
    assert stored_rows("ad.txt") > 0  # kept for readers of the previous save…
    assert "ad.txt" not in {d.source for d in milvus_rag.documents()}
    assert all(h.passage.source != "ad.txt" for h in milvus_rag.search("doomsday clock", 5))
    monkeypatch.setattr(milvus_save, "GRACE_S", 0.0)
    milvus_rag.index_texts({"later": "A later text."})
    assert stored_rows("ad.txt") == 0  # …and deleted by the first save after the grace period
    assert client.query(names["retired"], filter="added_in >= 0", limit=100) == []
    assert milvus_rag.store.view.retired == {}  # type: ignore[attr-defined]
    assert milvus_rag.store.document_frequency(["doomsday"]) == {"doomsday": 0}


def test_another_model_is_refused(milvus_rag: RAG) -> None:
    class Wider(FakeEmbedder):
        dimension = 32

    with pytest.raises(IndexMismatchError, match="running model"):
        RAG(str(milvus_rag.location), embedder=Wider()).documents()


def test_a_lite_file_in_use_by_another_process_explains_itself(milvus_rag: RAG) -> None:
    milvus_rag.documents()  # this process holds the file
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "documents", "--store", str(milvus_rag.location)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        result.stderr.startswith("error: Milvus at milvus://")
        and "milvus-lite server" in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.fixture
def milvus_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A Milvus Lite server process (the way several processes share one collection)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the writers' lock folder
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        yield f"milvus://127.0.0.1:{port}/shared"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_two_processes_read_consistently_while_a_third_writes(milvus_server: str) -> None:
    RAG(milvus_server, embedder=FakeEmbedder()).index_texts(TEXTS)

    def worker(role: str, rounds: int) -> subprocess.Popen:
        command = [sys.executable, "-m", "tests.index.milvus_worker", role, milvus_server]
        return subprocess.Popen(
            [*command, str(rounds)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )

    writer = worker("write", 6)
    readers = [worker("read", 25) for _ in range(2)]
    results = [json.loads(r.communicate(timeout=300)[0]) for r in readers]
    writer.communicate(timeout=300)
    assert writer.returncode == 0
    assert [r["failures"] for r in results] == [[], []]
    # every answer about the unchanged document cites the same passage, in both readers
    assert results[0]["cited"] == results[1]["cited"] and len(results[0]["cited"]) == 1
    after = RAG(milvus_server, embedder=FakeEmbedder())
    assert {"churn.txt", "extra-5.txt"} <= {d.source for d in after.documents()}
    assert "extra-4.txt" not in {d.source for d in after.documents()}


def test_migrating_a_directory_into_milvus_and_back_keeps_every_search(
    tmp_path: Path, fake_embedder
) -> None:
    source = RAG(tmp_path / "idx", embedder=fake_embedder)
    source.index_texts(TEXTS)

    def copy(to: str | Path, of: RAG) -> RAG:
        target = RAG(to, embedder=fake_embedder, chunk_config=of.chunk_config, fusion=of.fusion,
                     index_config=of.store.config)  # fmt: skip
        assert target.copy_from(of) == len(of.passages())
        return target

    into = copy(f"milvus://{tmp_path}/m.db", source)
    back = copy(tmp_path / "back", into)
    for rag in (into, back):
        assert rag.documents() == source.documents() and rag.passages() == source.passages()
        for query in QUERIES:
            for mode in ("hybrid", "dense", "bm25"):
                found = [(h.passage.id, round(h.score, 5)) for h in rag.search(query, 3, mode=mode)]
                expected = source.search(query, 3, mode=mode)
                assert found == [(h.passage.id, round(h.score, 5)) for h in expected]


def test_the_bundled_interview_is_answered_alike_from_milvus(default_rag, tmp_path: Path) -> None:
    """The user's view with the real model: every answer from the Milvus copy is the directory
    index's answer (quotes, citations, confidence), verbatim."""
    copy = RAG(f"milvus://{tmp_path}/m.db", embedder=default_rag.embedder,
               chunk_config=default_rag.chunk_config, fusion=default_rag.fusion,
               index_config=default_rag.store.config)  # fmt: skip
    copy.copy_from(default_rag)
    lines = (REPO / "tests/data/corpus_retrieval_questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines[:12]]
    questions.append("What is the boiling point of liquid nitrogen?")  # not in the interview
    for question in questions:
        expected, found = default_rag.ask(question), copy.ask(question)
        assert found.abstained == expected.abstained and found.answer == expected.answer
        assert found.confidence == pytest.approx(expected.confidence, abs=1e-4)
        assert [c.to_dict() for c in found.citations] == [c.to_dict() for c in expected.citations]
        assert_verbatim(found, copy)


def test_a_passage_without_bm25_terms_is_stored_and_found(milvus_rag: RAG) -> None:
    assert index_terms("It is as it was.") == []  # stop words only
    milvus_rag.index_texts({"stop-words.txt": "It is as it was."})
    assert (
        milvus_rag.search("It is as it was.", 1, mode="dense")[0].passage.source == "stop-words.txt"
    )
    assert all(
        h.passage.source != "stop-words.txt" for h in milvus_rag.search("treaty", 3, mode="bm25")
    )
    milvus_rag.remove(["stop-words.txt"])
    assert "stop-words.txt" not in {d.source for d in milvus_rag.documents()}


def test_adding_the_same_text_again_changes_nothing_a_reader_sees(
    milvus_rag: RAG, fake_embedder
) -> None:
    again = {"ad.txt": TEXTS["ad.txt"], "npt.txt": TEXTS["npt.txt"]}
    milvus_rag.index_texts(again)
    directory = build_store(fake_embedder, TEXTS)  # the same steps on the directory store
    docs = [document_from_text(text, source) for source, text in again.items()]
    Indexer(fake_embedder, ChunkConfig()).add_documents(directory, docs)
    reopened = RAG(str(milvus_rag.location), embedder=milvus_rag.embedder)
    for rag in (milvus_rag, reopened):
        assert rag.store.documents() == directory.documents()
        assert rag.passages() == directory.passages() and len(rag.store) == len(directory)
        assert searches(rag.store, fake_embedder) == searches(directory, fake_embedder)


def test_a_failed_fresh_save_keeps_the_index(milvus_rag: RAG) -> None:
    location = milvus_rag.location
    assert isinstance(location, MilvusLocation)
    full = IndexStoreError("disk full")
    with failing_writes(location, "sentences", full), pytest.raises(IndexStoreError, match="full"):
        milvus_rag.index_documents([document_from_text("Other words.", "other.txt")], fresh=True)
    reopened = RAG(str(location), embedder=milvus_rag.embedder)
    assert sorted(d.source for d in reopened.documents()) == sorted(TEXTS)
    milvus_rag.index_documents([document_from_text("Other words.", "other.txt")], fresh=True)
    assert [d.source for d in RAG(str(location), embedder=milvus_rag.embedder).documents()] == [
        "other.txt"
    ]


def test_term_counts_of_a_failed_save_never_count(milvus_rag: RAG, fake_embedder) -> None:
    location = milvus_rag.location
    assert isinstance(location, MilvusLocation)
    lost = IndexStoreError("connection lost")
    with failing_writes(location, "meta", lost), pytest.raises(IndexStoreError):
        milvus_rag.index_texts({"zeta.txt": "Zeta treaty zeta."})
    reader = RAG(str(location), embedder=fake_embedder)
    assert reader.store.document_frequency(["zeta"]) == {"zeta": 0}  # not before the commit
    milvus_rag.index_texts({"later.txt": "A later text."})
    directory = build_store(fake_embedder, {**TEXTS, "later.txt": "A later text."})
    words = ["zeta", "treaty", "later", "text"]
    assert milvus_rag.store.document_frequency(words) == directory.document_frequency(words)
    assert milvus_rag.store.idf(words) == pytest.approx(directory.idf(words))


def test_a_file_whose_bytes_change_but_not_its_text_is_updated_once(
    tmp_path: Path,
    fake_embedder,
    write_files,  # noqa: ANN001
) -> None:
    folder = write_files(tmp_path / "docs", {"a.txt": "One line about the treaty.\n"})
    rag = RAG(f"milvus://{tmp_path}/m.db", embedder=fake_embedder)
    rag.index_paths([folder])
    (folder / "a.txt").write_bytes(b"One line about the treaty.\r\n")  # same cleaned text
    assert len(rag.index_paths([folder]).updated) == 1
    assert len(rag.index_paths([folder]).unchanged) == 1  # the new content hash was kept
    hits = rag.search("treaty", 1)
    assert rag.stale_warnings(hits) == [] and len(rag.passages()) == 1


def test_searching_an_emptied_index_finds_nothing(milvus_rag: RAG, fake_embedder) -> None:
    milvus_rag.remove(list(TEXTS))
    store = milvus_rag.store
    for args in ((fake_embedder.encode(["treaty"])[0], ["treati"]), (None, ["treati"])):
        assert store.search(*args, 5).ids == ()


def test_a_failure_while_reading_is_one_line(milvus_rag: RAG) -> None:
    location = milvus_rag.location
    assert isinstance(location, MilvusLocation)
    location.client.release_collection(location.names["passages"])
    with pytest.raises(IndexStoreError, match="^Milvus at milvus://") as caught:
        milvus_rag.search("treaty", 3)
    assert "\n" not in str(caught.value)
