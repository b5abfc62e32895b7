"""Plain-text rendering of hits and answers for the terminal."""

from __future__ import annotations

import textwrap

from rag.types import Answer, Hit

WIDTH = 100


def _where(source: str, page: int, start: int, end: int) -> str:
    return f"{source}, p. {page}, chars {start}-{end}"


def format_hits(hits: list[Hit]) -> str:
    if not hits:
        return "No passages found."
    blocks = []
    for h in hits:
        p = h.passage
        head = f"[{h.rank}] score {h.score:.4f}  {_where(p.source, p.page, p.start, p.end)}"
        body = textwrap.indent(textwrap.fill(" ".join(p.text.split()), WIDTH - 4), "    ")
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
                snippet = textwrap.shorten(" ".join(p.text.split()), 160, placeholder=" …")
                lines.append(f"  - {p.title}, p. {p.page}: {snippet}")
        return "\n".join(lines)
    if answer.short_answer:
        lines.append(f"Short answer: {answer.short_answer}\n")
    for c in answer.citations:
        quote = textwrap.fill(f"“{' '.join(c.quote.split())}” [{c.n}]", WIDTH)
        lines.append(quote)
    lines.append(f"\nConfidence {answer.confidence:.2f}\n")
    for c in answer.citations:
        lines.append(f"[{c.n}] {_where(c.source, c.page, c.start, c.end)}")
    return "\n".join(lines)
