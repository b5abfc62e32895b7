"""The reader's training code on a tiny hand-written pool: windows and labels, the split by
article, and a few real training steps that save, resume and export (so the script cannot rot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.reader_data import NO_ANSWER, load_pool, make_windows, split_by_article
from eval.train_reader import TrainConfig, export, train
from rag.embed import bundled_model_dir

ARTICLES = {
    "Observatory": (
        "The observatory opened in 1931 on the hill above the town. Its telescope has a mirror "
        "of 2.5 metres, the largest in the country until 1975.",
        [
            ("When did the observatory open?", "1931"),
            ("How large is the telescope's mirror?", "2.5 metres"),
            ("Who paid for the observatory?", None),
        ],
    ),
    "Library": (
        "The library holds forty thousand books. It was founded by Maria Lopez in Lisbon, and "
        "its reading rooms close at nine in the evening.",
        [
            ("Who founded the library?", "Maria Lopez"),
            ("Where was the library founded?", "Lisbon"),
            ("How many films does the library hold?", None),
        ],
    ),
    "Railway": (
        "Visitors arrive by the funicular railway, which climbs 600 metres in ten minutes.",
        [("How long does the railway take?", "ten minutes"), ("Who built it?", None)],
    ),
}


def write_pool(path: Path) -> Path:
    data = []
    for n, (title, (context, questions)) in enumerate(ARTICLES.items()):
        qas = []
        for m, (question, answer) in enumerate(questions):
            answers = (
                [] if answer is None else [{"text": answer, "answer_start": context.index(answer)}]
            )
            qas.append(
                {
                    "id": f"q{n}{m}",
                    "question": question,
                    "answers": answers,
                    "is_impossible": answer is None,
                }
            )
        data.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps({"version": "v2.0", "data": data}))
    return path


@pytest.fixture
def tokenizer():  # noqa: ANN201
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(bundled_model_dir()), local_files_only=True)


def test_windows_label_the_answer_tokens_or_no_answer(tmp_path: Path, tokenizer) -> None:  # noqa: ANN001
    examples = load_pool(write_pool(tmp_path / "pool.json"))
    windows = make_windows(examples, tokenizer, max_length=64, stride=16)
    assert set(windows.example) == set(range(len(examples)))
    for w in range(len(windows)):
        example = examples[windows.example[w]]
        start, end = windows.start[w], windows.end[w]
        if not example.answers:
            assert (start, end) == (NO_ANSWER, NO_ANSWER)
            continue
        span = example.context[windows.offsets[w][start][0] : windows.offsets[w][end][1]]
        assert span == example.answers[0][1]


def test_an_answer_outside_the_window_is_no_answer(tmp_path: Path, tokenizer) -> None:  # noqa: ANN001
    examples = load_pool(write_pool(tmp_path / "pool.json"))
    windows = make_windows(examples[:2], tokenizer, max_length=24, stride=8)
    late = [w for w in range(len(windows)) if windows.example[w] == 1]  # "2.5 metres", far in
    labels = [(windows.start[w], windows.end[w]) for w in late]
    assert len(late) > 1 and (NO_ANSWER, NO_ANSWER) in labels
    assert any(label != (NO_ANSWER, NO_ANSWER) for label in labels)


def test_the_split_is_by_article(tmp_path: Path) -> None:
    examples = load_pool(write_pool(tmp_path / "pool.json"))
    train_set, held = split_by_article(examples, 0.34, seed=1)
    assert train_set and held
    assert not {e.article for e in train_set} & {e.article for e in held}
    assert len(train_set) + len(held) == len(examples)
    assert split_by_article(examples, 0.34, seed=1) == (train_set, held)


@pytest.mark.model
@pytest.mark.slow
def test_a_few_steps_train_save_resume_and_export(tmp_path: Path) -> None:
    import hashlib

    pool = write_pool(tmp_path / "pool.json")
    config = TrainConfig(max_length=64, stride=16, batch_size=2, epochs=2, held_out=0.34)
    work = tmp_path / "work"
    train(pool, work, config, save_every=1, max_steps=2)
    rows = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["loss"] > 0 and 0 <= r["f1"] <= 1 for r in rows)

    best = train(pool, work, config, save_every=1, max_steps=3)  # resumes at step 2
    rows = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]

    weights = export(best, tmp_path / "reader", pool)
    card = json.loads((tmp_path / "reader" / "reader.json").read_text())
    assert card["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert card["config"]["batch_size"] == 2 and card["step"] in (1, 2, 3)
    assert weights.stat().st_size < 50 * 2**20  # fp16: fits the repository's limit

    with pytest.raises(SystemExit, match="use another --work"):
        train(pool, work, TrainConfig(max_length=96, stride=16), save_every=1, max_steps=4)
