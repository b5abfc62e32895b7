"""Hostile files and questions through the ``rag`` command: each bad one gets one clear line, the
good ones beside it go through, and the exit code is the documented one (docs/reliability.md)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import rag.formats
import rag.opening
import rag.pipeline
from rag.cli import main

try:  # tests/rag is on sys.path when it is not a package
    import hostile_files
except ImportError:  # pragma: no cover - tests laid out as packages
    from tests.rag import hostile_files

CHAR_LIMIT = 300_000


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch, fake_embedder) -> None:
    """Every index the CLI opens or builds uses the fake embedder."""
    monkeypatch.setattr(rag.pipeline, "default_embedder", lambda: fake_embedder)
    monkeypatch.setattr(rag.opening, "_opened", {})


def run(*argv: str) -> tuple[int, str]:
    rag.opening._opened.clear()
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("hostile") / "docs"
    return folder, hostile_files.build(folder, char_limit=CHAR_LIMIT)


def test_each_hostile_file_gets_one_skip_line_and_every_good_file_is_indexed(
    tmp_path: Path,
    hostile_folder: tuple[Path, list],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(rag.formats, "MAX_DOCUMENT_CHARS", CHAR_LIMIT)
    folder, cases = hostile_folder
    index = ["--index-dir", str(tmp_path / "idx")]

    code, out = run("index", str(folder), *index, "--no-progress")

    err = capsys.readouterr().err
    assert code == 0, err  # some files were indexed: the run succeeded
    assert "Traceback" not in err
    skipped = [line for line in err.splitlines() if line.startswith("skipped: ")]
    bad = [c for c in cases if c.reason is not None]
    assert len(skipped) == len(bad), "\n".join(skipped)
    for case in bad:
        lines = [line for line in skipped if f"/{case.name}: " in line]
        assert len(lines) == 1, (case.name, skipped)
        assert case.reason in lines[0], lines[0]
    good = sorted(c.name for c in cases if c.reason is None)
    assert f"{len(good)} added, 0 updated, 0 unchanged, {len(bad)} skipped" in out

    code, out = run("documents", "--json", *index)
    assert code == 0
    assert sorted(Path(d["source"]).name for d in json.loads(out)) == good

    code, out = run("index", str(folder), *index, "--no-progress", "--strict")
    assert code == 1  # --strict: any skipped file fails the run
    assert f"0 added, 0 updated, {len(good)} unchanged, {len(bad)} skipped" in out


def test_naming_only_hostile_files_fails(
    tmp_path: Path,
    hostile_folder: tuple[Path, list],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _ = hostile_folder
    named = [str(folder / n) for n in ("flate-bomb.pdf", "zip-bomb.docx", "random-bytes.txt")]

    code, _ = run("index", *named, "--index-dir", str(tmp_path / "idx"), "--no-progress")

    err = capsys.readouterr().err
    assert code == 1
    (line,) = err.strip().splitlines()  # one error line that names each file and its reason
    assert line.startswith("error: nothing could be indexed")
    for reason in ("decompression bomb", "zip bomb", "binary"):
        assert reason in line


BAD_QUESTIONS: list[tuple[bytes, str]] = [
    (b"", "is empty"),
    (b"   \t ", "is empty"),
    (b"?!... --", "has no words"),
    ("\u200b\u200b\u200b".encode(), "has no words"),
    (b"Who \xff\xfe signed?", "not valid UTF-8"),
    (b"\xed\xa0\x80 treaty", "not valid UTF-8"),  # a surrogate, encoded: not UTF-8 either
]


@pytest.mark.parametrize("command", ["search", "ask"])
def test_each_bad_question_in_a_batch_gets_its_own_error_and_the_batch_goes_on(
    tmp_path: Path,
    write_files,
    monkeypatch: pytest.MonkeyPatch,
    command: str,  # noqa: ANN001
) -> None:
    docs = write_files(tmp_path / "docs", {"a.txt": "The treaty was signed in Moscow in 2008."})
    index = ["--index-dir", str(tmp_path / "idx")]
    assert run("index", str(docs), *index, "--no-progress")[0] == 0
    good = b"Where was the treaty signed?"
    lines = [good, *(q for q, _ in BAD_QUESTIONS), b"x" * 50_000 + b" treaty", good]
    stdin = io.TextIOWrapper(io.BytesIO(b"\n".join(lines) + b"\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)

    code, out = run(command, *index)

    assert code == 1  # some lines failed
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(lines)
    for result, (_, reason) in zip(results[1:], BAD_QUESTIONS, strict=False):
        assert isinstance(result, dict) and reason in result["error"], result
    answered = [results[0], results[-2], results[-1]]  # a huge question is cut, not refused
    assert not any(isinstance(r, dict) and "error" in r for r in answered), answered
