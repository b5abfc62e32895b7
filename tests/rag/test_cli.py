"""The ``rag`` command: exit codes, JSON shapes, stdin mode and one-line errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rag.opening
import rag.pipeline
from rag.cli import main

HIT_KEYS = {
    "passage_id",
    "source",
    "title",
    "page",
    "start",
    "end",
    "score",
    "dense",
    "bm25",
    "text",
}
FILES = {
    "npt.txt": "The core element of international security is the Non-Proliferation Treaty.",
    "space.txt": "Russia and China presented a draft treaty against weapons in outer space.",
    "ngo.txt": "Over forty NGOs got consultative status with the Economic and Social Council.",
}


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch, fake_embedder) -> None:
    """Every index the CLI opens or builds uses the fake embedder."""
    monkeypatch.setattr(rag.pipeline, "default_embedder", lambda: fake_embedder)
    monkeypatch.setattr(rag.opening, "_opened", {})


@pytest.fixture
def docs(tmp_path: Path, write_files) -> Path:  # noqa: ANN001
    return write_files(tmp_path / "docs", FILES)


@pytest.fixture
def index_dir(tmp_path: Path, docs: Path) -> Path:
    directory = tmp_path / "idx"
    assert run("index", str(docs), "--index-dir", str(directory), "--no-progress")[0] == 0
    return directory


def run(*argv: str) -> tuple[int, str]:
    """One ``rag`` command, as a fresh process would run it (nothing opened before is reused)."""
    rag.opening._opened.clear()
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def assert_one_error_line(err: str, *, contains: str = "") -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert contains in lines[0]
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------- index
def test_index_prints_a_summary(tmp_path: Path, docs: Path) -> None:
    code, out = run("index", str(docs), "--index-dir", str(tmp_path / "i"), "--no-progress")
    assert code == 0
    assert str(tmp_path / "i") in out
    assert "3 added, 0 updated, 0 unchanged, 0 skipped" in out

    code, out = run("index", str(docs), "--index-dir", str(tmp_path / "i"), "--no-progress")
    assert code == 0 and "0 added, 0 updated, 3 unchanged" in out


def test_strict_fails_when_a_file_was_skipped(
    tmp_path: Path, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (docs / "broken.pdf").write_bytes(b"garbage, not a pdf")
    base = ["index", str(docs), "--index-dir", str(tmp_path / "i"), "--no-progress"]
    code, out = run(*base)
    assert code == 0 and "1 skipped" in out
    assert "skipped: " in capsys.readouterr().err

    code, out = run(*base, "--strict")
    assert code == 1
    assert "3 unchanged, 1 skipped" in out
    err = capsys.readouterr().err
    assert "broken.pdf" in err and "Traceback" not in err


def test_every_named_file_skipped_fails_once_reported(
    tmp_path: Path, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run("index", str(docs), "--index-dir", str(tmp_path / "i"), "--no-progress")
    capsys.readouterr()
    (tmp_path / "broken.pdf").write_bytes(b"garbage, not a pdf")
    code, out = run("index", str(tmp_path / "broken.pdf"), "--index-dir", str(tmp_path / "i"))
    assert code == 1 and "0 added, 0 updated, 0 unchanged, 1 skipped" in out
    assert capsys.readouterr().err.count("broken.pdf") == 1  # one line, not a log line too


def test_nothing_indexable_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data.xyz").write_text("some words")
    code, _ = run(
        "index", str(tmp_path / "data.xyz"), "--index-dir", str(tmp_path / "i"), "--no-progress"
    )
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="unsupported file type .xyz")
    assert not (tmp_path / "i").exists()


def test_index_a_missing_path_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("index", str(tmp_path / "nope.txt"), "--index-dir", str(tmp_path / "i"))
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="does not exist")


def test_index_without_index_dir_uses_the_default_index(
    tmp_path: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "default"))
    code, out = run("index", str(docs / "npt.txt"), "--no-progress")
    assert code == 0 and "1 added" in out
    code, out = run("documents", "--json")
    names = sorted(Path(row["source"]).name for row in json.loads(out))
    assert names == ["npt.txt", "security-index-2008-lavrov-interview.txt"]


# --------------------------------------------------------------------------------- search
def test_search_json_prints_hits(index_dir: Path) -> None:
    code, out = run(
        "search", "outer space treaty", "--index-dir", str(index_dir), "--json", "-k", "2"
    )
    assert code == 0
    hits = json.loads(out)
    assert isinstance(hits, list) and len(hits) == 2
    for hit in hits:
        assert set(hit) == HIT_KEYS
        text = Path(hit["source"]).read_text(encoding="utf-8")
        assert hit["text"] == text[hit["start"] : hit["end"]]
    assert hits[0]["score"] >= hits[1]["score"]
    assert "outer space" in hits[0]["text"]


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_in_each_mode(index_dir: Path, mode: str) -> None:
    code, out = run("search", "NGOs", "--index-dir", str(index_dir), "--mode", mode, "--json")
    assert code == 0 and len(json.loads(out)) == 3


def test_search_prints_readable_text(index_dir: Path) -> None:
    code, out = run("search", "NGOs consultative status", "--index-dir", str(index_dir), "-k", "1")
    assert code == 0
    assert out.startswith("[1]") and "ngo.txt" in out and "{" not in out


def test_search_reads_queries_from_stdin(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("outer space\nNGOs status\nsecurity treaty\n"))
    code, out = run("search", "--index-dir", str(index_dir), "-k", "2")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    results = [json.loads(line) for line in lines]
    assert all(isinstance(r, list) and len(r) == 2 for r in results)
    assert all(set(hit) == HIT_KEYS for r in results for hit in r)
    assert "outer space" in results[0][0]["text"] and "NGOs" in results[1][0]["text"]


def test_a_bad_stdin_line_gets_an_error_object(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("treaty\n   \nNGOs\n"))
    code, out = run("search", "--index-dir", str(index_dir), "-k", "1")
    assert code == 1
    first, bad, last = (json.loads(line) for line in out.splitlines())
    assert len(first) == len(last) == 1
    assert "query is empty" in bad["error"]


def test_an_empty_query_fails(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("search", "  ", "--index-dir", str(index_dir))
    assert code == 1 and out == ""
    assert_one_error_line(capsys.readouterr().err, contains="query is empty")


@pytest.mark.parametrize("k", ["0", "-3", "two"])
def test_a_bad_k_fails(index_dir: Path, k: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("search", "treaty", "-k", k, "--index-dir", str(index_dir))
    assert exit_info.value.code != 0
    assert_one_error_line(capsys.readouterr().err, contains="-k")


def test_a_missing_index_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("search", "treaty", "--index-dir", str(tmp_path / "none"))
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="no index at")


@pytest.mark.parametrize("command", ["search", "index"])
def test_an_unusable_index_dir_fails(
    docs: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    inside_a_file = docs / "npt.txt" / "idx"  # its parent is a file: no folder can go there
    argv = ["treaty"] if command == "search" else [str(docs), "--no-progress"]
    code, _ = run(command, *argv, "--index-dir", str(inside_a_file))
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="cannot use")


def test_a_damaged_index_fails(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = index_dir / (index_dir / "CURRENT").read_text().strip() / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    code, _ = run("search", "treaty", "--index-dir", str(index_dir))
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="damaged")


def test_an_index_of_another_model_fails(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder, capsys
) -> None:
    other = type("Other", (type(fake_embedder),), {"name": "another-model"})()
    monkeypatch.setattr(rag.pipeline, "default_embedder", lambda: other)
    code, _ = run("documents", "--index-dir", str(index_dir))
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="rebuild")


# ------------------------------------------------------------------- documents and remove
def test_documents_json(index_dir: Path, docs: Path) -> None:
    code, out = run("documents", "--index-dir", str(index_dir), "--json")
    assert code == 0
    rows = json.loads(out)
    assert [Path(r["source"]).name for r in rows] == sorted(FILES)
    for r in rows:
        assert set(r) == {"source", "title", "pages", "chars"}
        assert r["pages"] == 1 and r["chars"] == len(FILES[Path(r["source"]).name])

    code, out = run("documents", "--index-dir", str(index_dir))
    assert code == 0 and len(out.splitlines()) == 3 and "1 pages" in out


def test_remove(index_dir: Path, docs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("remove", str(docs / "ngo.txt"), "--index-dir", str(index_dir))
    assert code == 0
    assert out.strip() == f"removed {(docs / 'ngo.txt').resolve()}"
    _, out = run("documents", "--index-dir", str(index_dir), "--json")
    assert sorted(Path(r["source"]).name for r in json.loads(out)) == ["npt.txt", "space.txt"]

    code, _ = run("remove", str(docs / "ngo.txt"), "--index-dir", str(index_dir))
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, contains="not in the index")


def test_ask_json_quotes_the_documents(index_dir: Path) -> None:
    question = "What is the core of international security?"
    code, out = run("ask", question, "--index-dir", str(index_dir), "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["question"] == question
    assert isinstance(answer["abstained"], bool)
    for citation in answer["citations"]:
        text = Path(citation["source"]).read_text(encoding="utf-8")
        assert citation["quote"] == text[citation["start"] : citation["end"]]


def test_ask_conversation_carries_the_topic_to_follow_ups(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "What did Russia and China present?\nWhen was that?\n"
    queries = {}
    for flag in ((), ("--conversation",)):
        monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
        code, out = run("ask", "--index-dir", str(index_dir), *flag)
        assert code == 0
        queries[flag] = [json.loads(line)["query"] for line in out.splitlines()]
    assert queries[()][1] == "When was that?"  # independent questions by default
    follow_up = queries[("--conversation",)][1]
    assert follow_up.startswith("When was that?") and "Russia" in follow_up and "China" in follow_up


# ------------------------------------------------------------------ the installed script
def rag_script(*argv: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("rag")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [str(script), *argv], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_the_console_script_works(default_rag, tmp_path: Path) -> None:
    done = rag_script("documents", "--json", "--index-dir", str(default_rag.index_dir))
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["source"].endswith("security-index-2008-lavrov-interview.txt")
    assert row["pages"] == 2

    done = rag_script("search", "   ", "--index-dir", str(default_rag.index_dir))
    assert done.returncode == 1
    assert_one_error_line(done.stderr, contains="query is empty")

    done = rag_script("search", "treaty", "-k", "0", "--index-dir", str(tmp_path))
    assert done.returncode != 0
    assert_one_error_line(done.stderr, contains="positive integer")

    done = rag_script("documents", "--index-dir", str(tmp_path / "missing"))
    assert done.returncode == 1
    assert_one_error_line(done.stderr, contains="no index at")


def test_control_characters_from_documents_never_reach_the_terminal(tmp_path: Path) -> None:
    evil = "Red \x1b[31mALERT\x1b[0m text about the treaty.\x07"
    directory = tmp_path / "idx"
    rag.opening.open_index(directory, create=True).index_texts({"bad\nname\x1b[2J.txt": evil})
    for argv in (
        ("search", "treaty alert", "-k", "1"),
        ("ask", "What is the alert about?"),
        ("documents",),
    ):
        code, out = run(*argv, "--index-dir", str(directory))
        assert code == 0 and "\x1b" not in out and "\x07" not in out, argv
        assert "\\x1b" in out  # shown, escaped
    _, out = run("documents", "--index-dir", str(directory))
    assert len(out.strip().splitlines()) == 1  # a newline in a name does not split the row


# --------------------------------------------------------------------------------- milvus
def test_index_ask_and_migrate_with_a_milvus_store(tmp_path: Path, docs: Path) -> None:
    store = f"milvus://{tmp_path}/rag.db"
    code, out = run("index", str(docs), "--store", store, "--no-progress")
    assert code == 0 and out.startswith(f"{store}: 3 added")
    code, out = run("ask", "What did Russia and China present?", "--store", store, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["citations"][0]["source"].endswith("space.txt")
    directory = tmp_path / "copy"
    code, out = run("migrate", store, str(directory), "--no-progress")
    assert code == 0 and "3 documents" in out
    assert run("migrate", store, store)[0] == 1  # the same index
    code, out = run("ask", "What did Russia and China present?", "--index-dir", str(directory),
                    "--json")  # fmt: skip
    assert json.loads(out)["citations"] == answer["citations"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "milvus://relative/9x"], "cannot name a Milvus collection"),
        (["--store", "milvus:///tmp/x.txt"], "ending in .db"),
        (["--store", "milvus:///tmp/x.db", "--index-dir", "/tmp/y"], "not allowed with"),
        (["--store", "/tmp/some-index"], "not a milvus:// address"),
        (["--index-dir", "milvus:///tmp/x.db"], "pass it with --store"),
    ],
)
def test_a_bad_store_address_is_one_error_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code, _ = run("documents", *argv)
    except SystemExit as e:  # a usage error
        code = int(e.code or 0)
    assert code in (1, 2)
    assert_one_error_line(capsys.readouterr().err, contains=message)
