"""The index directory: atomic saves behind ``CURRENT``, crash safety at any instant (a real
``kill -9`` in a loop), leftovers cleaned, other files left alone, older formats refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import directory as directory_module
from index.directory import CURRENT, SNAPSHOT_PREFIX, IndexDirectory
from index.errors import IndexMismatchError, IndexNotFoundError, IndexStoreError
from index.manifest import MANIFEST
from rag.embed import identity_of
from tests.conftest import build_store

TEXTS = {
    "a.txt": "The Non-Proliferation Treaty is the core of international security.",
    "b.txt": "Russia and China presented a draft treaty on weapons in outer space.",
}
REPO = Path(__file__).resolve().parents[2]


def snapshots(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name.startswith(SNAPSHOT_PREFIX))


def test_a_save_switches_current_and_deletes_the_old_snapshot(fake_embedder, tmp_path) -> None:
    directory = IndexDirectory(tmp_path / "idx")
    assert not directory.exists() and directory.stamp() is None
    with directory.writing():
        first = directory.save(build_store(fake_embedder, TEXTS))
    assert directory.exists() and directory.stamp() == first
    assert snapshots(directory.path) == [first]
    (directory.path / "uploads").mkdir()
    (directory.path / "uploads" / "mine.txt").write_text("kept")

    with directory.writing():
        second = directory.save(build_store(fake_embedder, {"c.txt": "Something else."}))
    assert second != first and snapshots(directory.path) == [second]
    stamp, loaded = directory.load(identity_of(fake_embedder))
    assert stamp == second and [d.source for d in loaded.documents()] == ["c.txt"]
    assert (directory.path / "uploads" / "mine.txt").read_text() == "kept"


def test_a_failed_save_keeps_the_previous_index(
    fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = IndexDirectory(tmp_path / "idx")
    with directory.writing():
        first = directory.save(build_store(fake_embedder, TEXTS))
    real = directory_module.write_snapshot

    def disk_full(store, path: Path) -> None:  # noqa: ANN001
        real(store, path)  # every file is written...
        raise OSError(28, "No space left on device")  # ...but the save dies before the switch

    monkeypatch.setattr(directory_module, "write_snapshot", disk_full)
    with pytest.raises(IndexStoreError, match="No space left.*previous index is unchanged"):
        directory.save(build_store(fake_embedder, {"c.txt": "New."}))
    assert directory.stamp() == first and snapshots(directory.path) == [first]
    _, loaded = directory.load(identity_of(fake_embedder))
    assert sorted(d.source for d in loaded.documents()) == sorted(TEXTS)


def test_leftovers_of_a_killed_writer_are_ignored_then_cleaned(fake_embedder, tmp_path) -> None:
    directory = IndexDirectory(tmp_path / "idx")
    with directory.writing():
        first = directory.save(build_store(fake_embedder, TEXTS))
    (directory.path / f"{SNAPSHOT_PREFIX}dead").mkdir()
    (directory.path / f"{SNAPSHOT_PREFIX}dead" / MANIFEST).write_text("{half")
    (directory.path / f".{CURRENT}.{SNAPSHOT_PREFIX}dead").write_text("snapshot-dead\n")
    assert directory.load(identity_of(fake_embedder))[0] == first
    with directory.writing():
        second = directory.save(build_store(fake_embedder, TEXTS))
    assert sorted(p.name for p in directory.path.iterdir() if not p.name.endswith(".lock")) == [
        CURRENT,
        second,
    ]


def test_an_older_format_is_refused_not_overwritten(fake_embedder, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / MANIFEST).write_text(json.dumps({"format_version": 1}))
    directory = IndexDirectory(old)
    assert directory.exists()
    with pytest.raises(IndexMismatchError, match="format 1.*rebuild"):
        directory.load(identity_of(fake_embedder))
    with pytest.raises(IndexNotFoundError, match="rag index"):
        IndexDirectory(tmp_path / "nowhere").load(identity_of(fake_embedder))


_WRITER = """
import sys
import numpy as np
from index.contract import ModelIdentity, PassageBatch
from index.directory import IndexDirectory
from index.passages import PassageIndex
from index.records import Document, Passage

identity = ModelIdentity("m", "0" * 64, 8)
directory = IndexDirectory(sys.argv[1])
for i in range(100000):
    with directory.writing():
        store = directory.load(identity)[1] if directory.exists() else PassageIndex(identity)
        text = f"document number {i}."
        doc = Document(f"d{i}", f"{i}.txt", f"{i}", text)
        span = (0, len(text))
        passage = Passage(f"p{i}", doc.id, doc.source, doc.title, text, *span, 1, (span,))
        vector = np.random.default_rng(i).standard_normal((1, 8)).astype(np.float32)
        store.add(PassageBatch((doc,), (passage,), vector, vector, (("document", f"n{i}"),)))
        directory.save(store)
"""


@pytest.mark.slow
def test_kill_9_at_any_instant_leaves_a_whole_index(tmp_path: Path) -> None:
    from index.contract import ModelIdentity

    path = tmp_path / "idx"
    identity = ModelIdentity("m", "0" * 64, 8)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seen = 0
    for round_ in range(6):
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], env=env)
        time.sleep(1.5 + 0.37 * round_)  # a different instant of the save loop each time
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        directory = IndexDirectory(path)
        if not directory.exists():
            continue
        _, store = directory.load(identity)  # whole: checksums and sizes verified
        assert len(store) >= seen  # nothing saved before is lost
        seen = len(store)
    assert seen > 0
    with IndexDirectory(path).writing():
        IndexDirectory(path).save(store)
    assert len(snapshots(path)) == 1
