"""The web chat: Gradio wiring only. Every answer, search and index change is a call to ``RAG``.

``serve()`` is what ``rag serve`` runs. ``build_app(rag)`` builds the page; ``launch(app, ...)``
starts it with the offline theme and CSS (Gradio 6 takes the theme at launch time), so tests and
``serve`` start the same page. Besides the page, the app exposes a named API endpoint ``/ask``
whose only required input is the question and whose result is the JSON of ``rag ask --json``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData
from gradio.utils import NamedString
from gradio_client import utils as client_utils

from rag import RAG, open_index
from rag.answering.reader import default_reader, use_reader
from rag.errors import RagError
from rag.ingest import SUPPORTED_SUFFIXES
from rag.types import RETRIEVAL_MODES
from ui import render, render_documents
from ui.assets import CSS, SOURCE_JS, TRANSCRIPT_JS
from ui.handlers import DEFAULT_K, ChatHandlers, default_examples, documents
from ui.uploads import MAX_UPLOAD_BYTES

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
MAX_K = 20
ASK_CONCURRENCY = 4
"""Questions answered at once; each is one encoder call, so more mostly queue on the CPU."""

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                "sans-serif")  # fmt: skip
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")

UPLOAD_KINDS = (".txt", ".md", ".pdf", ".html", ".docx")
"""The kinds named on the upload box; the aliases (.markdown, .htm) are accepted too."""

MODE_LABELS = {"hybrid": "Hybrid (BM25 + dense)", "dense": "Dense (embeddings)", "bm25": "BM25"}


def without_stray_temp_files(box: gr.File) -> gr.File:
    """``box`` with the upload path passed on without Gradio's stray temporary file.

    Gradio 6.31's ``File`` preprocessing opens an empty ``NamedTemporaryFile`` in its cache for
    every uploaded file and never uses or deletes it, so each upload left an empty file behind.
    This instance passes the (already checked, cached) upload path on as ``File`` does, without
    opening one. Patched on the instance: a ``File`` subclass would make Gradio write a ``.pyi``
    stub next to this module at import time.
    """
    process = box._process_single_file

    def without_temp_file(f: FileData) -> NamedString | bytes:
        if box.type != "filepath":
            return process(f)
        if box.file_types and not client_utils.is_valid_file(f.path, box.file_types):
            raise gr.Error(f"Invalid file type: upload one of {', '.join(box.file_types)}")
        return NamedString(f.path)

    box._process_single_file = without_temp_file  # type: ignore[method-assign]
    return box


def theme() -> gr.themes.Base:
    """The default theme with system fonts, so the page requests no web fonts."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


