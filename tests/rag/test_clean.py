from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.clean import CleanedText, clean_text, split_paragraphs
from rag.types import Document

CORPUS = Path(__file__).parents[2] / "rag" / "data" / "corpus"
DEFAULT_CORPUS = CORPUS / "security-index-2008-lavrov-interview.txt"


@pytest.fixture(scope="module")
def corpus() -> CleanedText:
    return clean_text(DEFAULT_CORPUS.read_text(encoding="utf-8"))


def paragraphs(cleaned: CleanedText) -> list[str]:
    return [cleaned.text[s:e] for s, e in split_paragraphs(cleaned.text)]


# --- the default corpus -----------------------------------------------------------------------


def test_corpus_running_head_is_removed(corpus: CleanedText) -> None:
    for paragraph in paragraphs(corpus):
        assert paragraph.replace(" ", "").replace("\n", "") != "INTERVIEWS"
        assert not re.search(r"(?m)^\S$", paragraph)


def test_corpus_paragraph_broken_by_page_is_joined(corpus: CleanedText) -> None:
    joined = "Civil Society Institutions and Human Rights, with the Public Chamber"
    assert sum(joined in p for p in paragraphs(corpus)) == 1


def test_corpus_page_two_starts_at_continuation(corpus: CleanedText) -> None:
    assert len(corpus.page_starts) == 2
    assert corpus.page_starts[0] == 0
    assert corpus.text[corpus.page_starts[1] :].startswith("Human Rights, with the Public Chamber")
    doc = Document("x", "s", "t", corpus.text, corpus.page_starts)
    assert doc.page_at(corpus.text.index("Civil Society Institutions and")) == 1
    assert doc.page_at(corpus.text.index("Human Rights, with")) == 2


def test_corpus_markdown_is_stripped(corpus: CleanedText) -> None:
    text = corpus.text
    assert "\\$" not in text and "\\" not in text
    assert "$48* a year" in text  # the footnote mark is a lone asterisk and stays
    assert "$52.00" in text and "$93.50" in text
    # Only the two footnote marks are left: "$48* a year" and "*Please allow".
    assert text.count("*") == 2 and "*Please allow" in text
    assert "Russian third sector comprise" in text
    assert "Bulletin of the Atomic Scientists" in paragraphs(corpus)


def test_corpus_has_no_blank_or_empty_paragraphs(corpus: CleanedText) -> None:
    assert "\n\n\n" not in corpus.text
    assert all(p.strip() == p and p for p in paragraphs(corpus))
    assert corpus.text.startswith("Sergey Lavrov\n\n«WE ARE READY")


# --- the rules one by one ---------------------------------------------------------------------


def test_whitespace_is_normalised() -> None:
    raw = "  One\u00a0two\t\tthree  \r\nfour\u2009five \r\n \t \r\nNext\u3000para  "
    assert clean_text(raw).text == "One two three four five\n\nNext para"


def test_markdown_block_lines_keep_their_break() -> None:
    raw = "Items:\n- first\n- second\n1. third\n# Heading\n| a | b |\nplain\nline"
    assert (
        clean_text(raw).text
        == "Items:\n- first\n- second\n1. third\n# Heading\n| a | b | plain line"
    )


def test_a_word_broken_at_the_line_end_loses_its_hyphen_a_compound_keeps_it() -> None:
    assert clean_text("inter-\nnational 1990-\n2000 Anglo-\nSaxon").text == (
        "international 1990- 2000 Anglo-Saxon"  # a number range, a capital: not broken words
    )
    text = "A well-known fact.\n\nIt is well-\nknown, and inter-\nnational."
    assert clean_text(text).text == "A well-known fact.\n\nIt is well-known, and international."
    # Across a page break, too (the page still starts at the continuation).
    cleaned = clean_text("It was deter-\fmined by the council.")
    assert cleaned.text == "It was determined by the council."
    assert cleaned.page_starts == (0, len("It was deter"))


def test_emphasis_markers_are_stripped_in_pairs() -> None:
    raw = "*a* **b** _c_ __d__ snake_case_name 2*3*4 lone * star \\*kept\\* \\_x\\_ \\# \\[y\\]"
    assert clean_text(raw).text == "a b c d snake_case_name 2*3*4 lone * star *kept* _x_ # [y]"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("***x***", "x"),
        ("**a *b* c**", "a b c"),
        ("_a **b**_", "a b"),
        ("a ** b ** c", "a ** b ** c"),
        ("$48* a year and *x*", "$48* a year and x"),
        ("*Please allow", "*Please allow"),
    ],
)
def test_nested_and_unpaired_emphasis(raw: str, expected: str) -> None:
    assert clean_text(raw).text == expected


