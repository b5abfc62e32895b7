"""The short answer: the span inside the best quote that answers the question, where the question's
type allows (who / when / where / how many / how much / which ...).

No model: the question's wording gives an expected answer type; the sentence gives candidate spans
(dates, quantities, capitalised names, and for other questions the runs of words the question does
not already contain); candidates are scored by type match and by closeness to the words the
sentence shares with the question, since an answer usually stands next to what the question names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from rag.analysis import SPAN_EDGE_WORDS, content_terms, span_tokens

AnswerType = Literal["date", "number", "person", "place", "entity", "other"]

MAX_GENERIC_TOKENS = 12
"""Longest answer offered for questions with no type; longer ones are the whole quote's job."""
TYPE_BONUS = 2.0
"""A span of the expected type (a date for "when") beats any untyped one."""
PREFERRED_TOKENS = 2
LENGTH_PENALTY = 0.02
"""SQuAD answers are short (three tokens on average): past ``PREFERRED_TOKENS`` a run pays a
little per token."""
CONTENT_BONUS = 0.08
"""Between equally close runs, the one with more words (up to ``PREFERRED_TOKENS``) carries more
of the answer."""
NAME_BONUS = 0.15
"""'What/which X' questions mostly ask for a named thing or a figure."""
# These five were chosen on 800 answerable questions of the SQuAD 2.0 half (short-answer F1).

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|thousand|million|billion|trillion|dozen|half"
)
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})(?:,?\s+\d{{4}})?"
    rf"|(?:{_MONTHS})\s+\d{{4}}"
    r"|(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\s+(?:and\s+\d{1,2}(?:st|nd|rd|th)\s+)?centur(?:y|ies)"
    r"|\d{3,4}s|\d{4}(?:\s*[–-]\s*\d{2,4})?"
    # A bare month name, capitalised only ("may" and "march" are verbs too).
    r"|(?-i:January|February|March|April|May|June|July|August|September|October|November"
    r"|December))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    rf"(?:[$€£¥]\s?)?\b(?:\d[\d,]*(?:\.\d+)?|(?:{_NUMBER_WORDS}))"
    rf"(?:[\s-]+(?:\d[\d,]*(?:\.\d+)?|{_NUMBER_WORDS}))*"
    r"(?:\s?(?:%|percent|per cent))?"
    r"(?:\s+(?!(?:and|or|the|of|in|to|a|an|by|for|on|at|is|was|were|are)\b)[a-z]+)?",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(
    r"\b[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|da|di|von|van|del|la|le|and|&|for)\s+)*"
    r"[A-Z][\w'’.-]*)*"
)
_SEGMENT_BREAK = re.compile(r"[,;:()\[\]–—\"“”«»]")
_LOCATIVE = frozenset("in at from near to into across within throughout outside".split())
MAX_LABEL_TOKENS = 3
PREPOSITION_BONUS = 0.5
_LEADING_CAPITALS = frozenset(
    "The A An In On At By For From With As It This That These Those He She They We I".split()
)

_TYPE_RULES: tuple[tuple[re.Pattern[str], AnswerType], ...] = tuple(
    (re.compile(p, re.IGNORECASE), cast(AnswerType, t))
    for p, t in (
        (
            r"^\s*when\b|\b(what|which) (year|date|day|month|century|decade|time|period)\b|"
            r"\bhow long ago\b",
            "date",
        ),
        (
            r"\bhow (many|much|long|far|old|big|large|high|tall|often|fast)\b|"
            r"\bwhat (percentage|percent|proportion|number|amount|share|fraction|size|price"
            r"|cost)\b",
            "number",
        ),
        (
            r"^\s*(who|whom|whose)\b|\b(which|what) (person|man|woman|president|leader|king|queen|"
            r"minister|author|scientist|emperor)\b",
            "person",
        ),
        (
            r"^\s*where\b|\b(which|what) (country|city|state|region|place|river|continent|island|"
            r"town|province|nation|location|area|mountain)\b",
            "place",
        ),
        (
            r"\b(which|what) (company|organi[sz]ation|group|team|party|university|institution|"
            r"agency|body|treaty|journal|name)\b|\bwhat is the name\b|\bwhat was the name\b",
            "entity",
        ),
    )
)


def question_type(question: str) -> AnswerType:
    for pattern, kind in _TYPE_RULES:
        if pattern.search(question):
            return kind
    return "other"


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str
    in_question: bool
    is_break: bool


def _tokens(sentence: str, question_terms: set[str]) -> list[_Token]:
    return [
        _Token(
            t.start,
            t.end,
            t.text,
            bool(set(content_terms(t.text)) & question_terms),
            bool(_SEGMENT_BREAK.fullmatch(t.text)),
        )
        for t in span_tokens(sentence)
    ]


def _trim(tokens: list[_Token]) -> list[_Token]:
    """Drop function words and punctuation from both edges of a run."""
    while tokens and _is_edge(tokens[0]):
        tokens = tokens[1:]
    while tokens and _is_edge(tokens[-1]):
        tokens = tokens[:-1]
    return tokens


