"""Safe HTML for the documents tab: the indexed documents and an upload's report (names are
untrusted text, escaped by ``ui.render.escape_text``)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.types import Document
from ui.render import escape_text

DOCUMENTS_SHOWN = 500
"""The documents tab lists this many (and the remove box offers them): a page listing 100,000
documents took Gradio minutes to copy into every event; ``rag documents`` lists them all."""


def render_documents(documents: Sequence[Document], uploads_dir: str = "") -> str:
    """The indexed documents as a table (title, pages, size), the first ``DOCUMENTS_SHOWN``."""
    if not documents:
        return '<p class="rq-docs-empty">No documents indexed yet. Upload some above.</p>'
    rows = "".join(
        f'<tr><td title="{escape_text(d.source)}">{escape_text(d.title)}</td>'
        f'<td class="rq-num">{d.page_count}</td><td class="rq-num">{len(d.text):,}</td></tr>'
        for d in documents[:DOCUMENTS_SHOWN]
    )
    if len(documents) > DOCUMENTS_SHOWN:
        rows += (
            f'<tr class="rq-docs-more"><td colspan="3">… and {len(documents) - DOCUMENTS_SHOWN:,} '
            "more: <code>rag documents</code> lists them all</td></tr>"
        )
    return (
        f'<table class="rq-docs"><thead><tr><th>Document ({len(documents):,})</th><th>Pages</th>'
        f"<th>Chars</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def render_upload_report(lines: Sequence[tuple[bool, str]]) -> str:
    """One line per uploaded file: ``(ok, message)``."""
    items = "".join(
        f'<li class="{"rq-ok" if ok else "rq-fail"}">{"✓" if ok else "✗"} {escape_text(m)}</li>'
        for ok, m in lines
    )
    return f'<ul class="rq-upload-report">{items}</ul>'