def test_emphasis_can_span_lines() -> None:
    assert clean_text("**Bulletin\nof the\nAtomic\nScientists**").text == (
        "Bulletin of the Atomic Scientists"
    )


def test_markdown_off_keeps_markers() -> None:
    assert clean_text("*a* \\$5", markdown=False).text == "*a* \\$5"


def test_paragraphs_without_letters_or_digits_are_dropped() -> None:
    assert clean_text("* * *\n\n---\n\nText\n\n...").text == "Text"


def test_form_feed_pages_and_join() -> None:
    cleaned = clean_text("First para.\n\nBroken across\fthe page. Done.\n\nLast.")
    assert cleaned.text == "First para.\n\nBroken across the page. Done.\n\nLast."
    assert cleaned.page_starts == (0, cleaned.text.index("the page"))


def test_terminated_paragraph_is_not_joined() -> None:
    for ending in (".", "!", "?", ":", ";", "…", '."', ".)", "?»"):
        cleaned = clean_text(f"End{ending}\fnext page")
        assert cleaned.text == f"End{ending}\n\nnext page"
        assert cleaned.page_starts == (0, len(f"End{ending}\n\n"))


def test_empty_pages_keep_their_numbers() -> None:
    cleaned = clean_text("One.\f\f  \fTwo.\f")
    assert cleaned.text == "One.\n\nTwo."
    assert cleaned.page_starts == (0, 6, 6, 6, 10)
    doc = Document("x", "s", "t", cleaned.text, cleaned.page_starts)
    assert doc.page_at(cleaned.text.index("Two")) == 4


def test_running_head_is_a_page_break() -> None:
    cleaned = clean_text("Before\n\nA\nB\nC\nD\n\nafter.")
    assert cleaned.text == "Before after."
    assert cleaned.page_starts == (0, 7)


def test_running_head_at_page_edge_adds_no_page() -> None:
    cleaned = clean_text("X\nY\nZ\nW\n\nText.\n\nH\nE\nA\nD\fNext.")
    assert cleaned.text == "Text.\n\nNext."
    assert cleaned.page_starts == (0, 7)


def test_three_single_letter_lines_stay() -> None:
    assert clean_text("a\nb\nc").text == "a b c"


def test_empty_input() -> None:
    assert clean_text("") == CleanedText("", (0,))
    assert clean_text(" \n\f\n ") == CleanedText("", (0, 0))


def test_split_paragraphs() -> None:
    text = "One\n\nTwo\nlines\n \n\n  Three  "
    assert [text[s:e] for s, e in split_paragraphs(text)] == ["One", "Two\nlines", "Three"]
    assert split_paragraphs("") == []


# --- properties --------------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.sampled_from(list("ab Z9.-*_#|\\\n\n\n\f\t\u00a0é?”")) | st.characters(),
    max_size=200,
)
PLAIN_TEXT = st.text(alphabet=st.sampled_from(list("abZ9 .,-?!:\n\n\n\f\t\u00a0é”1")), max_size=200)


def check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    covered = set()
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        covered.update(range(start, end))
        previous_end = end
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


@given(TEXT)
def test_split_paragraphs_spans_are_valid(text: str) -> None:
    spans = split_paragraphs(text)
    check_spans(text, spans)
    assert all("\n\n" not in text[s:e] for s, e in spans)


@given(TEXT, st.booleans())
def test_clean_text_output_is_well_formed(raw: str, markdown: bool) -> None:
    cleaned = clean_text(raw, markdown=markdown)
    assert cleaned.page_starts[0] == 0
    assert list(cleaned.page_starts) == sorted(cleaned.page_starts)
    assert cleaned.page_starts[-1] <= len(cleaned.text)
    assert len(cleaned.page_starts) >= raw.replace("\r\n", "\n").count("\f") + 1
    assert "\f" not in cleaned.text and "\r" not in cleaned.text
    assert cleaned.text == cleaned.text.strip()
    for start, end in split_paragraphs(cleaned.text):
        assert re.search(r"[^\W_]", cleaned.text[start:end])


@given(TEXT)
def test_clean_text_is_idempotent_without_markdown(raw: str) -> None:
    once = clean_text(raw, markdown=False).text
    assert clean_text(once, markdown=False).text == once


@given(PLAIN_TEXT)
def test_clean_text_is_idempotent_on_plain_text(raw: str) -> None:
    once = clean_text(raw).text
    assert clean_text(once).text == once
