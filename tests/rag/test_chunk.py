"""Chunking: passages are exact slices of the document, capped in tokens, split and merged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunk import Chunker, tiktoken_counter
from rag.config import ChunkConfig
from rag.ingest import document_from_text, read_document
from rag.sentences import split_sentences
from rag.types import Document, Passage

CORPUS_DIR = Path(__file__).parents[2] / "rag" / "data" / "corpus"
CORPUS_FILE = CORPUS_DIR / "security-index-2008-lavrov-interview.txt"  # as in tests/conftest.py
COUNT = tiktoken_counter(ChunkConfig().encoding)
WORDS = (
    "treaty nuclear council security minister policy foreign space arms the of and a in "
    "cooperation disarmament organization Geneva Moscow NGOs 2008 forum dialogue"
).split()


def word_count(text: str) -> int:
    """A stand-in for an embedder's tokenizer: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def check_passages(doc: Document, passages: list[Passage]) -> None:
    """The invariants every chunking must keep."""
    previous_end = 0
    for p in passages:
        assert p.text == doc.text[p.start : p.end]
        assert p.text == p.text.strip() and p.text
        assert previous_end <= p.start < p.end
        previous_end = p.end
        assert p.doc_id == doc.id and p.source == doc.source
        assert p.page == doc.page_at(p.start)
        assert p.sentences, "every passage has at least one sentence"
        assert list(p.sentences) == sorted(p.sentences)
        for s, e in p.sentences:
            assert p.start <= s < e <= p.end
    # Nothing is lost: outside the passages there is only whitespace.
    covered = list(doc.text)
    for p in passages:
        covered[p.start : p.end] = [" "] * (p.end - p.start)
    assert "".join(covered).strip() == ""


sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=25).map(
    lambda words: " ".join(words).capitalize() + "."
)
paragraph = st.lists(sentence, min_size=1, max_size=12).map(" ".join)
document_text = st.lists(paragraph, min_size=1, max_size=8).map("\n\n".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=document_text,
    max_tokens=st.integers(min_value=12, max_value=120),
    min_tokens=st.integers(min_value=0, max_value=11),
    model_max=st.integers(min_value=30, max_value=150),
)
def test_passages_are_exact_ordered_slices_within_both_token_caps(
    text: str, max_tokens: int, min_tokens: int, model_max: int
) -> None:
    doc = document_from_text(text, "random.txt")
    chunker = Chunker(
        ChunkConfig(max_tokens=max_tokens, min_tokens=min_tokens),
        model_tokens=word_count,
        model_max=model_max,
    )
    passages = chunker.chunk(doc)
    check_passages(doc, passages)
    for p in passages:
        assert COUNT(p.text) <= max_tokens
        assert word_count(p.text) <= model_max
    # A fragment under min_tokens stays alone only when neither neighbour can take it.
    for before, tiny, after in zip([None, *passages], passages, [*passages[1:], None]):
        if COUNT(tiny.text) < min_tokens:
            assert before is None or not chunker.fits(doc.text[before.start : tiny.end])
            assert after is None or not chunker.fits(doc.text[tiny.start : after.end])


def test_a_long_paragraph_is_split_at_sentence_boundaries() -> None:
    sentences = [
        f"Sentence number {i} talks about the treaty on outer space and the council."
        for i in range(30)
    ]
    doc = document_from_text(" ".join(sentences), "long.txt")
    passages = Chunker(ChunkConfig(max_tokens=60, min_tokens=5)).chunk(doc)

    assert len(passages) > 1
    boundaries = {s for span in split_sentences(doc.text) for s in span}
    for p in passages:
        assert COUNT(p.text) <= 60
        assert p.start in boundaries and p.end in boundaries
        assert p.text.startswith("Sentence number") and p.text.endswith("council.")
    assert sum(len(p.sentences) for p in passages) == 30


def test_a_sentence_longer_than_the_cap_is_split_at_words() -> None:
    doc = document_from_text(" ".join(["disarmament"] * 300) + ".", "words.txt")
    passages = Chunker(ChunkConfig(max_tokens=50, min_tokens=0)).chunk(doc)

    assert len(passages) > 1
    check_passages(doc, passages)
    for p in passages:
        assert COUNT(p.text) <= 50
        assert not p.text.startswith(" ") and not doc.text[p.start - 1 : p.start].isalpha()


@pytest.mark.parametrize(
    "text",
    [
        "x" * 20_000,  # one "word" with no space at all
        "中文句子没有空格。" * 2_000,  # no spaces between sentences either
        " ".join(["w" * 300] * 40),  # words longer than a passage's worth of tokens
    ],
    ids=["no-space", "cjk", "huge-words"],
)
def test_text_without_spaces_is_still_cut_into_passages_that_fit(text: str) -> None:
    doc = document_from_text(text, "nospace.txt")
    passages = Chunker(ChunkConfig(max_tokens=50, min_tokens=0), model_tokens=word_count,
                       model_max=60).chunk(doc)  # fmt: skip

    check_passages(doc, passages)
    assert len(passages) > 1
    for p in passages:
        assert COUNT(p.text) <= 50 and word_count(p.text) <= 60


