"""Dataset loaders on the real shared data and on every kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval.datasets import (
    QADataset,
    load_beir,
    load_dataset,
    load_qa_jsonl,
    load_squad,
    sample_questions,
)
from rag.errors import DatasetError, InvalidInputError

SQUAD_SHA256 = "e67e5969b6dc6c1642154740806b79263b77fc048c7c11ee60d534eb48ef81e8"


def _shared_data() -> Path:
    env = os.environ.get("RAG_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


SHARED = _shared_data()
SQUAD_FILE = SHARED / "squad2-dev-half" / "squad2_dev_half.json"
CRANFIELD = SHARED / "cranfield"


@pytest.fixture(scope="module")
def squad() -> QADataset:
    if not SQUAD_FILE.is_file():
        pytest.skip(f"shared SQuAD data not found at {SQUAD_FILE} (set RAG_SHARED_DATA)")
    return load_dataset(SQUAD_FILE)


def test_squad_counts(squad: QADataset) -> None:
    assert len(squad.documents) == 16
    assert len(squad.paragraph_spans) == 646
    assert len(squad.questions) == 6078
    answerable = [q for q in squad.questions if q.answerable]
    assert len(answerable) == 2910
    assert set(squad.qrels) == {q.id for q in answerable}
    assert squad.sha256 == SQUAD_SHA256
    assert all(q.answers == () for q in squad.questions if not q.answerable)


def test_squad_spans_and_answer_offsets(squad: QADataset) -> None:
    raw = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    docs = {d.id: d for d in squad.documents}
    questions = {q.id: q for q in squad.questions}
    checked = 0
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                question = questions[qa["id"]]
                (para_id,) = question.gold_doc_ids
                doc_id, start, end = squad.paragraph_spans[para_id]
                text = docs[doc_id].text
                assert text[start:end] == paragraph["context"]
                if qa.get("is_impossible"):
                    assert qa["id"] not in squad.qrels
                    continue
                assert squad.qrels[qa["id"]] == {para_id: 1}
                for answer in qa["answers"]:
                    at = start + answer["answer_start"]
                    assert text[at : at + len(answer["text"])] == answer["text"]
                    assert answer["text"] in question.answers
                    checked += 1
    assert checked >= 2910


def test_squad_document_is_paragraphs_joined(squad: QADataset) -> None:
    doc = squad.documents[0]
    spans = sorted(s for s in squad.paragraph_spans.values() if s[0] == doc.id)
    assert spans[0][1] == 0 and spans[-1][2] == len(doc.text)
    for (_, _, end), (_, nxt, _) in zip(spans, spans[1:], strict=False):
        assert doc.text[end:nxt] == "\n\n"


def test_cranfield() -> None:
    if not CRANFIELD.is_dir():
        pytest.skip(f"shared Cranfield data not found at {CRANFIELD} (set RAG_SHARED_DATA)")
    data = load_dataset(CRANFIELD)
    assert len(data.documents) == 1400
    assert len(data.questions) == 225
    assert sum(len(v) for v in data.qrels.values()) == 1612
    first = data.questions[0]
    assert first.id == "1" and first.answerable and first.gold_doc_ids
    grades = data.qrels["1"]
    assert [grades[d] for d in first.gold_doc_ids] == sorted(grades.values(), reverse=True)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_qa_jsonl(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "qs.jsonl",
        [
            "# a comment",
            '{"id": "a", "question": "Who?", "answers": ["Ann", "Ann", "ann b"]}',
            "",
            '{"id": 7, "question": "Why?", "answers": []}',
        ],
    )
    data = load_dataset(path)
    assert [q.id for q in data.questions] == ["a", "7"]
    assert data.questions[0].answers == ("Ann", "ann b") and data.questions[0].answerable
    assert data.questions[1].answers == () and not data.questions[1].answerable
    assert data.documents == () and data.qrels == {}


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.jsonl",
        ['{"id": "a", "question": "Q?", "answers": []}', "", '{"id": "b", "question": '],
    )
    with pytest.raises(DatasetError, match=r"bad\.jsonl:3:"):
        load_qa_jsonl(path)


def test_bad_record_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "rec.jsonl", ["# x", "", '{"id": "a", "answers": []}'])
    with pytest.raises(DatasetError, match=r"rec\.jsonl:3: 'question'"):
        load_qa_jsonl(path)


def test_beir_bad_qrels_line(tmp_path: Path) -> None:
    _write(tmp_path / "corpus.jsonl", ['{"_id": "d1", "title": "T", "text": "x"}'])
    _write(tmp_path / "queries.jsonl", ['{"_id": "q1", "text": "y"}'])
    _write(tmp_path / "qrels.tsv", ["query-id\tcorpus-id\tscore", "q1\td1\t1", "q1\td1"])
    with pytest.raises(DatasetError, match=r"qrels\.tsv:3:"):
        load_beir(tmp_path)


def test_beir_bad_corpus_line(tmp_path: Path) -> None:
    _write(tmp_path / "corpus.jsonl", ['{"_id": "d1", "text": "x"}', "", "[1]"])
    _write(tmp_path / "queries.jsonl", ['{"_id": "q1", "text": "y"}'])
    _write(tmp_path / "qrels.tsv", ["query-id\tcorpus-id\tscore", "q1\td1\t1"])
    with pytest.raises(DatasetError, match=r"corpus\.jsonl:3:"):
        load_beir(tmp_path)


def test_beir_keeps_only_judged_queries(tmp_path: Path) -> None:
    _write(tmp_path / "corpus.jsonl", ['{"_id": "d1", "title": "T", "text": "x"}'])
    _write(tmp_path / "queries.jsonl", ['{"_id": "q1", "text": "y"}', '{"_id": "q2", "text": "z"}'])
    _write(tmp_path / "qrels.tsv", ["query-id\tcorpus-id\tscore", "q1\td1\t2"])
    data = load_beir(tmp_path)
    assert [q.id for q in data.questions] == ["q1"]
    assert data.documents[0].title == "T" and data.documents[0].text == "x"
    assert data.qrels == {"q1": {"d1": 2}}


def test_unknown_format_lists_known(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", ['{"id": "a", "question": "Q?", "answers": []}'])
    with pytest.raises(DatasetError, match="squad, beir, qa-jsonl"):
        load_dataset(path, format="csv")
    other = _write(tmp_path / "x.txt", ["hello"])
    with pytest.raises(DatasetError, match="cannot tell"):
        load_dataset(other)
    not_squad = tmp_path / "list.json"
    not_squad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DatasetError, match="not SQuAD JSON"):
        load_dataset(not_squad)


def test_missing_paths(tmp_path: Path) -> None:
    for call in (load_dataset, load_squad, load_qa_jsonl, load_beir):
        with pytest.raises(DatasetError, match="nowhere"):
            call(tmp_path / "nowhere.json")


def test_no_questions(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.jsonl", ["# nothing here", ""])
    with pytest.raises(DatasetError, match="no questions"):
        load_dataset(path)
    squad = tmp_path / "empty.json"
    squad.write_text(
        json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": []}]}]}),
        encoding="utf-8",
    )
    with pytest.raises(DatasetError, match="no questions"):
        load_dataset(squad)


def test_squad_schema_error_names_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    article = {"title": "T", "paragraphs": [{"context": "c", "qas": []}, {"qas": []}]}
    path.write_text(json.dumps({"version": "v2.0", "data": [article]}), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"data\[0\].*paragraphs\[1\].*'context'"):
        load_squad(path)


def _tiny_squad(tmp_path: Path) -> QADataset:
    qas = [
        {"id": f"q{i}", "question": f"Q{i}?", "answers": [{"text": "c", "answer_start": 0}]}
        for i in range(20)
    ]
    article = {"title": "T", "paragraphs": [{"context": "c", "qas": qas}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"version": "1.1", "data": [article]}), encoding="utf-8")
    return load_squad(path)


def test_sample_questions(tmp_path: Path) -> None:
    data = _tiny_squad(tmp_path)
    a = sample_questions(data, 5, seed=1)
    assert a == sample_questions(data, 5, seed=1)
    ids = [q.id for q in a.questions]
    assert len(ids) == 5 and ids == sorted(ids, key=lambda s: int(s[1:]))
    assert set(a.qrels) == set(ids)
    assert sample_questions(data, 100, seed=1) == data
    with pytest.raises(InvalidInputError):
        sample_questions(data, 0, seed=1)
