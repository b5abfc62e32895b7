"""The app's wiring without a browser: serving defaults, privacy settings, the empty index."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui import app as ui_app
from ui import handlers as ui_handlers


def test_analytics_are_off_and_fonts_are_local(fake_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    import gradio as gr

    from rag.pipeline import RAG

    blocks = ui_app.build_app(RAG(tmp_path / "index", embedder=fake_embedder))
    assert blocks.analytics_enabled is False
    theme = ui_app.theme()
    fonts = [*theme.font, *theme.font_mono]
    assert not any(isinstance(f, gr.themes.GoogleFont) for f in fonts)
    assert "fonts.googleapis" not in theme._get_theme_css()


def test_serve_binds_loopback_and_starts_an_empty_chat_on_a_new_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = {}

    def fake_launch(app, **kwargs):  # noqa: ANN001, ANN003, ANN202
        started.update(kwargs, app=app)

    monkeypatch.setattr(ui_app, "launch", fake_launch)
    ui_app.serve(index_dir=tmp_path / "new-index")
    assert started["host"] == "127.0.0.1" and started["port"] == 7860
    assert not (tmp_path / "new-index").exists()  # nothing is written until an upload


def test_asking_an_empty_index_points_to_the_upload(fake_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    from rag.pipeline import RAG

    handlers = ui_handlers.ChatHandlers(RAG(tmp_path / "index", embedder=fake_embedder), ())
    with pytest.warns(UserWarning, match="No documents are indexed yet: upload some"):
        handlers.ask("When?", [], "hybrid", 5, False, 0.5)
    assert ui_handlers.default_examples(handlers.rag) == ()


def test_examples_follow_the_loaded_corpus(ui_rag) -> None:  # noqa: ANN001
    assert ui_handlers.default_examples(ui_rag) == ui_handlers.DEFAULT_EXAMPLES


def test_every_example_question_is_answered(ui_rag) -> None:  # noqa: ANN001
    for question in ui_handlers.DEFAULT_EXAMPLES:
        answer = ui_rag.ask(question)
        assert not answer.abstained and answer.citations, question


def test_strictness_slider_starts_at_the_fitted_threshold(fake_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    from rag.answering import load_config
    from rag.pipeline import RAG

    blocks = ui_app.build_app(RAG(tmp_path / "index", embedder=fake_embedder))
    sliders = [
        b for b in blocks.blocks.values() if getattr(b, "label", None) == "Abstention strictness"
    ]
    from rag.answering.reader import use_reader

    fitted = load_config()
    expected = fitted.reader.threshold if use_reader(None) else fitted.abstention.threshold
    assert [s.value for s in sliders] == [expected]
    labels = {b: str(getattr(b, "label", "")) for b in blocks.blocks.values()}
    readers = [b for b, label in labels.items() if "learned reader" in label]
    assert [r.value for r in readers] == [use_reader(None)]


@pytest.mark.parametrize("k", ["abc", None, 2.7, 0, -1, True, "2.5", [3]])
def test_the_api_refuses_a_k_that_is_not_a_whole_number(k: object) -> None:
    from rag.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="k must be a positive integer"):
        ui_handlers._k(k)
    assert ui_handlers._k(3) == ui_handlers._k(3.0) == ui_handlers._k("3") == 3
