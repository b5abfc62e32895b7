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


def test_a_save_leaves_the_directory_mode_as_the_user_set_it(fake_embedder, tmp_path) -> None:
    directory = IndexDirectory(tmp_path / "idx")
    with directory.writing():
        directory.save(build_store(fake_embedder, TEXTS))
    directory.path.chmod(0o750)  # shared with a group, say

    with directory.writing():
        directory.save(build_store(fake_embedder, {"c.txt": "Something else."}))

    assert directory.path.stat().st_mode & 0o777 == 0o750


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


_STEP_KILLER = """
import os
import sys
import numpy as np
from index.contract import ModelIdentity, PassageBatch
from index.directory import IndexDirectory
from index.records import Document, Passage

STEPS = {"open", "os.rename", "os.remove", "os.mkdir", "os.rmdir", "shutil.rmtree", "os.truncate"}
kill_at, seen = int(sys.argv[2]), 0
directory = IndexDirectory(sys.argv[1])
identity = ModelIdentity("m", "0" * 64, 8)
with directory.writing():
    store = directory.load(identity)[1]
    text = "the new document."
    doc = Document("new", "new.txt", "new", text)
    passage = Passage("p-new", doc.id, doc.source, doc.title, text, 0, len(text), 1, ((0, 17),))
    vector = np.ones((1, 8), dtype=np.float32)
    store.add(PassageBatch((doc,), (passage,), vector, vector, (("new", "n"),)))

    def hook(event, args):
        global seen
        if event in STEPS:
            seen += 1
            if seen == kill_at:
                os._exit(9)  # like kill -9: no cleanup, no finally, no flush

    sys.addaudithook(hook)
    directory.save(store)
print("saved after", seen, "steps")
"""


@pytest.mark.slow
def test_a_save_killed_at_each_of_its_steps_leaves_the_old_or_the_new_index_whole(
    tmp_path: Path,
) -> None:
    """Every file operation of a save (create, open, rename, remove) is a kill point: after each
    one, the index opens whole with the old or the new documents, and the next save cleans up."""
    import shutil

    import numpy as np

    from index.contract import ModelIdentity, PassageBatch
    from index.passages import PassageIndex
    from index.records import Document, Passage

    identity = ModelIdentity("m", "0" * 64, 8)
    pristine = tmp_path / "pristine"
    text = "the old document."
    doc = Document("old", "old.txt", "old", text)
    passage = Passage("p-old", doc.id, doc.source, doc.title, text, 0, len(text), 1, ((0, 17),))
    store = PassageIndex(identity)
    vector = np.ones((1, 8), dtype=np.float32)
    store.add(PassageBatch((doc,), (passage,), vector, vector, (("old", "n"),)))
    with IndexDirectory(pristine).writing():
        IndexDirectory(pristine).save(store)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outcomes = []
    for kill_at in range(1, 200):
        path = tmp_path / f"kill-{kill_at}"
        shutil.copytree(pristine, path)
        done = subprocess.run(
            [sys.executable, "-c", _STEP_KILLER, str(path), str(kill_at)],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        directory = IndexDirectory(path)
        _, opened = directory.load(identity)  # whole: checksums and sizes verified
        sources = sorted(d.source for d in opened.documents())
        assert sources in (["old.txt"], ["new.txt", "old.txt"]), (kill_at, sources)
        outcomes.append(sources == ["new.txt", "old.txt"])
        with directory.writing():
            directory.save(opened)  # the next save removes whatever the killed one left
        leftovers = [p.name for p in path.iterdir() if p.name not in (CURRENT, ".write.lock",
                     ".read.lock")]  # fmt: skip
        assert leftovers == snapshots(path) and len(leftovers) == 1, (kill_at, leftovers)
        if done.returncode == 0:
            break
        assert done.returncode == 9, done.stderr
    assert "saved after" in done.stdout
    assert kill_at > 5  # the save really was cut at many points
    assert not outcomes[0] and outcomes[-1]  # killed early: old; completed: new
    assert outcomes == sorted(outcomes)  # once the new index is visible it stays
