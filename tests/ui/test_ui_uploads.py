"""Uploads: safe names, type and size checks, and a failed file that leaves the index as it was."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ui import uploads
from ui.uploads import (
    MAX_UPLOAD_BYTES,
    UploadRejectedError,
    check_upload,
    safe_filename,
    store_upload,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\system.ini.md", "system.ini.md"),
        ("/abs/path/Notes.TXT", "Notes.txt"),
        ("..hidden.txt", "hidden.txt"),
        ("a..b....txt", "a.b.txt"),
        ("<script>alert(1)</script>.html", "script.html"),
        ("con\x00trol\n.txt", "control.txt"),
        ("....txt", "txt"),
        ("", "upload"),
        ("..", "upload"),
        ("résumé 2024.docx", "résumé 2024.docx"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@given(st.text(max_size=300))
def test_safe_filename_never_leaves_the_folder(name: str) -> None:
    folder = Path("/srv/uploads")
    safe = safe_filename(name)
    assert safe and not safe.startswith(".") and "/" not in safe and "\\" not in safe
    assert ".." not in safe and len(safe) <= uploads.MAX_NAME_CHARS
    assert (folder / safe).resolve().parent == folder


def test_check_upload_rejects_unsupported_types_with_the_accepted_ones(tmp_path: Path) -> None:
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(
        UploadRejectedError, match=r"tool\.exe: \.exe cannot be indexed; upload .*\.pdf"
    ):
        check_upload(exe, exe.name)


def test_check_upload_rejects_oversized_and_empty_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as f:  # sparse: costs no disk
        f.truncate(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(UploadRejectedError, match="over the 50 MB limit"):
        check_upload(big, big.name)
    empty = tmp_path / "empty.txt"
    empty.touch()
    with pytest.raises(UploadRejectedError, match="empty"):
        check_upload(empty, empty.name)


def test_store_upload_keeps_files_inside_the_folder(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hello")
    folder = tmp_path / "uploads"
    stored = store_upload(src, "../../../escape.txt", folder)
    assert stored.path == (folder / "escape.txt").resolve()
    assert stored.path.read_text() == "hello"
    assert not (tmp_path.parent / "escape.txt").exists()


def test_store_upload_rollback_restores_the_replaced_version(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("old version")
    new.write_text("new version")
    store_upload(old, "notes.txt", folder).commit()
    stored = store_upload(new, "notes.txt", folder)
    assert stored.replaced and stored.path.read_text() == "new version"
    stored.rollback()
    assert stored.path.read_text() == "old version"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


# --------------------------------------------------------------- through the chat's handlers
@pytest.fixture
def handlers(tmp_path: Path, fake_embedder):  # noqa: ANN001, ANN201
    from rag.pipeline import RAG
    from ui.handlers import ChatHandlers

    return ChatHandlers(RAG(tmp_path / "index", embedder=fake_embedder), examples=())


def _upload(handlers, tmp_path: Path, name: str, data: bytes) -> str:  # noqa: ANN001
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    report, *_ = handlers.upload([str(path)])
    return html.unescape(re.sub(r"<[^>]+>", "", report))


def test_upload_indexes_a_file_and_a_broken_one_changes_nothing(handlers, tmp_path: Path) -> None:  # noqa: ANN001
    report = _upload(handlers, tmp_path, "notes.txt", b"The orchard has 41 pear trees.")
    assert "✓ notes.txt: indexed (1 passage)" in report
    before = [(d.source, d.text) for d in handlers.rag.documents()]

    with pytest.warns(UserWarning, match="broken.pdf"):  # gr.Warning, outside a page
        report = _upload(handlers, tmp_path, "broken.pdf", b"%PDF-1.7 this is not a pdf")
    assert "✗" in report and "broken.pdf" in report
    assert [(d.source, d.text) for d in handlers.rag.documents()] == before
    assert sorted(p.name for p in handlers.upload_dir.iterdir()) == ["notes.txt"]

    # A broken new version of an indexed file: the old one stays, on disk and in the index.
    with pytest.warns(UserWarning, match="notes.txt"):
        report = _upload(handlers, tmp_path, "notes.txt", b"\x00\x00\x00")
    assert "✗ notes.txt" in report
    assert [(d.source, d.text) for d in handlers.rag.documents()] == before
    assert (handlers.upload_dir / "notes.txt").read_bytes() == b"The orchard has 41 pear trees."


def test_upload_rejects_a_type_before_copying(handlers, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.warns(UserWarning, match="run.sh"):
        report = _upload(handlers, tmp_path, "run.sh", b"rm -rf /")
    assert "✗ run.sh: .sh cannot be indexed; upload .txt" in report
    assert not handlers.upload_dir.exists() or not any(handlers.upload_dir.iterdir())


def test_remove_drops_the_document_and_its_uploaded_copy(handlers, tmp_path: Path) -> None:  # noqa: ANN001
    _upload(handlers, tmp_path, "a.txt", b"Apples are red.")
    _upload(handlers, tmp_path, "b.txt", b"Bananas are yellow.")
    source = str(handlers.upload_dir.resolve() / "a.txt")
    status, table, _dropdown = handlers.remove(source)
    assert "removed a.txt; its file is kept as uploads/.removed/a." in html.unescape(status)
    assert [d.title for d in handlers.rag.documents()] == ["b.txt"]
    assert "a.txt" not in table and not (handlers.upload_dir / "a.txt").exists()
    (kept,) = (handlers.upload_dir / ".removed").iterdir()  # nothing uploaded is deleted
    assert kept.read_bytes() == b"Apples are red."

    _upload(handlers, tmp_path, "a.txt", b"Apples are green.")  # the name is free again
    handlers.remove(source)
    kept = sorted(p.read_bytes() for p in (handlers.upload_dir / ".removed").iterdir())
    assert kept == [b"Apples are green.", b"Apples are red."]


def test_a_new_version_replaces_the_upload_and_the_earlier_one_is_kept(
    handlers,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    _upload(handlers, tmp_path, "notes.txt", b"The orchard has 41 pear trees.")
    report = _upload(handlers, tmp_path, "notes.txt", b"The orchard has 41 pear trees.")
    assert "notes.txt: already indexed, unchanged" in report
    assert not (handlers.upload_dir / ".earlier-versions").exists()  # same bytes: nothing kept

    report = _upload(handlers, tmp_path, "notes.txt", b"The orchard has 52 pear trees.")

    assert "notes.txt: updated (1 passage); the earlier version is kept as " in report
    assert [d.text for d in handlers.rag.documents()] == ["The orchard has 52 pear trees."]
    (earlier,) = (handlers.upload_dir / ".earlier-versions").iterdir()
    assert earlier.read_bytes() == b"The orchard has 41 pear trees."
    assert str(earlier.relative_to(handlers.rag.index_dir)) in report
    # Indexing the upload folder again never picks up the kept copies (hidden folders).
    assert handlers.rag.index_paths([handlers.upload_dir]).added == ()


def test_gradio_temporary_copies_are_deleted_after_the_upload(
    handlers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    good, bad = cache / "1f2e" / "notes.txt", cache / "9c3d" / "broken.pdf"
    for path, data in ((good, b"Plums ripen in August."), (bad, b"%PDF- not a pdf")):
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    outside = tmp_path / "mine.txt"
    outside.write_text("Pears ripen in September.")

    with pytest.warns(UserWarning, match="broken.pdf"):
        handlers.upload([str(good), str(bad), str(outside)])

    assert list(cache.iterdir()) == []  # files and their folders gone, indexed or not
    assert outside.exists()  # a path outside Gradio's cache is never touched
    assert sorted(d.title for d in handlers.rag.documents()) == ["mine.txt", "notes.txt"]


def test_questions_are_answered_while_an_upload_is_being_indexed(
    tmp_path: Path,
    fake_embedder,  # noqa: ANN001
) -> None:
    """Readers never wait for the writer: the upload's encoding is held open until every question
    has been answered, from the index as it was, each in under a second."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from rag.pipeline import RAG
    from ui.handlers import ChatHandlers

    indexing, release = threading.Event(), threading.Event()

    class HeldEmbedder(type(fake_embedder)):  # type: ignore[misc]
        def encode(self, texts: list[str], *, show_progress: bool = False):  # noqa: ANN202
            if len(texts) > 1 or "pear" in texts[0]:  # the upload's passages, not a question
                indexing.set()
                assert release.wait(30), "the test never released the upload"
            return super().encode(texts, show_progress=show_progress)

    handlers = ChatHandlers(RAG(tmp_path / "index", embedder=HeldEmbedder()), examples=())
    release.set()
    _upload(handlers, tmp_path, "apples.txt", b"The orchard has 41 apple trees.")
    handlers.ask_api("How many apple trees does the orchard have?")  # loads the reader, once
    release.clear()

    with ThreadPoolExecutor(1) as pool:
        upload = pool.submit(_upload, handlers, tmp_path, "pears.txt", b"It has 12 pear trees.")
        assert indexing.wait(30)
        try:
            for _ in range(5):
                started = time.perf_counter()
                answer = handlers.ask_api("How many apple trees does the orchard have?")
                assert time.perf_counter() - started < 1.0
                assert "41 apple trees" in answer["answer"]
                assert not upload.done()  # still indexing: the answer came from the old index
        finally:
            release.set()
        assert "pears.txt: indexed" in upload.result(timeout=30)
    answer = handlers.ask_api("How many pear trees are there?")
    assert "12 pear trees" in answer["answer"]  # the new index swapped in once saved
