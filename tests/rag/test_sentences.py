from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.clean import clean_text, split_paragraphs
from rag.sentences import split_sentences

CORPUS_DIR = Path(__file__).parents[2] / "rag" / "data" / "corpus"
DEFAULT_CORPUS = CORPUS_DIR / "security-index-2008-lavrov-interview.txt"


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_splits_after_terminal_punctuation() -> None:
    text = 'First one. Second one! Third one? «Fourth.» Fifth… 6 items. (Seventh.) "Eighth."'
    assert sentences(text) == [
        "First one.",
        "Second one!",
        "Third one?",
        "«Fourth.»",
        "Fifth…",
        "6 items.",
        "(Seventh.)",
        '"Eighth."',
    ]


def test_no_split_before_lowercase_or_without_space() -> None:
    assert sentences("It was 3.5 km. then more, e.g. this. U.S.-Russian ties.") == [
        "It was 3.5 km. then more, e.g. this.",
        "U.S.-Russian ties.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Smith met Mrs. Jones and Dr. Who.",
        "He lives on St. James Street and No. 5 is his.",
        "Apples vs. Oranges etc. Are fruit.",
        "Use tools, i.e. Hammers, e.g. The big one.",
        "The U.S. Government and the U.N. Council met.",
        "On Jan. 5 and Feb. 6 and Sept. 7 they met.",
        "J. Smith and A. B. Jones wrote it.",
    ],
)
def test_abbreviations_do_not_end_sentences(text: str) -> None:
    assert sentences(text) == [text]


def test_footnote_marks() -> None:
    assert sentences("It ended.¹ Then more. ² Note two.") == [
        "It ended.¹",
        "Then more.",
        "² Note two.",
    ]


def test_line_breaks_and_blank_lines_split() -> None:
    text = "Items:\n- first item\n1. second item\n\n  Next paragraph without stop\nlast"
    assert sentences(text) == [
        "Items:",
        "- first item",
        "1. second item",
        "Next paragraph without stop",
        "last",
    ]


def test_offset_shifts_spans() -> None:
    text = "  One. Two.  "
    assert split_sentences(text, 100) == [(102, 106), (107, 111)]
    assert split_sentences("") == [] and split_sentences(" \n ") == []


def test_default_corpus_sentences() -> None:
    cleaned = clean_text(DEFAULT_CORPUS.read_text(encoding="utf-8")).text
    spans = [
        s
        for start, end in split_paragraphs(cleaned)
        for s in split_sentences(cleaned[start:end], start)
    ]
    found = [cleaned[s:e] for s, e in spans]
    assert "Their number is growing." in found
    assert "Will it be revived?" in found
    assert any(
        s.startswith("Under such circumstances, strategic stability") and "U.S.-Russian" in s
        for s in found
    )
    assert "For institutional rates please call 1-866-584-0009." in found


SENTENCE_TEXT = st.text(
    alphabet=st.sampled_from(list("aZ9 .!?…\n\t»”\"'(¹Mr.StU")) | st.characters(), max_size=200
)


@given(SENTENCE_TEXT, st.integers(min_value=0, max_value=1000))
def test_spans_are_valid(text: str, offset: int) -> None:
    spans = split_sentences(text, offset)
    previous_end = 0
    covered: set[int] = set()
    for start, end in spans:
        start, end = start - offset, end - offset
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        assert "\n" not in piece
        covered.update(range(start, end))
        previous_end = end
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())