def _is_edge(token: _Token) -> bool:
    return token.text.lower() in SPAN_EDGE_WORDS or not token.text[0].isalnum()


def _gaps(tokens: list[_Token]) -> list[list[_Token]]:
    """Runs of tokens the question does not contain, cut at punctuation; a long run gives its two
    ends (the words next to the question's words), since that is where answers stand."""
    runs: list[list[_Token]] = []
    current: list[_Token] = []
    for tok in [*tokens, None]:
        if tok is None or tok.in_question or tok.is_break:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(tok)
    out = []
    for run in runs:
        run = _trim(run)
        if len(run) > MAX_GENERIC_TOKENS:
            out += [_trim(run[:MAX_GENERIC_TOKENS]), _trim(run[-MAX_GENERIC_TOKENS:])]
        elif run:
            out.append(run)
    return [r for r in out if r]


def _typed(sentence: str, kind: AnswerType) -> list[tuple[int, int]]:
    if kind == "date":
        return [(m.start(), m.end()) for m in _DATE.finditer(sentence)]
    if kind == "number":
        return [(m.start(), m.end()) for m in _NUMBER.finditer(sentence)]
    spans = []
    if kind in ("person", "place", "entity"):
        for m in _CAPITALISED.finditer(sentence):
            start, text = m.start(), m.group()
            first, _, rest = text.partition(" ")
            if first in _LEADING_CAPITALS:  # "The Hague" survives; a leading "In" does not
                if not rest:
                    continue
                start, text = start + len(first) + 1, rest
            spans.append((start, start + len(text.rstrip(".,"))))
    return spans


def _without_question_words(
    tokens: list[_Token], start: int, end: int, kind: AnswerType
) -> list[_Token]:
    """The longest run of a typed span's tokens that the question does not contain; empty if what
    is left is no name or figure ("of" from "Institute of Democracy" when the question names it)."""
    inside = [t for t in tokens if t.start >= start and t.end <= end]
    best: list[_Token] = []
    run: list[_Token] = []
    for tok in [*inside, None]:
        if tok is None or tok.in_question:
            if len(run) > len(best):
                best = run
            run = []
        else:
            run.append(tok)
    if kind in ("date", "number"):
        return best
    best = _trim(best)
    if not any(t.text[0].isupper() or t.text[0].isdigit() for t in best):
        return []
    return best


def _drop_label(tokens: list[_Token]) -> list[_Token]:
    """Drop a leading speaker or section label ("LAVROV:", "Note:") from the candidates."""
    for i, tok in enumerate(tokens[: MAX_LABEL_TOKENS + 1]):
        if tok.text == ":":
            return tokens[i + 1 :]
    return tokens


def _context_bonus(tokens: list[_Token], first: int, kind: AnswerType) -> float:
    """Places follow "in/at/from..."; people rarely do."""
    before = tokens[first - 1].text.lower() if first > 0 else ""
    if kind == "place":
        return PREPOSITION_BONUS if before in _LOCATIVE else 0.0
    if kind == "person":
        return -PREPOSITION_BONUS if before in _LOCATIVE else 0.0
    return 0.0


def has_typed_answer(kind: AnswerType, sentence: str, question_terms: set[str]) -> bool:
    """Whether ``sentence`` holds a span of the expected type that the question does not already
    contain (a date for a "when" question): a strong sign the sentence answers it."""
    if kind == "other":
        return False
    tokens = _drop_label(_tokens(sentence, question_terms))
    return any(_without_question_words(tokens, s, e, kind) for s, e in _typed(sentence, kind))


def short_answer(question: str, sentence: str) -> tuple[int, int] | None:
    """The ``(start, end)`` of the short answer inside ``sentence``, or None if none fits."""
    kind = question_type(question)
    tokens = _drop_label(_tokens(sentence, set(content_terms(question))))
    anchors = [i for i, t in enumerate(tokens) if t.in_question]
    position = {id(t): i for i, t in enumerate(tokens)}
    # A "when" or "how many" question is answered by a date or a figure or not at all: any other
    # words of the sentence would only look like an answer.
    strict = kind in ("date", "number")
    candidates = [] if strict else [(run, False) for run in _gaps(tokens)]
    for start, end in _typed(sentence, kind):
        run = _without_question_words(tokens, start, end, kind)
        if run:
            candidates.append((run, True))
    best: tuple[float, list[_Token]] | None = None
    for run, typed in candidates:
        first, last = position[id(run[0])], position[id(run[-1])]
        distance = min(
            (first - a - 1 if a < first else a - last - 1 for a in anchors), default=len(tokens)
        )
        score = (
            (TYPE_BONUS + _context_bonus(tokens, first, kind) if typed else 0.0)
            + 1.0 / (1.0 + max(0, distance))
            + CONTENT_BONUS * min(len(run), PREFERRED_TOKENS)
            + (NAME_BONUS if any(t.text[0].isupper() or t.text[0].isdigit() for t in run) else 0)
            - LENGTH_PENALTY * max(0, len(run) - PREFERRED_TOKENS)
        )
        if best is None or score > best[0]:
            best = (score, run)
    if best is None:
        return None
    return best[1][0].start, best[1][-1].end
