"""Sentence splitting: regex based, fast enough to run over every paragraph of a corpus.

A sentence ends after ``. ! ? …`` (and any closing quotes, brackets or footnote marks) when
whitespace and then the start of a new sentence follow, except after common abbreviations and
initials. Line breaks always end a sentence: lines kept inside a cleaned paragraph are list items,
headings or table rows.
"""

from __future__ import annotations

import re

_OPENERS = "\"'“‘«([{"
_CLOSERS = "\"'”’»)\\]}"
_FOOTNOTE_MARKS = "¹²³⁴⁵⁶⁷⁸⁹⁰*†‡"

# A candidate end: a word (possibly empty, as in "…"), its terminal punctuation and closers, then
# whitespace and the first character of what follows, captured for the checks in ``_is_end``.
_CANDIDATE_END = re.compile(
    rf"(?<!\S)(?P<word>\S*?)(?P<punct>[.!?…]+[{_CLOSERS}{_FOOTNOTE_MARKS}]*)(?=\s+(?P<next>\S))"
)
_LINE = re.compile(r"[^\n]+")
_INITIAL = re.compile(r"[^\W\d_]")
# "U.S.", "e.g.", "a.m.": letters each followed by a period.
_DOTTED_LETTERS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_NUMERAL = re.compile(r"\d{1,9}")

# Lower-cased, without the final period. Words that also end sentences often ("art", "no") are left
# out or, like "No.", matched only capitalised.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft vs etc cf al approx dept esp est fig figs vol vols pp
    gen col lt sgt capt cmdr gov sen rep hon rev inc ltd corp bros
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_CAPITALISED_ABBREVIATIONS = frozenset({"No", "Nos", "Art", "Co", "Ch", "Op", "Ed", "Eds"})


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Split a text into sentence spans.

    Args:
        text: The text to split, usually one paragraph.
        offset: Added to every span, so spans of a paragraph can index the whole document.

    Returns:
        ``(start, end)`` spans, in order and non-overlapping, each trimmed of surrounding
        whitespace; together they cover every non-whitespace character of ``text``.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        start = line.start()
        for match in _CANDIDATE_END.finditer(text, line.start(), line.end()):
            if _is_end(text, match):
                _add_trimmed(text, start, match.end(), offset, spans)
                start = match.end()
        _add_trimmed(text, start, line.end(), offset, spans)
    return spans


def _is_end(text: str, match: re.Match[str]) -> bool:
    """Whether a candidate end really ends a sentence."""
    following = match["next"]
    starts_sentence = (
        (following.isalpha() and not following.islower())
        or following.isdigit()
        or following in _OPENERS
        or following in _FOOTNOTE_MARKS
    )
    if not starts_sentence:
        return False
    if match["punct"][0] != "." or match["punct"].startswith(".."):
        return True
    word = match["word"].lstrip(_OPENERS)
    if word.lower() in ABBREVIATIONS or word in _CAPITALISED_ABBREVIATIONS:
        return False
    if _INITIAL.fullmatch(word) and word.isupper():  # "J. Smith"
        return False
    if _DOTTED_LETTERS.fullmatch(word):  # "U.S.", "e.g.", "i.e."
        return False
    # "1. First item" at the start of a line numbers a list item; it does not end a sentence.
    line_start = match.start() == 0 or text[match.start() - 1] == "\n"
    return not (line_start and _NUMERAL.fullmatch(word))


def _add_trimmed(
    text: str, start: int, end: int, offset: int, spans: list[tuple[int, int]]
) -> None:
    piece = text[start:end]
    stripped = piece.lstrip()
    if stripped:
        left = start + len(piece) - len(stripped)
        spans.append((left + offset, left + len(stripped.rstrip()) + offset))