def test_a_long_line_is_chunked_with_a_few_token_counts_per_passage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Packing counts tokens a few times per passage, not once per word it tries to add: a 5 MB
    text of one line took tens of minutes when every join was tokenized again."""
    text = " ".join(WORDS[i % len(WORDS)] for i in range(30_000))  # one line, no sentence end
    chunker = Chunker(ChunkConfig(max_tokens=100, min_tokens=0))
    calls = 0
    fits = chunker.fits

    def counted(text: str) -> bool:
        nonlocal calls
        calls += 1
        return fits(text)

    monkeypatch.setattr(chunker, "fits", counted)
    passages = chunker.chunk(document_from_text(text, "line.txt"))

    check_passages(document_from_text(text, "line.txt"), passages)
    assert len(passages) > 100
    assert calls <= 6 * len(passages)  # ~70 per passage when every join was tokenized
    assert all(COUNT(p.text) <= 100 for p in passages)
    # Greedy packing: no passage could have taken the next one's first word.
    for p, q in zip(passages, passages[1:], strict=False):
        assert COUNT(text[p.start : q.start + len(q.text.split()[0])]) > 100


def test_the_model_limit_caps_passages_below_max_tokens() -> None:
    text = " ".join(f"Point {i} is about arms control and security." for i in range(40))
    doc = document_from_text(text, "model.txt")
    passages = Chunker(ChunkConfig(max_tokens=1000), model_tokens=word_count, model_max=40).chunk(
        doc
    )
    assert len(passages) > 1
    assert all(word_count(p.text) <= 40 for p in passages)


def test_tiny_fragments_are_merged_not_left_alone() -> None:
    cities = ["TOKYO", "SHANGHAI", "NEW YORK", "MEXICO CITY", "LONDON", "TEHRAN", "MOSCOW"]
    body = (
        "The Doomsday Clock reads five minutes to midnight as the world stands on the brink "
        "of a second nuclear age. Subscribe today online to stay informed."
    )
    doc = document_from_text("\n\n".join([*cities, body]), "ad.txt")
    passages = Chunker().chunk(doc)

    check_passages(doc, passages)
    assert len(passages) < len(cities) + 1
    assert not any(p.text in cities for p in passages), "a lone city name became a passage"
    holding = [p for p in passages if "TOKYO" in p.text]
    assert len(holding) == 1 and "SHANGHAI" in holding[0].text
    assert "TOKYO\n\nSHANGHAI" in holding[0].text, "merged fragments keep their blank lines"


def test_a_fragment_the_next_paragraph_cannot_take_joins_the_previous_one() -> None:
    previous = "The treaty on outer space was presented."  # 8 tokens
    tiny = "Alpha."  # 2 tokens
    following = (
        "Moscow and Geneva and Paris and London and Tokyo and Tehran and Berlin and Rome and Oslo."
    )
    doc = document_from_text("\n\n".join([previous, tiny, following]), "x.txt")
    passages = Chunker(ChunkConfig(max_tokens=20, min_tokens=5)).chunk(doc)
    assert [p.text for p in passages] == [f"{previous}\n\n{tiny}", following]


def test_a_short_document_is_one_passage() -> None:
    doc = document_from_text("Title\n\nOne short line.", "short.txt")
    passages = Chunker().chunk(doc)
    assert [(p.start, p.end) for p in passages] == [(0, len(doc.text))]


def test_passage_ids_are_stable_content_hashes() -> None:
    doc = document_from_text("A first paragraph here.\n\nA second one.", "ids.txt")
    first = [p.id for p in Chunker().chunk(doc)]
    again = [p.id for p in Chunker().chunk(doc)]
    other = document_from_text("A first paragraph here.\n\nA second one!", "ids.txt")
    assert first == again
    assert set(first).isdisjoint(p.id for p in Chunker().chunk(other))


@pytest.fixture(scope="module")
def corpus() -> Document:
    return read_document(CORPUS_FILE)


@pytest.fixture(scope="module")
def corpus_passages(corpus: Document) -> list[Passage]:
    return Chunker().chunk(corpus)


def test_default_corpus_passages_keep_the_invariants(
    corpus: Document, corpus_passages: list[Passage]
) -> None:
    check_passages(corpus, corpus_passages)
    assert all(COUNT(p.text) <= ChunkConfig().max_tokens for p in corpus_passages)
    assert {p.page for p in corpus_passages} == {1, 2}


def test_default_corpus_has_no_running_head(corpus_passages: list[Passage]) -> None:
    for p in corpus_passages:
        assert "I\nN\nT" not in p.text
        assert not re.search(r"(?m)^[A-Z]$", p.text), p.text


def test_default_corpus_joins_the_paragraph_broken_by_the_running_head(
    corpus_passages: list[Passage],
) -> None:
    phrase = "Civil Society Institutions and Human Rights, with the Public Chamber"
    assert sum(phrase in p.text for p in corpus_passages) == 1


def test_default_corpus_has_no_markdown_left(corpus_passages: list[Passage]) -> None:
    for p in corpus_passages:
        assert "\\$" not in p.text
        assert "*third sector*" not in p.text
        assert "**Bulletin" not in p.text
    assert any("Russian third sector comprise" in p.text for p in corpus_passages)
    assert any("$48* a year" in p.text for p in corpus_passages)


def test_default_corpus_passages_fit_the_real_model(corpus: Document, real_embedder) -> None:
    chunker = Chunker(model_tokens=real_embedder.count_tokens, model_max=real_embedder.max_tokens)
    passages = chunker.chunk(corpus)
    assert passages
    longest = max(real_embedder.count_tokens(p.text) for p in passages)
    assert longest <= real_embedder.max_tokens
