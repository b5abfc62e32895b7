"""The chat's event handlers: parse what the page sends, call ``RAG``, render HTML.

No retrieval or scoring happens here; answers, indexing and removal are library calls, and the
source viewer only looks up the cited passage and its neighbours to show them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import RAG
from rag.errors import InvalidInputError, RagError
from rag.opening import DEFAULT_CORPUS_DIR
from rag.render import format_markdown
from rag.types import RETRIEVAL_MODES, Answer, Document, RetrievalMode
from ui import render, render_documents
from ui.render import Exchange
from ui.uploads import (
    UploadRejectedError,
    discard_gradio_copy,
    set_aside_removed,
    store_upload,
    upload_dir_for,
)

logger = logging.getLogger(__name__)

DEFAULT_K = 5
WARNING_SECONDS = 8
"""Long enough to read a sentence; a warning that never leaves hides the tabs under it."""

DEFAULT_EXAMPLES = (
    "When was the interview taken?",
    "How many people do Russian NGOs comprise?",
    "Who presented the draft treaty on weapons in outer space?",
    "When will the START Treaty restrictions expire?",
)
"""Shown on an empty chat when the bundled corpus is indexed; each is answered by it."""


def documents(rag: RAG) -> list[Document]:
    """The indexed documents; none (rather than an error) before the first upload."""
    return rag.documents() if rag.exists() else []


def _choices(docs: list[Document]) -> list[tuple[str, str]]:
    """The remove box's choices: (title, source) of the documents the tab lists."""
    return [(d.title, d.source) for d in docs[: render_documents.DOCUMENTS_SHOWN]]


def default_examples(rag: RAG) -> tuple[str, ...]:
    """Example questions about the loaded corpus: the curated ones when the bundled text is in."""
    bundled = {str(p) for p in DEFAULT_CORPUS_DIR.iterdir() if p.is_file()}
    return DEFAULT_EXAMPLES if any(d.source in bundled for d in documents(rag)) else ()


