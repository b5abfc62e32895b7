"""Where quotes stand in the files today: line numbers in text files, and a warning, never a
current-looking quote, when a cited file changed or vanished since it was indexed."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from rag.pipeline import RAG
from rag.render import format_answer

NOTES = """# Orchard notes

Some *history* first.

The orchard was planted in 1998
by the Lindqvist family, on the south slope.

- It has **41** pear trees.
- It has 12 apple trees.

The cider press dates from 1911.
"""
QUESTION = "When was the orchard planted?"


@pytest.fixture
def orchard(tmp_path: Path, real_embedder) -> tuple[RAG, Path]:  # noqa: ANN001
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    (folder / "other.txt").write_text("The bakery opened in 2003 on Main Street.\n")
    rag = RAG(tmp_path / "index", embedder=real_embedder)
    rag.index_paths([folder])
    return rag, folder / "notes.md"


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def test_citations_of_text_files_carry_the_lines_that_hold_the_quote(orchard) -> None:  # noqa: ANN001
    rag, notes = orchard
    answer = rag.ask(QUESTION)

    assert not answer.abstained and answer.short_answer == "1998"
    lines = notes.read_text().splitlines()
    for c in answer.citations:
        assert c.line_start is not None and c.line_end is not None and not c.stale
        quoted, held = words(c.quote), words("\n".join(lines[c.line_start - 1 : c.line_end]))
        assert any(held[i : i + len(quoted)] == quoted for i in range(len(held)))
        assert quoted[0] in words(lines[c.line_start - 1])  # no line too many either side
        assert quoted[-1] in words(lines[c.line_end - 1])
    first = answer.citations[0]
    assert (first.line_start, first.line_end) == (5, 6)  # the sentence runs over two lines
    assert f"notes.md:5–6, p. 1, chars {first.start}-{first.end}" in format_answer(answer)
    assert answer.to_dict()["citations"][0]["line_start"] == 5


def test_a_changed_file_is_flagged_until_it_is_indexed_again(orchard, caplog) -> None:  # noqa: ANN001
    rag, notes = orchard
    notes.write_text(NOTES.replace("1998", "1999"), encoding="utf-8")

    with caplog.at_level(logging.WARNING):
        answer = rag.ask(QUESTION)

    assert answer.short_answer == "1998"  # the index still holds the old text
    assert all(c.stale and c.line_start is None for c in answer.citations)
    (warning,) = answer.warnings
    assert "notes.md changed since it was indexed" in warning and "rag index" in warning
    assert "re-index it" in format_answer(answer)
    assert warning in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        hits = rag.search("orchard planted")
    assert "notes.md changed since it was indexed" in caplog.text
    assert rag.stale_warnings(hits) == [warning]

    rag.index_paths([notes])  # refreshed: current again, with line numbers
    answer = rag.ask(QUESTION)
    assert answer.short_answer == "1999" and not answer.warnings
    assert all(not c.stale and c.line_start == 5 for c in answer.citations[:1])


def test_touching_a_file_without_changing_it_is_not_a_change(orchard) -> None:  # noqa: ANN001
    rag, notes = orchard
    os.utime(notes, (1, 1))
    answer = rag.ask(QUESTION)
    assert not answer.warnings and not any(c.stale for c in answer.citations)


def test_a_vanished_file_is_flagged(orchard) -> None:  # noqa: ANN001
    rag, notes = orchard
    notes.unlink()
    answer = rag.ask(QUESTION)
    assert answer.citations and all(c.stale for c in answer.citations)
    assert any("notes.md is gone since it was indexed" in w for w in answer.warnings)


def test_texts_indexed_without_a_file_are_never_flagged(tmp_path: Path, real_embedder) -> None:  # noqa: ANN001
    rag = RAG(tmp_path / "index", embedder=real_embedder)
    rag.index_texts({"notes": "The orchard was planted in 1998 by the Lindqvist family."})
    answer = rag.ask(QUESTION)
    assert not answer.abstained and not answer.warnings
    assert answer.citations[0].line_start is None and not answer.citations[0].stale
