"""The learned reader: span choice by hand, the shipped weights checked before loading, and real
reading with them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.answering.reader import MAX_ANSWER_TOKENS, READER_DIR, Reader, ReadSpan, best_span
from rag.errors import ModelError
from rag.ingest import document_from_text
from rag.types import Passage


def test_best_span_takes_the_highest_start_plus_end_inside_the_context() -> None:
    start = np.array([9.0, 1.0, 5.0, 0.0, 2.0])
    end = np.array([9.0, 0.0, 1.0, 4.0, 3.0])
    offsets = [None, (0, 3), (4, 8), (9, 12), (13, 15)]  # [CLS] is not context
    assert best_span(start, end, offsets) == (9.0, 2, 3)


def test_best_span_never_ends_before_it_starts_or_runs_too_long() -> None:
    n = MAX_ANSWER_TOKENS + 5
    start, end = np.zeros(n), np.zeros(n)
    start[1], end[n - 1] = 10.0, 10.0  # the best pair is too long
    end[0] = 20.0  # and the best end comes before every start
    offsets = [None] + [(i, i + 1) for i in range(1, n)]
    score, first, last = best_span(start, end, offsets)  # type: ignore[misc]
    assert first <= last < first + MAX_ANSWER_TOKENS and score < 20.0
    assert best_span(start, end, [None] * n) is None


def test_a_span_knows_its_margin_over_no_answer() -> None:
    assert ReadSpan("p", 0, 4, score=7.5, null=2.0).margin == 5.5


def test_weights_that_do_not_match_their_checksum_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "reader"
    shutil.copytree(READER_DIR, copy)
    card = json.loads((copy / "reader.json").read_text())
    card["weights_sha256"] = "0" * 64
    (copy / "reader.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not match the sha256"):
        Reader(copy).load()
    with pytest.raises(ModelError, match="no usable reader"):
        Reader(tmp_path / "nowhere").load()


def test_the_shipped_weights_match_their_card() -> None:
    import hashlib

    card = json.loads((READER_DIR / "reader.json").read_text())
    weights = READER_DIR / "model.safetensors"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == card["weights_sha256"]
    assert weights.stat().st_size < 50 * 2**20
    assert Reader().available


def passages(text: str) -> list[Passage]:
    from rag.chunk import Chunker

    return Chunker().chunk(document_from_text(text, "doc.txt"))


@pytest.mark.model
def test_the_reader_finds_the_answer_span_and_says_when_there_is_none() -> None:
    text = (
        "The observatory opened in 1931 on the hill above the town.\n\n"
        "The library holds forty thousand books. It was founded by Maria Lopez in Lisbon."
    )
    reader = Reader().load()
    read = reader.read("Who founded the library?", passages(text))
    doc = document_from_text(text, "doc.txt")
    assert doc.text[read[0].start : read[0].end] == "Maria Lopez"
    assert read[0].margin > 0
    when = reader.read("When did the observatory open?", passages(text))[0]
    assert doc.text[when.start : when.end] == "1931"
    unrelated = reader.read("What is the boiling point of mercury?", passages(text))
    assert all(s.margin < read[0].margin for s in unrelated)


def test_the_passage_choice_weighs_retrieval_evidence_against_the_margin(fake_embedder) -> None:  # noqa: ANN001
    from rag.answering.confidence import choose_spans
    from rag.answering.config import ReaderChoice
    from rag.types import Hit
    from tests.conftest import build_store

    store = build_store(
        fake_embedder,
        {
            "treaty.txt": "The treaty on outer space was presented by Russia and China in 2008.",
            "music.txt": "The orchestra presented a new symphony in the spring of 1999.",
        },
    )
    treaty, music = sorted(store.passages(), key=lambda p: p.source != "treaty.txt")
    question = "Who presented the treaty on outer space?"
    vector = fake_embedder.encode([question])[0]
    hits = [Hit(treaty, 1.0, 1), Hit(music, 0.1, 2)]
    spans = [
        ReadSpan(music.id, music.start, music.start + 13, 9.0, 1.0),  # margin 8
        ReadSpan(treaty.id, treaty.start + 48, treaty.start + 64, 7.0, 1.0),
    ]  # margin 6
    terms = ["present", "treati", "outer", "space"]
    idf = store.idf(terms)

    by_margin = choose_spans(store, spans, hits, vector, terms, idf, ReaderChoice())
    assert [s.passage_id for s in by_margin] == [music.id, treaty.id]  # no weights: margin alone
    weighed = choose_spans(store, spans, hits, vector, terms, idf, ReaderChoice(8.0, 8.0, 8.0))
    assert [s.passage_id for s in weighed] == [treaty.id, music.id]  # retrieval tips it
    with pytest.raises(ValueError, match="reader choice weights must be >= 0"):
        ReaderChoice(fused=-1.0)


@pytest.mark.model
def test_a_question_longer_than_a_window_is_cut_and_still_read() -> None:
    from rag.answering.reader import MAX_QUESTION_TOKENS, tokenize_windows

    text = "The library holds forty thousand books. It was founded by Maria Lopez in Lisbon."
    reader = Reader().load()
    question = "Who founded the library? " + "Please answer carefully and in full. " * 150
    read = reader.read(question, passages(text))  # used to fail: no room left for the passage
    doc = document_from_text(text, "doc.txt")
    assert doc.text[read[0].start : read[0].end] == "Maria Lopez"
    windows = tokenize_windows(reader._tokenizer, [question], [text])
    question_tokens = [s for s in windows.sequence_ids(0) if s == 0]
    assert len(question_tokens) == MAX_QUESTION_TOKENS
    short = tokenize_windows(reader._tokenizer, ["Who founded the library?"], [text])
    assert reader._tokenizer.decode(short["input_ids"][0]).startswith("[CLS] who founded the")


@pytest.mark.model
def test_threads_reading_at_once_each_get_their_own_windows() -> None:
    from concurrent.futures import ThreadPoolExecutor

    text = "The library holds forty thousand books. It was founded by Maria Lopez in Lisbon."
    reader = Reader().load()
    doc = document_from_text(text, "doc.txt")
    # Long questions are cut with other tokenizer settings than the windows are made with: the
    # settings live in the shared tokenizer, so calls must not interleave.
    questions = ["Who founded the library?", "Who founded the library? " + "Answer in full. " * 80]

    def read(n: int) -> str:
        span = reader.read(questions[n % 2], passages(text))[0]
        return doc.text[span.start : span.end]

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(read, range(200)))
    assert found == ["Maria Lopez"] * 200
