"""eval.fit_reader's passage choice runs end to end on a tiny corpus (the script cannot rot)."""

from __future__ import annotations

from pathlib import Path

from eval.fit_reader import CHOICE_GRID, ask_all, fit_choice
from rag.answering.config import READER_FEATURES, ReaderChoice, load_config
from rag.pipeline import RAG

TEXTS = {
    "space": "Russia and China presented a draft treaty on weapons in outer space in 2008.",
    "ngo": "Over forty NGOs got consultative status with the Economic and Social Council.",
    "npt": "The core element of the contemporary system of security is the NPT.",
}
QUESTIONS = [
    ("hasans", "Who presented the draft treaty on weapons in outer space?", ("Russia and China",)),
    ("hasans", "How many NGOs got consultative status?", ("Over forty",)),
]


def test_fit_choice_picks_weights_from_the_grid_and_reports_both_f1s(
    tmp_path: Path,
    real_embedder,  # noqa: ANN001
) -> None:
    rag = RAG(tmp_path / "index", embedder=real_embedder)
    rag.index_texts(TEXTS)
    questions = QUESTIONS

    choice, report = fit_choice(rag, questions)

    assert isinstance(choice, ReaderChoice)
    assert {choice.fused, choice.passage_lexical, choice.passage_cosine} <= set(CHOICE_GRID)
    assert report["questions"] == 2
    assert 0.0 <= report["span_f1_margin_only"] <= report["span_f1_chosen"] <= 1.0


def test_ask_all_labels_answers_by_their_quote_and_reports_what_the_quotes_hold(
    tmp_path: Path,
    real_embedder,  # noqa: ANN001
) -> None:
    rag = RAG(tmp_path / "index", embedder=real_embedder)
    rag.index_texts(TEXTS)
    questions = [*QUESTIONS, ("noans", "Who signed the treaty on the Moon in 1967?", ())]

    x, right, groups, shares = ask_all(rag, questions, load_config())

    assert x.shape == (3, len(READER_FEATURES))
    assert groups.tolist() == ["hasans", "hasans", "noans"]
    assert right.tolist() == [True, True, False]  # an unanswerable question is never "right"
    assert shares == {"span_sentence_holds_gold": 1.0, "quote_holds_gold": 1.0}
