"""Safe HTML for the chat: answers, abstentions and the source viewer (the documents tab:
``ui.render_documents``).

Every piece of document text is untrusted. ``escape_text`` turns it into inert HTML: the HTML
specials become entities, and so do the characters that Markdown, LaTeX or a template engine would
act on (``[``, ``(``, ``*``, ``$``, ``{`` ...), so the text reads the same in any renderer and no
link, tag or template expression can come out of it. Nothing in this module imports Gradio.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rag.render import line_range
from rag.types import Answer, Citation, Document, Hit, Passage

# The HTML specials, plus the characters that mean something to Markdown, LaTeX delimiters or
# JS/Handlebars templates: as numeric entities they are plain text to every one of those and still
# display as themselves. One table, applied in one pass, so no entity is escaped twice.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'[]()*_`\\$!{}~|#:"})

SNIPPET_CHARS = 160
"""How much of a related passage an abstention shows before the reader opens it."""


def escape_text(text: str) -> str:
    """``text`` as inert HTML that displays exactly as the characters it holds."""
    return text.translate(_INERT)


@dataclass(frozen=True)
class Span:
    """A stretch of absolute document offsets to wrap in ``<tag class=...>``."""

    start: int
    end: int
    tag: str = "mark"
    css: str = ""

    def open(self) -> str:
        return f'<{self.tag} class="{self.css}">' if self.css else f"<{self.tag}>"

    def close(self) -> str:
        return f"</{self.tag}>"


def highlight(text: str, base: int, spans: Sequence[Span]) -> str:
    """Escape ``text`` (which starts at offset ``base``) and wrap the given spans in tags.

    Spans may nest or overlap; each piece of text is wrapped by every span covering it, the longer
    span outside. Spans outside the text are clipped, and empty ones dropped.
    """
    end = base + len(text)
    clipped = [
        Span(max(s.start, base), min(s.end, end), s.tag, s.css)
        for s in spans
        if max(s.start, base) < min(s.end, end)
    ]
    cuts = sorted({base, end, *(s.start for s in clipped), *(s.end for s in clipped)})
    out = []
    for lo, hi in zip(cuts, cuts[1:]):
        covering = sorted(
            (s for s in clipped if s.start <= lo and hi <= s.end),
            key=lambda s: (-(s.end - s.start), s.start),
        )
        piece = escape_text(text[lo - base : hi - base])
        out.append(
            "".join(s.open() for s in covering)
            + piece
            + "".join(s.close() for s in reversed(covering))
        )
    return "".join(out)


def _where(title: str, page: int) -> str:
    return f"{escape_text(title)}, p.&nbsp;{page}"


def _cited_at(citation: Citation) -> str:
    """Title (with the file's lines for text files), page; flagged when the file changed."""
    title = escape_text(citation.title)
    if citation.line_start is not None:
        title += f":{line_range(citation)}"
    stale = ' <span class="rq-stale">changed since indexed</span>' if citation.stale else ""
    return f"{title}, p.&nbsp;{citation.page}{stale}"


def _cite_button(turn: int, n: int, label: str, css: str = "rq-cite") -> str:
    return (
        f'<button type="button" class="{css}" data-turn="{turn}" data-cite="{n}" '
        f'title="Show source [{n}]">{label}</button>'
    )


def _quote_html(citation: Citation, short_span: tuple[int, int] | None) -> str:
    spans = [Span(*short_span, tag="strong", css="rq-short")] if short_span else []
    return highlight(citation.quote, citation.start, spans)


def _passage_scores(hits: Sequence[Hit]) -> str:
    rows = "".join(
        f"<li>{h.score:.3f} · {_where(h.passage.title, h.passage.page)}</li>" for h in hits
    )
    return (
        f'<details class="rq-scores"><summary>Retrieval scores</summary><ol>{rows}</ol></details>'
    )


def render_answer(answer: Answer, turn: int, *, threshold: float, show_scores: bool = False) -> str:
    """One answer: the quotes with citation markers, confidence, and the citation list.

    Args:
        answer: What ``RAG.ask`` returned.
        turn: Its place in the conversation; the citation buttons carry it back on a click.
        threshold: The abstention threshold the answer was decided with, for the explanation.
        show_scores: Also list the retrieved passages with their retrieval scores.
    """
    notes = "".join(
        f'<p class="rq-note" role="alert">{escape_text(w)}</p>' for w in answer.warnings
    )
    if answer.abstained:
        return notes + render_abstention(answer, turn, threshold=threshold, show_scores=show_scores)
    quotes = " ".join(
        f"“{_quote_html(c, answer.short_answer_span)}”" + _cite_button(turn, c.n, f"[{c.n}]")
        for c in answer.citations
    )
    short = (
        f'<span class="rq-short-line">Short answer: <strong>{escape_text(answer.short_answer)}'
        "</strong></span> · "
        if answer.short_answer
        else ""
    )
    sources = "".join(
        f"<li>{_cite_button(turn, c.n, f'[{c.n}] {_cited_at(c)}', 'rq-cite-item')}</li>"
        for c in answer.citations
    )
    scores = _passage_scores(answer.passages) if show_scores else ""
    return (
        f'{notes}<div class="rq-answer"><blockquote class="rq-quote">{quotes}</blockquote>'
        f'<div class="rq-meta">{short}Confidence {answer.confidence:.2f}</div>'
        f'<ol class="rq-sources">{sources}</ol>{scores}{render_why(answer)}</div>'
    )


def render_abstention(
    answer: Answer, turn: int, *, threshold: float, show_scores: bool = False
) -> str:
    """An abstention: says so plainly, then offers the closest passages as related reading."""
    related = []
    for h in answer.passages:
        p = h.passage
        snippet = textwrap.shorten(" ".join(p.text.split()), SNIPPET_CHARS, placeholder=" …")
        score = f" · score {h.score:.3f}" if show_scores else ""
        related.append(
            f'<li><button type="button" class="rq-cite-item" data-turn="{turn}" '
            f'data-passage="{escape_text(p.id)}">{_where(p.title, p.page)}{score}</button> '
            f'<span class="rq-snippet">{escape_text(snippet)}</span></li>'
        )
    offer = (
        "<p>Related passages you may want to read:</p>"
        f'<ul class="rq-related">{"".join(related)}</ul>'
        if related
        else ""
    )
    return (
        '<div class="rq-answer rq-abstained"><p class="rq-abstain-head">'
        "<strong>The documents don't answer this question.</strong> "
        f'<span class="rq-meta">Confidence {answer.confidence:.2f} is below the threshold '
        f"{threshold:.2f}.</span></p>{offer}{render_why(answer)}</div>"
    )


def render_why(answer: Answer) -> str:
    """The "Why this answer?" panel: the verdict, the question's words (those the documents
    never use marked), and every candidate's scores. Empty without an explanation."""
    trace = answer.explanation
    if trace is None:
        return ""
    gaps = set(trace.coverage_gaps)
    words = ", ".join(
        f'<span class="rq-gap" title="occurs nowhere in the documents">{escape_text(w)}</span>'
        if w in gaps
        else escape_text(w)
        for w in trace.question_terms
    )
    rows = []
    for p in trace.passages:
        dense = "–" if p.dense is None else f"{p.dense:.3f}"
        bm25 = "–" if p.bm25 is None else f"{p.bm25:.2f}"
        span = (
            f"<br>reader: “{escape_text(p.span)}” span {p.span_score:.2f}, "
            f"no answer {p.no_answer_score:.2f}"
            if p.span is not None
            else ""
        )
        rows.append(
            f"<tr><td>{p.rank}</td><td>{_where(p.title, p.page)}{span}</td>"
            f'<td class="rq-num">{p.score:.4f}</td><td class="rq-num">{dense}</td>'
            f'<td class="rq-num">{bm25}</td>'
            f"<td>{escape_text(', '.join(p.matched_terms)) or '–'}</td></tr>"
        )
    return (
        '<details class="rq-why"><summary>Why this answer?</summary>'
        f"<p><strong>{escape_text(trace.verdict.capitalize())}.</strong> "
        f"{escape_text(trace.reason)}</p>"
        f"<p>Question words: {words or '–'} · {escape_text(trace.method)}, confidence "
        f"{trace.confidence:.2f} vs threshold {trace.threshold:.2f}</p>"
        '<table class="rq-why-table"><tr><th>#</th><th>Passage</th><th>Fused</th><th>Dense</th>'
        f"<th>BM25</th><th>Matched</th></tr>{''.join(rows)}</table></details>"
    )


@dataclass(frozen=True)
class Exchange:
    """One question and its answer as the transcript shows it."""

    answer: Answer
    threshold: float
    show_scores: bool = False


def render_transcript(exchanges: Sequence[Exchange], examples: Sequence[str] = ()) -> str:
    """The whole conversation, or the empty state with clickable example questions."""
    if not exchanges:
        body = render_empty_state(examples)
    else:
        body = "".join(
            f'<section class="rq-turn" data-turn="{i}">'
            f'<p class="rq-question">{escape_text(e.answer.question)}</p>'
            f"{render_answer(e.answer, i, threshold=e.threshold, show_scores=e.show_scores)}"
            "</section>"
            for i, e in enumerate(exchanges)
        )
    return f'<div class="rq-scroll">{body}</div>'


def render_empty_state(examples: Sequence[str]) -> str:
    items = "".join(
        f'<li><button type="button" class="rq-example" data-example="{i}">{escape_text(q)}'
        "</button></li>"
        for i, q in enumerate(examples)
    )
    tries = f'<p>Try one of these:</p><ul class="rq-examples">{items}</ul>' if items else ""
    return (
        '<div class="rq-empty"><p class="rq-empty-head">Ask a question about your documents.</p>'
        "<p>Every answer is quoted word for word from the documents, with numbered citations you "
        "can open in their context. When the documents don't hold the answer, you are told so."
        f"</p>{tries}</div>"
    )


SOURCE_HINT = (
    '<div class="rq-source rq-source-empty">Select a citation such as <b>[1]</b> to read the quote '
    "in its document.</div>"
)


ABSTENTION_SOURCE_HINT = (
    '<div class="rq-source rq-source-empty">No quote to show: the documents don\'t answer this '
    "question. Select a related passage to read it here.</div>"
)


def render_source(
    document: Document,
    around: Sequence[Passage],
    *,
    quote: tuple[int, int] | None = None,
    short: tuple[int, int] | None = None,
    focus: Passage | None = None,
    label: str = "",
) -> str:
    """A cited passage with its neighbours, the quote in ``<mark>`` and the short answer bold.

    Args:
        document: The document the passages come from; offsets index its text.
        around: The passage and its neighbours, in document order.
        quote: Absolute offsets of the quote to mark.
        short: Absolute offsets of the short answer, inside the quote.
        focus: A passage to mark as a whole (related reading has no quote).
        label: What is shown, e.g. "[1]" or "Related passage".
    """
    start, end = around[0].start, around[-1].end
    spans = []
    if focus is not None:
        spans.append(Span(focus.start, focus.end, tag="span", css="rq-focus"))
    if quote is not None:
        spans.append(Span(*quote, tag="mark"))
    if short is not None:
        spans.append(Span(*short, tag="strong", css="rq-short"))
    anchor = quote[0] if quote else (focus.start if focus else start)
    page = document.page_at(anchor)
    pages = sorted({document.page_at(start), document.page_at(max(start, end - 1))})
    shown = f"pages {pages[0]}–{pages[-1]}" if len(pages) > 1 else f"page {pages[0]}"
    return (
        '<div class="rq-source">'
        f'<div class="rq-source-head"><span class="rq-source-label">{escape_text(label)}</span> '
        f'<span class="rq-file">{escape_text(document.title)}</span>, page {page}'
        f'<span class="rq-meta"> · showing {shown}, characters {start:,}–{end:,}</span></div>'
        f'<div class="rq-source-text">{highlight(document.text[start:end], start, spans)}</div>'
        "</div>"
    )


def render_source_gone(title: str) -> str:
    return (
        '<div class="rq-source rq-source-empty">'
        f"{escape_text(title)} has changed or was removed since this answer; ask again to cite "
        "its current text.</div>"
    )
