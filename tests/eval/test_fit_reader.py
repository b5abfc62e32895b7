"""eval.fit_reader's passage choice runs end to end on a tiny corpus (the script cannot rot)."""

from __future__ import annotations

from pathlib import Path

from eval.fit_reader import CHOICE_GRID, fit_choice
from rag.answering.config import ReaderChoice
from rag.pipeline import RAG


def test_fit_choice_picks_weights_from_the_grid_and_reports_both_f1s(
    tmp_path: Path,
    real_embedder,  # noqa: ANN001
) -> None:
    rag = RAG(tmp_path / "index", embedder=real_embedder)
    rag.index_texts(
        {
            "space": "Russia and China presented a draft treaty on weapons in outer space in 2008.",
            "ngo": "Over forty NGOs got consultative status with the Economic and Social Council.",
            "npt": "The core element of the contemporary system of security is the NPT.",
        }
    )
    questions = [
        (
            "hasans",
            "Who presented the draft treaty on weapons in outer space?",
            ("Russia and China",),
        ),
        ("hasans", "How many NGOs got consultative status?", ("Over forty",)),
    ]

    choice, report = fit_choice(rag, questions)

    assert isinstance(choice, ReaderChoice)
    assert {choice.fused, choice.passage_lexical, choice.passage_cosine} <= set(CHOICE_GRID)
    assert report["questions"] == 2
    assert 0.0 <= report["span_f1_margin_only"] <= report["span_f1_chosen"] <= 1.0
