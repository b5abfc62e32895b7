"""Text cleaning: turn extracted text (pages separated by form feeds) into clean paragraphs.

Extracted text keeps the furniture of the printed page: running heads, hard line breaks, words
hyphenated at the line end, paragraphs broken across pages, markdown emphasis and escapes. Cleaning
removes that furniture so passages read as the author wrote them, and records where each page starts
so a citation can still name its page.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

PAGE_BREAK = "\f"
PARAGRAPH_SEPARATOR = "\n\n"

# A running head printed vertically ("I N T E R V I E W S" down the margin) comes out one letter per
# line. Three single-letter lines can be a real list ("a", "b", "c"); four or more almost never are.
MIN_RUNNING_HEAD_LINES = 4

# Line and paragraph separators other than "\n" become "\n"; every other kind of whitespace (NBSP,
# thin and ideographic spaces, tabs...) becomes a plain space so later rules only see " " and "\n".
_LINE_BREAKS = "\x0b\x1c\x1d\x1e\x85\u2028\u2029"
_ODD_SPACES = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\n\f\r" + _LINE_BREAKS
)
# Zero-width characters carry no text and split words that search should see whole.
_ZERO_WIDTH = "\u200b\u2060\ufeff"
_WHITESPACE_TABLE = str.maketrans(
    {
        **{c: "\n" for c in _LINE_BREAKS},
        **{c: " " for c in _ODD_SPACES},
        **{c: None for c in _ZERO_WIDTH},
    }
)
_SPACE_RUN = re.compile(r" {2,}")

# Page furniture: the lines at each page's top and bottom that may be running heads or footers,
# how many pages (and what share of them) must repeat a line for it to count as one, and the
# longest line that can be one. A lone page number at a page's edge is furniture on any paged text.
EDGE_LINES = 2
MIN_PAGES_FOR_REPEATS = 3
FURNITURE_SHARE = 0.5
MAX_FURNITURE_CHARS = 100
_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(  # roman numerals in lower case only: "X" or "D" alone may be text
    r"^(?:(?i:page)\s+)?[-–—(\[]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*[-–—)\]]?"
    r"(?:\s*(?:of|/)\s*\d{1,4})?$"
)
_WORD_OR_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHEN_END_WORD = re.compile(r"([^\W\d_]+)-$")
_LEADING_WORD = re.compile(r"[^\W\d_]+")

# A line starting a markdown list item, heading or table row keeps its line break, so the structure
# survives for the reader.
_BLOCK_START = re.compile(r"(?:[-*+] |\d{1,9}[.)] |#|\|)")
# A word hyphenated at the line end ("inter-" + "national") joins without a space.
_HYPHEN_END = re.compile(r"[^\W\d_]-$")
# A paragraph that ends without terminal punctuation (closing quotes, brackets and footnote marks
# may follow it) continues on the next page.
_TERMINAL_END = re.compile(r"[.!?:;…][\"'”’»)\]}¹²³⁴⁵⁶⁷⁸⁹⁰*†‡]*$")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")

# Emphasis pairs up inside one paragraph: the opening marker is followed by a non-space, the closing
# one preceded by a non-space, and neither touches a letter or digit outside, so "snake_case",
# "2*3*4" and the footnote mark in "$48* a year" survive. Escaped markers ("\*") never pair.


def _emphasis_pattern(marker: str) -> re.Pattern[str]:
    char = re.escape(marker[0])
    # "_" is a word character, so it joins the letters and digits a marker must not touch.
    outside = r"[^\W_]|_" if marker[0] == "_" else rf"[^\W_]|{char}"
    # A single marker must hug the text ("* b *" in "a ** b ** c" is no emphasis); a double one may
    # hold a single one inside ("***x***").
    inside = r"\s" if len(marker) == 2 else rf"\s{char}"
    return re.compile(
        rf"(?<!\\)(?<!{outside}){re.escape(marker)}(?=[^{inside}])"
        rf"(.+?)(?<=[^{inside}\\]){re.escape(marker)}(?!{outside})",
        re.DOTALL,
    )


# Strong before plain emphasis, so "**a *b* c**" and "***x***" resolve from the outside in.
_EMPHASIS_PATTERNS = tuple(_emphasis_pattern(m) for m in ("**", "__", "*", "_"))
# Markdown's backslash escapes: a backslash before ASCII punctuation stands for the punctuation.
_ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


@dataclass(frozen=True)
class CleanedText:
    """Cleaned text and the offset at which each page starts.

    Attributes:
        text: Paragraphs joined by a blank line.
        page_starts: ``page_starts[i]`` is the offset in ``text`` where page ``i + 1`` starts.
    """

    text: str
    page_starts: tuple[int, ...]


def clean_text(raw: str, *, markdown: bool = True) -> CleanedText:
    """Clean extracted text into paragraphs, keeping track of page starts.

    Args:
        raw: Extracted text; pages are separated by form feeds (``"\\f"``).
        markdown: Strip markdown emphasis markers and unescape backslash escapes.

    Returns:
        The cleaned text (paragraphs separated by ``"\\n\\n"``) and the offset of each page start.
    """
    normalised = _normalise_whitespace(raw)
    vocabulary = _vocabulary(normalised)
    pages: list[list[str]] = []
    for lines in _drop_page_furniture([page.split("\n") for page in normalised.split(PAGE_BREAK)]):
        for piece in _split_at_running_heads(lines):
            paragraphs = [_join_lines(block, vocabulary) for block in _blocks(piece)]
            if markdown:
                paragraphs = [_strip_markdown(p) for p in paragraphs]
            pages.append([p for p in paragraphs if _HAS_WORD_CHAR.search(p)])
    return _assemble(pages, vocabulary)


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of the paragraphs of a cleaned text.

    Paragraphs are separated by blank lines; each span is trimmed of surrounding whitespace.

    Args:
        text: A text as ``clean_text`` returns it (any text works).

    Returns:
        Spans in order; ``text[start:end]`` is one paragraph.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for separator in _BLANK_LINES.finditer(text):
        _add_trimmed(text, start, separator.start(), spans)
        start = separator.end()
    _add_trimmed(text, start, len(text), spans)
    return spans


_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")


def _add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.lstrip()
    if stripped:
        left = start + len(piece) - len(stripped)
        spans.append((left, left + len(stripped.rstrip())))


def _normalise_whitespace(raw: str) -> str:
    """One kind of line break, one kind of space, single spaces, lines trimmed."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_WHITESPACE_TABLE)
    return "\n".join(
        "\f".join(_SPACE_RUN.sub(" ", part).strip(" ") for part in line.split("\f"))
        for line in text.split("\n")
    )


