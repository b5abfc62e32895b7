"""The one text analyser: BM25's terms are bm25s's own tokenisation; the other views of a text
(content terms, topic words, span tokens) are built from the same words and stemmer."""

from __future__ import annotations

import threading

import bm25s
import Stemmer

from rag.analysis import (
    CONTENT_STOPWORDS,
    INDEX_STOPWORDS,
    content_terms,
    content_words,
    index_terms,
    span_tokens,
)

TEXTS = [
    "How many times has the Conference on Disarmament been blocked, sadly, for years?",
    "Russia's NGOs—over 40 of them—got consultative status with ECOSOC in 2007.",
    "The U.S. and the E.U. spent $1,000,000; it's a well-known fact. Don't panic!",
    "",
]


def test_index_terms_are_exactly_what_bm25s_tokenize_gives() -> None:
    stemmer = Stemmer.Stemmer("english")
    expected = bm25s.tokenize(
        TEXTS, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    assert [index_terms(t) for t in TEXTS] == [list(e) for e in expected]


def test_content_terms_are_the_index_terms_without_function_words() -> None:
    text = TEXTS[0]
    content = content_terms(text)
    assert set(content) <= set(index_terms(text))
    assert "confer" in content and "disarma" in content and "block" in content
    assert not {"how", "mani", "has", "been", "the"} & set(content)
    assert INDEX_STOPWORDS < CONTENT_STOPWORDS


def test_content_words_keep_the_spelling_and_drop_conversation() -> None:
    assert content_words("Tell me about the START Treaty, please") == ["START", "Treaty"]
    assert content_words("Russia's NGOs and Russia's NGOs") == ["Russia's", "NGOs"]
    assert content_words("How many?") == []


def test_span_tokens_cover_words_and_punctuation_with_offsets() -> None:
    sentence = TEXTS[2]
    tokens = span_tokens(sentence)
    assert [t.text for t in tokens[:6]] == ["The", "U.S", ".", "and", "the", "E.U"]
    assert "1,000,000" in [t.text for t in tokens]
    assert all(sentence[t.start : t.end] == t.text for t in tokens)


def test_the_analyser_is_safe_to_share_between_threads() -> None:
    expected = [index_terms(t) for t in TEXTS]
    results: list[list[list[str]]] = []

    def work() -> None:
        results.append([index_terms(t) for t in TEXTS * 50][: len(TEXTS)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 8