def build_app(rag: RAG, *, examples: Sequence[str] | None = None) -> gr.Blocks:
    """The chat page over ``rag``.

    Args:
        rag: The index to answer from; uploads are indexed into it.
        examples: Example questions for the empty chat; by default the curated ones when the
            bundled corpus is indexed, none otherwise.

    Returns:
        The Blocks app; start it with ``launch(app, ...)``.
    """
    examples = default_examples(rag) if examples is None else tuple(examples)
    h = ChatHandlers(rag, examples)
    # The threshold `rag calibrate` stored with this index, else the one fitted on data.
    thresholds = {True: rag.threshold(reader=True), False: rag.threshold(reader=False)}
    calibrated = (
        rag.calibrated_threshold(True) is not None or rag.calibrated_threshold(False) is not None
    )
    reading = use_reader(None)
    threshold = thresholds[reading]
    accepted = sorted(SUPPORTED_SUFFIXES)

    with gr.Blocks(title="Ask your documents", analytics_enabled=False) as app:
        exchanges = gr.State([])
        gr.HTML(
            '<div class="rq-title"><b>Ask your documents</b> · answers are verbatim quotes with '
            "citations</div>",
            js_on_load=None,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                transcript = gr.HTML(
                    render.render_transcript([], examples),
                    elem_id="rq-transcript",
                    js_on_load=TRANSCRIPT_JS,
                )
                with gr.Row(elem_id="rq-ask-row"):
                    question = gr.Textbox(
                        placeholder="Ask a question about your documents…",
                        show_label=False,
                        lines=1,
                        max_lines=4,
                        scale=6,
                        elem_id="rq-question",
                        autofocus=True,
                    )
                    ask_btn = gr.Button(
                        "Ask", variant="primary", scale=1, min_width=90, elem_id="rq-ask"
                    )
                    new_btn = gr.Button("New chat", scale=1, min_width=130, elem_id="rq-new")
                    export_btn = gr.DownloadButton(
                        "Export",
                        value=None,
                        interactive=False,
                        scale=1,
                        min_width=110,
                        elem_id="rq-export",
                    )
            with gr.Column(scale=2, min_width=340):
                with gr.Tabs(selected="source") as tabs:
                    with gr.Tab("Source", id="source"):
                        source = gr.HTML(
                            render.SOURCE_HINT, elem_id="rq-source", js_on_load=SOURCE_JS
                        )
                    with gr.Tab("Documents", id="documents", elem_id="rq-documents-tab"):
                        files = without_stray_temp_files(
                            gr.File(
                                label=f"Upload documents ({' '.join(UPLOAD_KINDS)}; "
                                f"up to {MAX_UPLOAD_BYTES // 2**20} MB each)",
                                file_count="multiple",
                                file_types=accepted,
                                height=150,
                                elem_id="rq-upload",
                            )
                        )
                        status = gr.HTML("", elem_id="rq-upload-status", js_on_load=None)
                        docs_table = gr.HTML(
                            render_documents.render_documents(documents(rag)),
                            elem_id="rq-docs",
                            js_on_load=None,
                        )
                        with gr.Row():
                            to_remove = gr.Dropdown(
                                choices=h.document_choices(),
                                value=None,
                                label="Remove a document",
                                scale=3,
                                elem_id="rq-remove-choice",
                            )
                            remove_btn = gr.Button("Remove", variant="stop", scale=1,
                                                   elem_id="rq-remove")  # fmt: skip
                    with gr.Tab("Settings", id="settings"):
                        mode = gr.Radio(
                            [(MODE_LABELS[m], m) for m in RETRIEVAL_MODES],
                            value=rag.mode,
                            label="Retrieval mode",
                        )
                        k = gr.Slider(
                            1, MAX_K, value=DEFAULT_K, step=1, label="Passages to retrieve (k)"
                        )
                        show_scores = gr.Checkbox(False, label="Show retrieval scores")
                        reader = gr.Checkbox(
                            reading,
                            label="Read answers with the learned reader",
                            info="Precise short answers; off: the faster sentence scorer.",
                        )
                        strictness = gr.Slider(
                            0.0,
                            1.0,
                            value=threshold,
                            step=0.01,
                            label="Abstention strictness",
                            info="Answer only above this confidence ("
                            f"{'calibrated on your probes' if calibrated else 'fitted on data'}: "
                            f"{thresholds[True]:.2f} with the reader, {thresholds[False]:.2f} "
                            "without). Higher abstains more often.",
                        )

        # The public endpoint first, so it owns the name "ask"; the page's own events are private
        # (not callable by API clients) and named explicitly so none can take that name.
        gr.api(h.ask_api, api_name="ask", concurrency_limit=ASK_CONCURRENCY, concurrency_id="ask")
        reader.change(
            lambda on: gr.Slider(value=thresholds[bool(on)]),
            reader,
            strictness,
            **_private("settings_reader"),
        )
        settings = [mode, k, show_scores, strictness, reader]
        asked = [transcript, exchanges, source, question, tabs]
        ask_events: dict[str, Any] = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "ask"}
        # After every change of the conversation, the export button gets it as Markdown.
        for name, trigger in (("chat_submit", question.submit), ("chat_ask", ask_btn.click)):
            trigger(
                h.ask, [question, exchanges, *settings], asked, **_private(name), **ask_events
            ).then(h.export, exchanges, export_btn, **_private(f"{name}_export"))
        transcript.click(
            h.transcript_click,
            [exchanges, *settings],
            asked,
            **_private("chat_select"),
            **ask_events,
        ).then(h.export, exchanges, export_btn, **_private("chat_select_export"))
        new_btn.click(
            h.new_chat, None, [transcript, exchanges, source, question], **_private("chat_new")
        ).then(h.export, exchanges, export_btn, **_private("chat_new_export"))
        files.upload(
            h.upload, files, [status, docs_table, to_remove, files], **_private("docs_upload")
        )
        remove_btn.click(
            h.remove, to_remove, [status, docs_table, to_remove], **_private("docs_remove")
        )
        app.load(h.documents_view, None, [docs_table, to_remove], **_private("docs_list"))
    return app


def launch(
    app: gr.Blocks,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> Any:
    """Start ``app`` on ``host:port`` with the offline theme; nothing is shared or phoned home."""
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        show_error=False,
        max_file_size=MAX_UPLOAD_BYTES,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        footer_links=["api"],
        theme=theme(),
        css=CSS,
    )


def serve(
    index_dir: str | Path | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> None:
    """Run the chat until interrupted (``rag serve``).

    Args:
        index_dir: The index to serve; by default the index over the bundled corpus (built on
            first use). A directory without an index starts an empty chat to upload into.
        host: Bind address; loopback unless told otherwise.
        port: TCP port.
    """
    rag = open_index(index_dir, create=True)  # a damaged or mismatched index fails here
    if rag.exists():  # questions can come at once
        threading.Thread(target=_warm, args=(rag,), daemon=True).start()
    launch(build_app(rag), host=host, port=port)


def _warm(rag: RAG) -> None:
    """Load the model, and the reader when it answers by default, while the page comes up, so
    that the first question does not wait for them; a model that cannot load says so when a
    question needs it."""
    try:
        rag.embedder.encode(["warm up"])
        if use_reader(None):
            default_reader().load()
    except RagError as e:
        logger.warning("the model did not load: %s", e)


def _private(name: str) -> dict[str, Any]:
    return {"api_name": name, "api_visibility": "private"}