def _split_at_running_heads(lines: list[str]) -> list[list[str]]:
    """Remove one-letter-per-line running heads; each marks a page break.

    A head at the very top or bottom of a page (only blank lines between it and the page edge) is
    removed without a break, since the page already ends there.
    """
    pieces: list[list[str]] = [[]]
    i = 0
    while i < len(lines):
        run_end = i
        while run_end < len(lines) and len(lines[run_end]) == 1:
            run_end += 1
        if run_end - i >= MIN_RUNNING_HEAD_LINES:
            if any(pieces[-1]) and any(lines[run_end:]):
                pieces.append([])
            i = run_end
        else:
            pieces[-1].extend(lines[i : max(run_end, i + 1)])
            i = max(run_end, i + 1)
    return pieces


def _blocks(lines: list[str]) -> list[list[str]]:
    """Group lines into paragraphs: runs of non-blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _join_lines(lines: list[str], vocabulary: set[str]) -> str:
    """Undo hard line breaks inside a paragraph, keeping those before markdown block lines."""
    joined = lines[0]
    for line in lines[1:]:
        if _BLOCK_START.match(line):
            joined += "\n" + line
        elif _HYPHEN_END.search(joined):
            joined = _join_hyphenated(joined, line, vocabulary)
        else:
            joined += " " + line
    return joined


def _vocabulary(text: str) -> set[str]:
    """The words of a text, lower-cased, hyphenated compounds whole ("well-known")."""
    return set(_WORD_OR_COMPOUND.findall(text.casefold()))


def _join_hyphenated(left: str, right: str, vocabulary: set[str]) -> str:
    """Join a line ending in "word-" to the next: a word broken at the line end loses its hyphen
    ("inter-" "national" → "international"), a compound keeps it ("well-known", when the
    document writes it so elsewhere; "Anglo-Saxon", as a capital follows)."""
    head = _HYPHEN_END_WORD.search(left)
    tail = _LEADING_WORD.match(right)
    if head is None or tail is None or not tail.group()[0].islower():
        return left + right
    compound = f"{head.group(1)}-{tail.group()}".casefold()
    if compound in vocabulary and f"{head.group(1)}{tail.group()}".casefold() not in vocabulary:
        return left + right
    return left[:-1] + right


def _drop_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Remove running heads and footers (a line at a page's top or bottom repeated on most pages,
    numbers aside) and page numbers ("12", "- 12 -", "Page 3 of 9", "xii" at a page's edge)."""
    if len(pages) < 2:
        return pages
    edges = [_edge_lines(lines) for lines in pages]
    repeated: set[str] = set()
    if len(pages) >= MIN_PAGES_FOR_REPEATS:
        counts = Counter(
            key for lines, edge in zip(pages, edges, strict=True)
            for key in {_furniture_key(lines[i]) for i in edge}
        )  # fmt: skip
        least = max(MIN_PAGES_FOR_REPEATS, math.ceil(FURNITURE_SHARE * len(pages)))
        repeated = {k for k, n in counts.items() if n >= least and k}
    cleaned = []
    for lines, edge in zip(pages, edges, strict=True):
        drop = {
            i for i in edge if _PAGE_NUMBER.match(lines[i]) or _furniture_key(lines[i]) in repeated
        }
        cleaned.append([line for i, line in enumerate(lines) if i not in drop])
    return cleaned


