"""Plain-text rendering of hits and answers for the terminal.

Document text and file names are untrusted: control characters (ANSI escapes that would recolour
or rewrite the terminal, newlines in a file name) are shown as visible escapes, never sent raw.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from rag.calibration import Row, probes_needed
from rag.types import Answer, Citation, Explanation, Hit

WIDTH = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _flat(text: str) -> str:
    """One line of safe text: whitespace runs become one space, controls visible escapes."""
    return terminal_safe(" ".join(text.split()))


def _where(source: str, page: int, start: int, end: int) -> str:
    return f"{terminal_safe(source)}, p. {page}, chars {start}-{end}"


def format_hits(hits: list[Hit]) -> str:
    if not hits:
        return "No passages found."
    blocks = []
    for h in hits:
        p = h.passage
        head = f"[{h.rank}] score {h.score:.4f}  {_where(p.source, p.page, p.start, p.end)}"
        body = textwrap.indent(textwrap.fill(_flat(p.text), WIDTH - 4), "    ")
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)


def format_answer(answer: Answer) -> str:
    lines = []
    if answer.abstained:
        lines.append(
            "The documents do not answer this question "
            f"(confidence {answer.confidence:.2f} is below the threshold)."
        )
        if answer.passages:
            lines.append("\nRelated reading:")
            for h in answer.passages:
                p = h.passage
                snippet = textwrap.shorten(_flat(p.text), 160, placeholder=" …")
                lines.append(f"  - {terminal_safe(p.title)}, p. {p.page}: {snippet}")
        return "\n".join(lines)
    if answer.short_answer:
        lines.append(f"Short answer: {_flat(answer.short_answer)}\n")
    for c in answer.citations:
        quote = textwrap.fill(f"“{_flat(c.quote)}” [{c.n}]", WIDTH)
        lines.append(quote)
    lines.append(f"\nConfidence {answer.confidence:.2f}\n")
    for c in answer.citations:
        where = _where(c.source, c.page, c.start, c.end)
        if c.line_start is not None:
            where = (
                f"{terminal_safe(c.source)}:{line_range(c)}, p. {c.page}, chars {c.start}-{c.end}"
            )
        stale = "  (the file changed since it was indexed: re-index it)" if c.stale else ""
        lines.append(f"[{c.n}] {where}{stale}")
    return "\n".join(lines)


def line_range(citation: Citation) -> str:
    """``12`` or ``12–15``: the lines of the file holding the quote."""
    if citation.line_start == citation.line_end:
        return f"{citation.line_start}"
    return f"{citation.line_start}–{citation.line_end}"


def format_explanation(trace: Explanation) -> str:
    """The ``--explain`` block: the verdict, the question's words, every candidate's scores."""
    gaps = (
        f" (nowhere in the documents: {', '.join(trace.coverage_gaps)})"
        if trace.coverage_gaps
        else ""
    )
    lines = [
        "Why:",
        f"  {terminal_safe(trace.reason)}",
        f"  Verdict: {trace.verdict} ({trace.method}; confidence {trace.confidence:.2f}, "
        f"threshold {trace.threshold:.2f})",
        f"  Question words: {', '.join(trace.question_terms) or '(none)'}{gaps}",
        "  Passages (fused / dense / BM25 score, matched words):",
    ]
    for p in trace.passages:
        dense = "-" if p.dense is None else f"{p.dense:.3f}"
        bm25 = "-" if p.bm25 is None else f"{p.bm25:.2f}"
        matched = ", ".join(p.matched_terms) or "none"
        lines.append(
            f"    {p.rank}. {p.score:.4f} / {dense} / {bm25}  {terminal_safe(p.title)}, "
            f"p. {p.page}  matched: {matched}"
        )
        if p.span is not None:
            lines.append(
                f"       reader span “{_flat(p.span)}”: span {p.span_score:.2f}, "
                f"no answer {p.no_answer_score:.2f}"
            )
    if trace.sentences:
        lines.append("  Best sentences (score, matched words):")
        for t in trace.sentences:
            snippet = textwrap.shorten(_flat(t.text), 90, placeholder=" …")
            lines.append(
                f"    {t.score:.3f}  “{snippet}”  matched: {', '.join(t.matched_terms) or 'none'}"
            )
    return "\n".join(lines)


_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]<>#|~&])")


def markdown_escape(text: str) -> str:
    """``text`` for Markdown: characters that would format it or start HTML backslash-escaped,
    so a viewer shows exactly the document's text (and never runs any of it)."""
    return _MARKDOWN_ACTIVE.sub(r"\\\1", text)


def format_markdown(answers: Sequence[Answer], *, title: str = "Conversation") -> str:
    """A conversation as Markdown: each question, its quotes and short answer, and every
    citation in full (file, page, lines, characters), or the abstention and related reading."""
    lines = [f"# {markdown_escape(title)}", ""]
    for turn, answer in enumerate(answers, start=1):
        lines += [f"## {turn}. {markdown_escape(_flat(answer.question))}", ""]
        if answer.abstained:
            lines += [
                f"The documents do not answer this question (confidence {answer.confidence:.2f} "
                "is below the threshold).",
                "",
            ]
            for h in answer.passages:
                p = h.passage
                lines.append(
                    f"- Related: {markdown_escape(p.source)}, p. {p.page}, "
                    f"characters {p.start}–{p.end}"
                )
            lines.append("")
            continue
        if answer.short_answer:
            lines += [f"**Short answer:** {markdown_escape(_flat(answer.short_answer))}", ""]
        for c in answer.citations:
            lines += [f"> {markdown_escape(_flat(c.quote))} [{c.n}]", ">"]
        lines[-1] = ""
        lines += [f"Confidence {answer.confidence:.2f}", ""]
        for c in answer.citations:
            where = f"p. {c.page}"
            if c.line_start is not None:
                where += f", line{'s' if c.line_end != c.line_start else ''} {line_range(c)}"
            stale = " (the file changed since it was indexed)" if c.stale else ""
            lines.append(
                f"- [{c.n}] {markdown_escape(c.source)}, {where}, characters {c.start}–{c.end}"
                f"{stale}"
            )
        for warning in answer.warnings:
            lines.append(f"\n*Warning:* {markdown_escape(warning)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def format_calibration(
    rows: Sequence[Row], total: int, chosen: Row | None, alpha: float, delta: float
) -> str:
    """The accuracy–coverage table, strictest first; at most about 20 rows (the chosen one and
    the first that fails always shown)."""
    keep = {0, len(rows) - 1}
    step = max(1, len(rows) // 16)
    keep.update(range(0, len(rows), step))
    needed = probes_needed(alpha, delta)
    tested = [i for i, r in enumerate(rows) if r.answered >= needed]
    first_failure = next((i for i in tested if rows[i].upper_bound > alpha), None)
    keep.update(i for i, r in enumerate(rows) if r is chosen or i == first_failure)
    keep.update(tested[:1])
    lines = [f"{'threshold':>9} {'answered':>8} {'coverage':>8} {'accuracy':>8} {'bound':>6}"]
    for i, r in enumerate(rows):
        if i not in keep or (
            first_failure is not None and i > first_failure and i != len(rows) - 1
        ):
            continue
        accuracy = 1 - r.wrong / r.answered if r.answered else 0.0
        mark = (
            "  <- chosen"
            if r is chosen
            else ("  <- bound above alpha: stop" if i == first_failure else "")
        )
        lines.append(
            f"{r.threshold:>9.3f} {r.answered:>8} {r.coverage(total):>8.2f} {accuracy:>8.2f} "
            f"{r.upper_bound:>6.3f}{mark}"
        )
    return "\n".join(lines)
