"""Follow-up questions, resolved by a deterministic rule instead of an LLM.

The rule: a question *leans on the previous turn* when it starts with a continuation ("and ...",
"what about X?", "how about X?"), refers back with a pronoun or "there/then", or has fewer than
``MIN_OWN_TERMS`` content words of its own. Such a question is searched together with the content
words of the previous turn's (already resolved) query, so chains of follow-ups keep their topic.
Any other question starts a new topic and is searched as typed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.analysis import content_words
from rag.types import Turn

MIN_OWN_TERMS = 2
"""Fewer content words than this ("When was that?", "Why?") cannot stand alone."""

MAX_CARRIED_TERMS = 12
"""Cap on words carried over, so a long first question does not drown the follow-up."""

_CONTINUATION = re.compile(
    r"^\s*(and|also|what about|how about|and what about|what else|then|so)\b", re.IGNORECASE
)
_ANAPHORA = re.compile(
    r"\b(it|its|it's|that|this|these|those|they|them|their|theirs|he|him|his|she|her|hers|"
    r"there|then|such|the same|former|latter)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """True when ``question`` leans on the previous turn (see the module docstring)."""
    if _CONTINUATION.match(question) or _ANAPHORA.search(question):
        return True
    return len(content_words(question)) < MIN_OWN_TERMS


def resolve_query(question: str, history: Sequence[Turn]) -> str:
    """The query to search for ``question`` given the earlier turns (newest last)."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1].query or history[-1].question
    own = {w.lower() for w in content_words(question)}
    carried = [w for w in content_words(previous) if w.lower() not in own][:MAX_CARRIED_TERMS]
    if not carried:
        return question
    return f"{question} {' '.join(carried)}"