def _edge_lines(lines: list[str]) -> set[int]:
    """The first and last ``EDGE_LINES`` non-blank lines of a page."""
    filled = [i for i, line in enumerate(lines) if line]
    return set(filled[:EDGE_LINES] + filled[-EDGE_LINES:])


def _furniture_key(line: str) -> str:
    """A line as a running head compares: case and numbers aside ("Page 3" ~ "page 4")."""
    if len(line) > MAX_FURNITURE_CHARS:
        return ""
    return _DIGITS.sub("#", " ".join(line.casefold().split()))


def _strip_markdown(paragraph: str) -> str:
    """Remove paired emphasis markers, then resolve backslash escapes."""
    for pattern in _EMPHASIS_PATTERNS:
        paragraph = pattern.sub(r"\1", paragraph)
    return _ESCAPE.sub(r"\1", paragraph)


def _continues(previous: str, following: str) -> bool:
    """Whether a paragraph ending a page runs on into the first paragraph of the next."""
    last_line = previous.rsplit("\n", 1)[-1]
    return not (
        _TERMINAL_END.search(previous)
        or _BLOCK_START.match(last_line)
        or _BLOCK_START.match(following)
    )


def _assemble(pages: list[list[str]], vocabulary: set[str]) -> CleanedText:
    """Join the pages' paragraphs into one text, joining paragraphs broken by a page break."""
    parts: list[str] = []
    length = 0
    page_starts: list[int] = []
    waiting = 0  # empty pages whose start is the start of the next page with text
    previous = ""
    for paragraphs in pages:
        if not paragraphs:
            waiting += 1
            continue
        for index, paragraph in enumerate(paragraphs):
            if not parts:
                separator = ""
            elif index == 0 and _continues(previous, paragraph):
                separator = " "
                if _HYPHEN_END.search(previous):  # a word broken across the page break
                    separator = ""
                    if not _join_hyphenated(previous, paragraph, vocabulary).startswith(previous):
                        parts[-1], length = parts[-1][:-1], length - 1  # drop its hyphen
            else:
                separator = PARAGRAPH_SEPARATOR
            if index == 0:
                page_starts.extend([length + len(separator)] * (waiting + 1))
                waiting = 0
            parts.extend((separator, paragraph))
            length += len(separator) + len(paragraph)
            previous = paragraph
    page_starts.extend([length] * waiting)
    if page_starts:
        page_starts[0] = 0
    return CleanedText("".join(parts), tuple(page_starts) or (0,))
