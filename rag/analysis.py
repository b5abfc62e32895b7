"""The text analyser: how text becomes words and terms, for BM25 and for answering alike.

One word pattern, one stemmer and the stop-word lists, each named for what it is for:

* ``index_terms`` - what BM25 indexes and searches (Lucene-style: lower case, the short English
  stop list of bm25s, Snowball stems). The store receives these; it never tokenises.
* ``content_terms`` - the stems that say what a text is about, for lexical evidence in answering
  (a fuller stop list: "how", "does" and "many" say nothing about a sentence, and in a small
  collection they may be missing from every passage and look rarest of all).
* ``content_words`` - the same idea unstemmed and in the text's own spelling, to carry a topic
  from one question of a conversation to the next.
* ``span_tokens`` - words and punctuation with offsets, for finding short answers in a sentence.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_EN_PLUS

from rag.errors import InvalidInputError

ANALYSER = "bm25s-en+snowball-english"
"""Recorded with each index: passages indexed by another analyser would not match its queries."""

WORD = re.compile(r"(?u)\b\w\w+\b")
"""A term: two or more word characters (bm25s's and scikit-learn's default)."""

INDEX_STOPWORDS = frozenset(STOPWORDS_EN)
CONTENT_STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {
    "many",
    "much",
    "whose",
    "also",
    "would",
    "could",
}
CONVERSATION_WORDS = CONTENT_STOPWORDS | {
    "else",
    "give",
    "kind",
    "know",
    "please",
    "said",
    "say",
    "sort",
    "tell",
    "think",
}
"""Words that carry no topic in a conversational question ("tell me about...")."""

SPAN_EDGE_WORDS = frozenset(
    """a an the and or but nor of in on at to by for from with without as is was were are be been
    being am that which who whom whose what when where why how this these those it its their his
    her than then also has have had having not no i we you they he she me us them our ours your my
    mine theirs there here such so very too will would can could should may might must do does did
    doing about above across after against along among amongst around before behind below beneath
    beside besides between beyond during except inside into near off onto out outside over past
    since through throughout till toward towards under underneath until unto up upon via within
    although though even if unless whereas while because however therefore thus hence moreover
    furthermore nevertheless meanwhile otherwise instead still yet already just only mainly mostly
    largely particularly especially generally usually often sometimes always never ever again
    more most less least many much several some any each every all both either neither few other
    another own same various certain including like e.g. i.e. etc per whether one ones s""".split()
)
"""Words a short answer never starts or ends with: function words, connectives, hedges."""

_TOPIC_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)
_SPAN_TOKEN = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*|[^\w\s]", re.UNICODE)

_local = threading.local()


def _stem(words: list[str]) -> list[str]:
    # PyStemmer's stemmers keep a cache and are not safe to share between threads: one each.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWords(words)


def check_words(value: object, what: str) -> str:
    """``value`` if it is text a user could have typed with at least one word in it.

    Args:
        value: A question or query, as received.
        what: What it is, for the message ("question", "query").

    Raises:
        InvalidInputError: Not a string, empty, without a letter or digit, or holding bytes that
            are not UTF-8 (Python keeps them from argv or stdin as lone surrogates, which no
            tokenizer accepts).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"the {what} is empty: type a question or some keywords")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidInputError(
            f"the {what} holds bytes that are not valid UTF-8 text (at character {e.start + 1}): "
            "check the terminal's or the file's encoding"
        ) from None
    if not has_words(value):
        raise InvalidInputError(f"the {what} has no words: type a question or some keywords")
    return value


FRAGMENT_MAX_WORDS = 6


def is_fragment(sentences: list[str]) -> bool:
    """Whether a passage is display type, not prose: every sentence a few words in capitals with
    no function word ("TOKYO", "LONDON TEHRAN MOSCOW TEL AVIV"), as on a poster or an
    advertisement. Such text is never an answer or worth offering as reading; a capitalised
    headline ("WE ARE READY FOR ...") has function words and stays."""
    for sentence in sentences:
        words = WORD.findall(sentence)
        if (
            len(words) > FRAGMENT_MAX_WORDS
            or any(ch.islower() for ch in sentence)
            or any(w.lower() in INDEX_STOPWORDS for w in words)
        ):
            return False
    return bool(sentences)


def has_words(text: str) -> bool:
    """Whether ``text`` holds a letter or a digit (zero-width marks and punctuation don't count)."""
    return any(ch.isalnum() for ch in text)


def index_terms(text: str) -> list[str]:
    """The BM25 terms of a passage or a query, in order, repeats kept."""
    return _stem([w for w in WORD.findall(text.lower()) if w not in INDEX_STOPWORDS])


def content_terms(text: str) -> list[str]:
    """The stemmed content words of a text (the BM25 stemmer, the fuller stop list)."""
    return _stem([w for w in WORD.findall(text.lower()) if w not in CONTENT_STOPWORDS])


def content_words(text: str) -> list[str]:
    """Words of ``text`` that carry its topic, as written, in order, without repeats."""
    seen: dict[str, str] = {}
    for match in _TOPIC_WORD.finditer(text):
        word = match.group()
        key = word.lower()
        if key not in CONVERSATION_WORDS and key not in seen:
            seen[key] = word
    return list(seen.values())


@dataclass(frozen=True)
class SpanToken:
    """A word or punctuation mark of a sentence, with its offsets in it."""

    start: int
    end: int
    text: str


def span_tokens(sentence: str) -> list[SpanToken]:
    """Words (with inner apostrophes, dots, commas or hyphens: "U.S.", "1,000") and single
    punctuation marks, in order."""
    return [SpanToken(m.start(), m.end(), m.group()) for m in _SPAN_TOKEN.finditer(sentence)]