class ChatHandlers:
    """The event handlers; each parses the UI's input, calls the library, and renders."""

    def __init__(self, rag: RAG, examples: Sequence[str]) -> None:
        self.rag = rag
        self.examples = tuple(examples)
        self.upload_dir = upload_dir_for(rag.index_dir)
        self._last_export: Path | None = None

    # ------------------------------------------------------------------ asking
    def ask_api(
        self,
        question: str,
        k: int = DEFAULT_K,
        mode: str = "hybrid",
        reader: bool | None = None,
        explain: bool = False,
    ) -> dict[str, Any]:
        """Answer a question with verbatim cited quotes, or abstain.

        Returns the JSON object of `rag ask --json`: question, answer (null on abstention),
        short_answer, abstained, confidence, citations, passages, timings_ms, warnings; with
        ``explain``, also "explain" (the trace of the decision, as `rag ask --explain --json`).
        """
        try:
            reading = None if reader is None else bool(reader)
            answer = self.rag.ask(
                question, k=_k(k), mode=_mode(mode), reader=reading, explain=bool(explain)
            )
            return answer.to_dict()
        except RagError as e:  # the caller's mistake: a message for them, one log line here
            logger.info("/ask refused: %s", e)
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # a bug: one traceback in the log, a message for the caller
            logger.exception("/ask failed")
            raise gr.Error(
                f"internal error ({type(e).__name__}); the server log has the details",
                print_exception=False,
            ) from None

    def ask(
        self,
        question: str,
        exchanges: list[Exchange],
        mode: str,
        k: float,
        show_scores: bool,
        strictness: float,
        reader: bool | None = None,
    ) -> tuple[Any, ...]:
        """Outputs: transcript, state, source viewer, question box, tabs."""
        if not self.rag.exists():
            _warn("no documents are indexed yet: upload some in the Documents tab")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.Tabs(selected="documents")
        history = [e.answer.as_turn() for e in exchanges]
        try:
            answer = self.rag.ask(
                question,
                k=int(k),
                history=history,
                mode=_mode(mode),
                strictness=strictness,
                reader=None if reader is None else bool(reader),
                explain=True,  # the "Why this answer?" panel
            )
        except RagError as e:
            _warn(str(e))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        exchanges = [*exchanges, Exchange(answer, float(strictness), bool(show_scores))]
        transcript = render.render_transcript(exchanges, self.examples)
        if answer.citations:
            source = self.citation_source(answer, answer.citations[0].n)
            return transcript, exchanges, source, "", gr.Tabs(selected="source")
        return transcript, exchanges, render.ABSTENTION_SOURCE_HINT, "", gr.skip()

    def export(self, exchanges: list[Exchange]) -> Any:
        """The conversation as a Markdown file for the export button (none while empty)."""
        if not exchanges:
            return gr.DownloadButton(value=None, interactive=False)
        stamp = time.strftime("%Y-%m-%d %H:%M")
        text = format_markdown(
            [e.answer for e in exchanges], title=f"Conversation with your documents, {stamp}"
        )
        if self._last_export is not None:  # Gradio has served its own copy of it by now
            shutil.rmtree(self._last_export, ignore_errors=True)
        self._last_export = Path(tempfile.mkdtemp(prefix="rq-export-"))
        path = self._last_export / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}.md"
        path.write_text(text, encoding="utf-8")
        return gr.DownloadButton(value=str(path), interactive=True)

    def new_chat(self) -> tuple[str, list[Exchange], str, str]:
        return render.render_transcript([], self.examples), [], render.SOURCE_HINT, ""

    def transcript_click(
        self,
        exchanges: list[Exchange],
        mode: str,
        k: float,
        show_scores: bool,
        strictness: float,
        reader: bool,
        evt: gr.EventData,
    ) -> tuple[Any, ...]:
        """A click on an example question asks it; a click on a citation or passage shows it."""
        data = evt._data if isinstance(evt._data, dict) else {}
        example = str(data.get("example") or "")
        if example.isdigit() and int(example) < len(self.examples):
            picked = self.examples[int(example)]
            return self.ask(picked, exchanges, mode, k, show_scores, strictness, reader)
        turn = _as_int(data.get("turn"))
        if turn is None or not 0 <= turn < len(exchanges):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        answer = exchanges[turn].answer
        cite = _as_int(data.get("cite"))
        if cite:
            source = self.citation_source(answer, cite)
        else:
            source = self.passage_source(answer, str(data.get("passage") or ""))
        return gr.skip(), gr.skip(), source, gr.skip(), gr.Tabs(selected="source")

    # ------------------------------------------------------------ source viewer
    def citation_source(self, answer: Answer, n: int) -> str:
        citation = next((c for c in answer.citations if c.n == n), None)
        if citation is None:
            return render.SOURCE_HINT
        hit = next((h for h in answer.passages if h.passage.id == citation.passage_id), None)
        document = self.rag.document(hit.passage.doc_id) if hit else None
        if (
            hit is None
            or document is None
            or (document.text[citation.start : citation.end] != citation.quote)
        ):
            return render.render_source_gone(citation.title)
        short = answer.short_answer_span if n == answer.citations[0].n else None
        return render.render_source(
            document,
            self.rag.context(hit.passage, 1),
            quote=(citation.start, citation.end),
            short=short,
            label=f"[{n}]",
        )

    def passage_source(self, answer: Answer, passage_id: str) -> str:
        hit = next((h for h in answer.passages if h.passage.id == passage_id), None)
        if hit is None:
            return render.SOURCE_HINT
        document = self.rag.document(hit.passage.doc_id)
        if document is None:
            return render.render_source_gone(hit.passage.title)
        return render.render_source(
            document, self.rag.context(hit.passage, 1), focus=hit.passage, label="Related passage"
        )

    # -------------------------------------------------------------- documents
    def document_choices(self) -> list[tuple[str, str]]:
        return _choices(documents(self.rag))

    def documents_view(self) -> tuple[str, Any]:
        docs = documents(self.rag)
        table = render_documents.render_documents(docs)
        return table, gr.Dropdown(choices=_choices(docs), value=None)

    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        """Outputs: upload report, documents table, remove dropdown, file input (cleared)."""
        files = files or []
        lines: list[tuple[bool, str]] = []
        for i, tmp in enumerate(files):
            name = Path(tmp).name
            progress((i, len(files)), desc=f"Indexing {name}", unit="files")
            try:
                lines.append(self._index_one(Path(tmp), name))
            finally:
                discard_gradio_copy(Path(tmp))
        progress((len(files), len(files)), desc="Done", unit="files")
        for ok, message in lines:
            if not ok:
                _warn(message, sentence=False)
        table, dropdown = self.documents_view()
        return render_documents.render_upload_report(lines), table, dropdown, None

    def _index_one(self, tmp: Path, name: str) -> tuple[bool, str]:
        try:
            stored = store_upload(tmp, name, self.upload_dir)
        except UploadRejectedError as e:
            return False, str(e)
        shown = stored.path.name
        try:
            report = self.rag.index_paths([stored.path])
        except (RagError, OSError) as e:  # the index is untouched: the library saves atomically
            stored.rollback()
            return False, f"{shown}: {_reason(e, stored.path)}"
        if report.skipped:
            stored.rollback()
            return False, f"{shown}: {_reason(report.skipped[0], stored.path)}"
        kept = stored.commit()
        if report.unchanged:
            return True, f"{shown}: already indexed, unchanged"
        verb = "updated" if report.updated or stored.replaced else "indexed"
        plural = "" if report.passages == 1 else "s"
        message = f"{shown}: {verb} ({report.passages} passage{plural})"
        if kept is not None:
            message += f"; the earlier version is kept as {self._shown(kept)}"
        return True, message

    def remove(self, source: str | None) -> tuple[str, str, Any]:
        """Outputs: status line, documents table, remove dropdown."""
        if not source:
            _warn("choose a document to remove first")
            return gr.skip(), gr.skip(), gr.skip()
        try:
            report = self.rag.remove([source])
        except RagError as e:
            _warn(str(e))
            return gr.skip(), gr.skip(), gr.skip()
        lines = []
        for gone in report.removed:
            path = Path(gone)
            message = f"removed {path.name}"
            if path.parent == self.upload_dir.resolve() and path.is_file():  # our upload copy
                message += f"; its file is kept as {self._shown(set_aside_removed(path))}"
            lines.append((True, message))
        table, dropdown = self.documents_view()
        return render_documents.render_upload_report(lines), table, dropdown

    def _shown(self, path: Path) -> str:
        """A kept file's path as the user can find it: relative to the index directory."""
        return str(path.relative_to(self.rag.index_dir.resolve()))


def _mode(mode: str) -> RetrievalMode:
    if mode not in RETRIEVAL_MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(RETRIEVAL_MODES)}, got {mode!r}")
    return mode  # type: ignore[return-value]


def _k(value: object) -> int:
    """``k`` as the API received it: a whole number (2.0 is 2; 2.7, "abc" and null are errors)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInputError(f"k must be a positive integer, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise InvalidInputError(f"k must be a positive integer, got {value!r}") from None
    if not number.is_integer() or number <= 0:
        raise InvalidInputError(f"k must be a positive integer, got {value!r}")
    return int(number)


def _as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _warn(message: str, *, sentence: bool = True) -> None:
    """Show ``message`` as a warning toast, never a traceback.

    Library messages start in lower case ("the question is empty: ..."); as a toast they read
    better as a sentence. Messages that start with a file name keep its case.
    """
    if sentence:
        message = message[:1].upper() + message[1:]
    gr.Warning(message, duration=WARNING_SECONDS)


def _reason(error: Exception, path: Path) -> str:
    """An error's message without the full path in front (the user knows which file it was)."""
    text = str(error)
    for prefix in (f"{path}: ", f"{path.resolve()}: "):
        text = text.removeprefix(prefix)
    return text
