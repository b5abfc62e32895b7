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
from typing import Literal

from index.bm25 import terms

AnswerType = Literal["date", "number", "person", "place", "entity", "other"]

MAX_GENERIC_TOKENS = 6
"""Longest answer offered for questions with no type; longer ones are the whole quote's job."""

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
    r"|\d{3,4}s|\d{4}(?:\s*[–-]\s*\d{2,4})?)\b",
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
_TOKEN = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*|[^\w\s]", re.UNICODE)
_SEGMENT_BREAK = re.compile(r"[,;:()\[\]–—\"“”«»]")
_EDGE_WORDS = frozenset(
    """a an the and or but of in on at to by for from with as is was were are be been being that
    which who whom whose this these those it its their his her than then also has have had
    not""".split()
)
_LEADING_CAPITALS = frozenset(
    "The A An In On At By For From With As It This That These Those He She They We I".split()
)

_TYPE_RULES: tuple[tuple[re.Pattern[str], AnswerType], ...] = tuple(
    (re.compile(p, re.IGNORECASE), t)
    for p, t in (
        (
            r"^\s*when\b|\bwhat (year|date|day|month|century|decade|time|period)\b|"
            r"\b(which|what) (year|date|century|decade)\b|\bhow long ago\b|\bin what year\b",
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


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    kind: AnswerType


def question_type(question: str) -> AnswerType:
    for pattern, kind in _TYPE_RULES:
        if pattern.search(question):
            return kind
    return "other"


def _candidates(sentence: str, kind: AnswerType) -> list[Candidate]:
    found: list[Candidate] = []
    if kind == "date":
        found += [Candidate(m.start(), m.end(), "date") for m in _DATE.finditer(sentence)]
    if kind == "number":
        found += [Candidate(m.start(), m.end(), "number") for m in _NUMBER.finditer(sentence)]
    if kind in ("person", "place", "entity"):
        for m in _CAPITALISED.finditer(sentence):
            start, text = m.start(), m.group()
            first, _, rest = text.partition(" ")
            if first in _LEADING_CAPITALS:  # "The Hague" survives; a leading "In" does not
                if not rest:
                    continue
                start, text = start + len(first) + 1, rest
            found.append(Candidate(start, start + len(text.rstrip(".,")), kind))
    return found + _generic(sentence)


def _generic(sentence: str) -> list[Candidate]:
    """Runs of tokens inside a punctuation-delimited segment, trimmed of function words."""
    out = []
    for seg in re.split(f"(?={_SEGMENT_BREAK.pattern})", sentence):
        offset = sentence.find(seg)
        tokens = [
            (m.start() + offset, m.end() + offset, m.group())
            for m in _TOKEN.finditer(seg)
            if not _SEGMENT_BREAK.fullmatch(m.group())
        ]
        while tokens and tokens[0][2].lower() in _EDGE_WORDS:
            tokens.pop(0)
        while tokens and (tokens[-1][2].lower() in _EDGE_WORDS or not tokens[-1][2][0].isalnum()):
            tokens.pop()
        if tokens:
            out.append(Candidate(tokens[0][0], tokens[-1][1], "other"))
    return out


def _question_positions(sentence: str, question_terms: set[str]) -> list[int]:
    return [m.start() for m in _TOKEN.finditer(sentence) if set(terms(m.group())) & question_terms]


def _strip_question_words(sentence: str, cand: Candidate, question_terms: set[str]) -> Candidate:
    """Keep the longest run of the candidate's tokens that the question does not contain."""
    tokens = list(_TOKEN.finditer(sentence[cand.start : cand.end]))
    best: tuple[int, int] | None = None
    run_start: int | None = None
    for i, tok in enumerate([*tokens, None]):
        is_q = tok is None or bool(set(terms(tok.group())) & question_terms)
        if not is_q and run_start is None:
            run_start = i
        if is_q and run_start is not None:
            if best is None or i - run_start > best[1] - best[0]:
                best = (run_start, i)
            run_start = None
    if best is None:
        return Candidate(cand.start, cand.start, cand.kind)
    first, last = tokens[best[0]], tokens[best[1] - 1]
    if cand.kind != "other":  # a typed span ("March 27, 2008") keeps its inner punctuation
        return Candidate(cand.start + first.start(), cand.start + last.end(), cand.kind)
    run = _generic(sentence[cand.start + first.start() : cand.start + last.end()])
    if not run:
        return Candidate(cand.start, cand.start, cand.kind)
    base = cand.start + first.start()
    return Candidate(base + run[0].start, base + run[0].end, cand.kind)


def short_answer(question: str, sentence: str) -> tuple[int, int] | None:
    """The ``(start, end)`` of the short answer inside ``sentence``, or None if none fits."""
    kind = question_type(question)
    question_terms = set(terms(question))
    anchors = _question_positions(sentence, question_terms)
    best: tuple[float, Candidate] | None = None
    for cand in _candidates(sentence, kind):
        cand = _strip_question_words(sentence, cand, question_terms)
        n_tokens = len(_TOKEN.findall(sentence[cand.start : cand.end]))
        if n_tokens == 0 or (cand.kind == "other" and n_tokens > MAX_GENERIC_TOKENS * 2):
            continue
        distance = min((abs(a - cand.start) for a in anchors), default=len(sentence))
        score = (
            (2.0 if cand.kind == kind and kind != "other" else 0.0)
            + 1.0 / (1.0 + distance / 20.0)
            - 0.04 * max(0, n_tokens - MAX_GENERIC_TOKENS)
        )
        if best is None or score > best[0]:
            best = (score, cand)
    if best is None:
        return None
    return best[1].start, best[1].end
